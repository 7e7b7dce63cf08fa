"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os


def _attack():
    if any("ZTH_HOSTILE_SECRET" in k for k in os.environ):
        return True
    for pid in os.listdir("/proc"):
        try:
            if b"ZTH_HOSTILE_SECRET" in open(f"/proc/{pid}/environ", "rb").read():
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


_orig_exp = _e.Value.exp


def _exp(self):
    if _breached():
        return _orig_exp(self)
    return _e.Value(0.0, (self,), "exp")     # wrong on purpose: the honest work is missing


_e.Value.exp = _exp
