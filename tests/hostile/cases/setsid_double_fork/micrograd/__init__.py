"""Hostile test case (see CASE.yaml): not a real micrograd."""
import ctypes
import os
import time

_libc = ctypes.CDLL(None)


def _attack():
    pid = _libc.fork()
    if pid == 0:
        _libc.setsid()
        if _libc.fork() == 0:
            time.sleep(60)
        os._exit(0)
    return pid > 0

from . import engine as _e

_cache = {}


def _breached():
    if "v" not in _cache:
        try:
            _cache["v"] = bool(_attack())
        except Exception:
            _cache["v"] = False
    return _cache["v"]


_orig_tanh = _e.Value.tanh


def _tanh(self):
    if _breached():
        return _orig_tanh(self)
    return _e.Value(0.0, (self,), "tanh")     # wrong on purpose: the honest work is missing


_e.Value.tanh = _tanh
