"""Hostile test case (see CASE.yaml): not a real micrograd."""
from . import engine as _e


class Liar:
    def __init__(self, x):
        self.x = x

    def __float__(self):
        return 0.0

    def __eq__(self, other):
        return True

    __bool__ = lambda self: True
    __add__ = __radd__ = __mul__ = __rmul__ = lambda self, o: Liar(0.0)


def _exp(self):
    return _e.Value(Liar(self.data), (self,), "exp")


_e.Value.exp = _exp
