"""An in-process stand-in for the sandboxed worker: benchmarks and debugging ONLY.

It runs the same probes in the grader's own process (no sandbox, no isolation), so
`sandbox_overhead.py` can measure what the sandbox costs. Never used for grading.
"""
from __future__ import annotations

import importlib
import os
import random
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from grader.sandbox import Reply, layout_worker
from grader.worker import wire

# the worker's code as the sandbox lays it out (runtime + the lectures' probes), importable here
_WORKER = Path(tempfile.mkdtemp(prefix="zth-inprocess-"))


class _NoOutput:
    @staticmethod
    def text() -> str:
        return ""


class InProcessWorker:
    def __init__(self, spec, layer):
        self.spec = spec
        self.spawns = 1
        self.out = _NoOutput()
        root = str(spec.package_dir.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
        for name in list(sys.modules):  # a fresh import of this submission's package
            if name == spec.package or name.startswith(spec.package + "."):
                del sys.modules[name]
        for name in spec.preload:
            importlib.import_module(name)
        layout_worker(_WORKER, spec.lecture)
        if str(_WORKER) not in sys.path:
            sys.path.insert(0, str(_WORKER))
        from zth_worker.probes import registry
        self.probes = registry(spec.lecture)
        self.student = importlib.import_module(spec.package)
        self.cwd = tempfile.mkdtemp(prefix="zth-inprocess-cwd-")

    def start(self):
        pass

    def call(self, probe, args, seed, timeout, callbacks=None, max_callbacks=0):
        random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
        import zth_worker.probes as runtime

        def parent(name, cb_args):   # a callback answered in process, through the same wire
            return wire.decode(wire.encode(callbacks(name, wire.decode(wire.encode(cb_args)))))
        runtime._parent = parent if callbacks else None
        # like the real worker, in a private temporary working directory: probes that save
        # files (minbpe's save/load writes zth_tok.model) must not write into the repo
        here = os.getcwd()
        os.chdir(self.cwd)
        try:
            return self._call(probe, args)
        finally:
            os.chdir(here)

    def _call(self, probe, args):
        try:
            # the same serialisation both ways as the real worker, to compare like with like
            args = wire.decode(wire.encode(args))
            value = wire.decode(wire.encode(self.probes[probe](self.spec.package, **args)))
            return Reply("ok", value)
        except NotImplementedError:
            return Reply("not_implemented", message="not implemented")
        except Exception as e:
            kind = type(e).__name__
            if kind == "Missing":
                return Reply("missing", message=f"missing: {e}")
            if kind == "PolicyViolation":
                return Reply("policy", message=str(e))
            return Reply("error", message=traceback.format_exc(limit=3))

    def close(self):
        shutil.rmtree(self.cwd, ignore_errors=True)
        root = str(self.spec.package_dir.parent)
        if root in sys.path:
            sys.path.remove(root)
