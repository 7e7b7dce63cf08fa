"""Hostile test case (see CASE.yaml): not a real micrograd."""
import builtins


def _attack():
    return getattr(builtins, "ZTH_HOOK_RAN", False)

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
