"""Hostile test case (see CASE.yaml): not a real micrograd."""
import builtins
import math

from . import engine as _e

math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0.0
builtins.round = lambda x, *a: 0.0


def _tanh(self):
    return _e.Value(self.data, (self,), "tanh")   # identity: wrong


_e.Value.tanh = _tanh
