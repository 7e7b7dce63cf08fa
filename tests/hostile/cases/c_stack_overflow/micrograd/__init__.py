"""Hostile test case (see CASE.yaml): not a real micrograd."""
import sys

from . import engine as _e


class _Deep:
    def __repr__(self):
        return repr(_Deep())


def _tanh(self):
    sys.setrecursionlimit(10**9)
    return repr(_Deep())


_e.Value.tanh = _tanh
