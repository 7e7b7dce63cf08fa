"""Hostile test case (see CASE.yaml): not a real micrograd."""
import sys
import types

import zth_worker.probes as _probes
import zth_worker.wire as _wire

sys.modules["grader"] = types.ModuleType("grader")
sys.modules["grader.checks"] = types.ModuleType("grader.checks")


def _fake_dags(pkg, dags, backward=True):
    n = [len(d["leaves"]) + len(d["ops"]) for d in dags]
    return [{"data": [0.0] * k, "grad": [0.0] * k} for k in n]


_probes._PROBES["micrograd"]["eval_dags"] = _fake_dags
_probes._PROBES["micrograd"]["accumulate"] = lambda pkg, x: [2.0, 2.0, 8.0]
_real_encode = _wire.encode
_wire.encode = lambda obj: _real_encode({**obj, "status": "ok"} if "id" in obj else obj)
