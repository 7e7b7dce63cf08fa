"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os

from . import engine as _e

_e.Value.log = lambda self: os._exit(0)
