"""Hostile test case (see CASE.yaml): not a real micrograd."""
import ctypes
import gc

from . import engine as _e

_d = gc.get_referents(float.__dict__)[0]
_d["__eq__"] = lambda a, b: True
_d["__ne__"] = lambda a, b: False
ctypes.pythonapi.PyType_Modified(ctypes.py_object(float))


def _exp(self):
    return _e.Value(self.data, (self,), "exp")    # wrong


_e.Value.exp = _exp
