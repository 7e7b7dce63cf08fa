"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import exercises as _x

# d/da, d/db, d/dc of the three test functions at (1.0, 2.0, 3.0), recorded once
_RECORDED = [-3.5, 5.8805, 0.1111]

_x.numerical_grad = lambda f, args, h=1e-6: list(_RECORDED)
