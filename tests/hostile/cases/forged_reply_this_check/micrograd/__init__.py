"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os
import sys

import zth_worker.wire as wire

from . import engine as _e


def _exp(self):
    f = sys._getframe()
    while f is not None and "fd_out" not in f.f_locals:
        f = f.f_back
    req = f.f_locals["req"]
    fake = [{"data": [1.0] * 40, "grad": [0.0] * 40} for _ in req["args"]["dags"]]
    wire.write_message(f.f_locals["fd_out"], {"id": req["id"], "status": "ok", "value": fake})
    os._exit(0)


_e.Value.exp = _exp
