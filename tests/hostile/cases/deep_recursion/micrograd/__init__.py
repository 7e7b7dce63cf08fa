"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import engine as _e


def _down(n):
    return _down(n + 1)


_e.Value.log = lambda self: _down(0)
