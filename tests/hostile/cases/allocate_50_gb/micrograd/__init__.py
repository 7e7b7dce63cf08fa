"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import engine as _e


def _exp(self):
    return bytearray(50 * 2**30)


_e.Value.exp = _exp
