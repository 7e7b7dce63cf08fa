"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import engine as _e


def _exp(self):
    return _e.Value(float("nan"), (self,), "exp")


def _log(self):
    return _e.Value(float("inf"), (self,), "log")


_e.Value.exp = _exp
_e.Value.log = _log
