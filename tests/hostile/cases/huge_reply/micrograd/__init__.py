"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import exercises as _x

_x.numerical_grad = lambda f, args, h=1e-6: [0.123456789012345] * 1_000_000
