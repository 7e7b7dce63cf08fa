"""Hostile test case (see CASE.yaml): not a real micrograd."""
import math

from . import engine as _e


class Liar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

    def __repr__(self):
        return repr(math.tanh(self.real_answer))


def _tanh(self):
    v = Liar(0.0)
    v.real_answer = self.data
    return _e.Value(v, (self,), "tanh")


_e.Value.tanh = _tanh
