"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import engine as _e


def _tanh(self):
    while True:
        pass


_e.Value.tanh = _tanh
