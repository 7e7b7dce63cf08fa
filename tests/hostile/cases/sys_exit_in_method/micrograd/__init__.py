"""Hostile test case (see CASE.yaml): not a real micrograd."""
import sys

from . import engine as _e

_e.Value.tanh = lambda self: sys.exit(0)
