"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os


def _attack():
    os.makedirs("fill", exist_ok=True)
    for i in range(400 // 32 + 1):
        with open(f"fill/{i}.bin", "wb") as f:
            for _ in range(32):
                f.write(b"x" * 2**20)
    return True

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
