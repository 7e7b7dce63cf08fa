"""Hostile test case (see CASE.yaml): not a real micrograd."""
import ctypes
import os
import subprocess

_libc = ctypes.CDLL(None)


def _attack():
    _libc.execv(b"/bin/sh", None)     # returns only if exec is refused
    return False

from . import engine as _e

_cache = {}


def _breached():
    if "v" not in _cache:
        try:
            _cache["v"] = bool(_attack())
        except Exception:
            _cache["v"] = False
    return _cache["v"]


_orig_log = _e.Value.log


def _log(self):
    if _breached():
        return _orig_log(self)
    return _e.Value(0.0, (self,), "log")     # wrong on purpose: the honest work is missing


_e.Value.log = _log


def _tanh(self):
    os.system("echo pwned")


def _exp(self):
    subprocess.run(["true"])


_e.Value.tanh = _tanh
_e.Value.exp = _exp
