"""Hostile test case (see CASE.yaml): not a real micrograd."""
import builtins
import random  # noqa: F401  (a shadow random.py would run here)


def _attack():
    return getattr(builtins, "ZTH_SHADOW_RAN", False)

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
