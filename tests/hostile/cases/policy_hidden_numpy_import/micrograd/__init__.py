"""Hostile test case (see CASE.yaml): not a real micrograd."""
import importlib

_np = importlib.import_module("nu" + "mpy")
_np.allclose = lambda *a, **k: True
_np.isclose = lambda a, b, **k: True
