"""Hostile test case (see CASE.yaml): not a real micrograd."""
import sys

import zth_worker.wire as wire

from . import engine as _e

_orig = _e.Value.tanh


def _tanh(self):
    f = sys._getframe()
    while f is not None and "fd_out" not in f.f_locals:
        f = f.f_back
    if f is not None:
        wire.write_message(f.f_locals["fd_out"], {"id": f.f_locals["req"]["id"] + 1,
                                                  "status": "ok", "value": []})
    return _orig(self)


_e.Value.tanh = _tanh
