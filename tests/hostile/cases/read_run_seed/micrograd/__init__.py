"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os


def _attack():
    for pid in os.listdir("/proc"):
        try:
            if b"--seed" in open(f"/proc/{pid}/cmdline", "rb").read():
                return True
        except OSError:
            continue
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


_orig_tanh = _e.Value.tanh


def _tanh(self):
    if _breached():
        return _orig_tanh(self)
    return _e.Value(0.0, (self,), "tanh")     # wrong on purpose: the honest work is missing


_e.Value.tanh = _tanh
