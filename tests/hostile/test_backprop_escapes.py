"""Backprop's "no autograd" policy cannot be switched off from the student's code (issue #15,
class 1). The worker's guard is thread-local state in a process the student controls, so the
parent refuses, before the worker starts, source that could defeat it (grader/escapes.py).

Each attack below is a working bypass: with the escape scan turned off it scores the checks it
targets (shown by grading it so), with the scan it scores 0 with status `policy` and a message
naming the file and line. Each has an honest twin written the same way without the escape,
which keeps full marks on the same checks.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REFERENCE, mutant

from grader.config import load_course
from grader.escapes import scan
from grader.runner import grade
from grader.sandbox import bwrap_works

OUTPUT = {"backprop.dh", "backprop.dW2", "backprop.db2", "backprop.dhpreact"}
MANUAL = "    dh = dlogits @ W2.T\n    dW2 = h.T @ dlogits\n"
IMPORTS = "import torch\nimport torch.nn.functional as F\n"


def _helper(body: str) -> str:
    """backward_output computing dh, dW2 in a nested helper `work(out)`, run as `body` says."""
    return ("    out = {}\n\n"
            "    def work(out):\n"
            "        hh, W = h.clone(), W2.clone()\n"
            "        AUTOGRAD\n"
            "    " + body + "\n"
            "    dh, dW2 = out['dh'], out['dW2']\n")


AUTOGRAD = ("hh.requires_grad_()\n        W.requires_grad_()\n"
            "        (hh @ W).backward(dlogits)\n"
            "        out.update(dh=hh.grad, dW2=W.grad)")
BY_HAND = "out.update(dh=dlogits @ W.T, dW2=hh.T @ dlogits)"
POP = ("top = C._autograd._top_saved_tensors_default_hooks(False)\n"
       "    C._autograd._pop_saved_tensors_default_hooks()\n"
       "    try:\n"
       "        with C.DisableTorchFunction():\n"
       "            work(out)\n"
       "    finally:\n"
       "        C._autograd._push_saved_tensors_default_hooks(*top)")

# name: (attack edits, honest twin edits); both edit ninja.py
CASES = {
    # autograd in another thread: the torch function mode and the hooks are thread-local
    "autograd_in_a_thread": (
        [(IMPORTS, "import threading\n\n" + IMPORTS),
         (MANUAL, _helper("t = threading.Thread(target=work, args=(out,))\n"
                          "    t.start()\n    t.join()").replace("AUTOGRAD", AUTOGRAD))],
        [(MANUAL, _helper("work(out)").replace("AUTOGRAD", BY_HAND))]),
    # pop the saved-tensor hooks and disable torch function handling around autograd
    "pop_the_guard": (
        [(MANUAL, _helper("C = torch._C\n    " + POP).replace("AUTOGRAD", AUTOGRAD))],
        [(MANUAL, _helper("work(out)").replace("AUTOGRAD", BY_HAND))]),
    # the same, with torch._C reached through a name built at run time
    "computed_attribute_name": (
        [(MANUAL, _helper('C = getattr(torch, "_" + "C")\n    ' + POP)
          .replace("AUTOGRAD", AUTOGRAD))],
        [(MANUAL, _helper('mm = getattr(torch, "matmul")\n    work(out)')
          .replace("AUTOGRAD", BY_HAND).replace("dlogits @ W.T", "mm(dlogits, W.T)"))]),
}
LAYERS = ["bubblewrap", "process"] if bwrap_works() else ["process"]


def _grade(sub: Path, only: set[str] | None, escapes: bool = True, layer: str | None = None):
    course = load_course()
    course.lecture("backprop").policy.refuse_escapes = escapes
    run = grade(course, sub, ["backprop"], 7, isolation=layer, only=only)
    return {c.id: c for c in run.submissions[0].lectures[0].checks}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_escape_is_refused_with_file_and_line(tmp_path, case, layer):
    results = _grade(mutant(tmp_path, "backprop", {"ninja.py": CASES[case][0]}), None,
                     layer=layer)
    assert {r.status for r in results.values()} == {"policy"}
    assert sum(r.points for r in results.values()) == 0
    msg = next(iter(results.values())).message
    assert "backprop/ninja.py:" in msg and "guard" in msg, msg


@pytest.mark.parametrize("case", sorted(set(CASES) - {"autograd_in_a_thread"}))
def test_escape_works_without_the_scan_so_the_scan_is_what_stops_it(tmp_path, case):
    results = _grade(mutant(tmp_path, "backprop", {"ninja.py": CASES[case][0]}), OUTPUT,
                     escapes=False)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


def test_a_thread_is_also_caught_at_run_time(tmp_path):
    # without the scan, the worker's evidence: a thread started inside the graded function
    results = _grade(mutant(tmp_path, "backprop", {"ninja.py": CASES["autograd_in_a_thread"][0]}),
                     OUTPUT, escapes=False)
    for k, r in results.items():
        assert r.status == "policy" and "thread" in r.message, (k, r.message)


@pytest.mark.parametrize("case", sorted(CASES))
def test_honest_twin_keeps_full_marks(tmp_path, case):
    sub = mutant(tmp_path, "backprop", {"ninja.py": CASES[case][1]})
    assert scan(sub / "backprop", "backprop") == []
    results = _grade(sub, OUTPUT)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


def test_autograd_in_the_graded_function_is_still_caught_at_run_time(tmp_path):
    # plain autograd needs no escape: the worker's guard, left on, reports it
    sub = mutant(tmp_path, "backprop", {"ninja.py": [
        (MANUAL, _helper("work(out)").replace("AUTOGRAD", AUTOGRAD))]})
    assert scan(sub / "backprop", "backprop") == []
    results = _grade(sub, {"backprop.dh"})
    assert results["backprop.dh"].status == "policy", results["backprop.dh"].message


REFUSED = {
    "import threading": "threading",
    "from concurrent.futures import ThreadPoolExecutor": "concurrent.futures",
    "import _thread": "_thread",
    "import os": "os",
    "import sys": "sys",
    "import importlib": "importlib",
    "import torch._C": "torch._C",
    "from torch import _C": "_C",
    "from torch.overrides import TorchFunctionMode": "torch.overrides",
    "from torch.autograd.graph import saved_tensors_hooks": "torch.autograd.graph",
    "x = torch._C": "._C",
    "x = torch.sys.modules": ".sys",
    "x = torch.multiprocessing": ".multiprocessing",
    "x = torch.autograd.graph.saved_tensors_hooks": ".graph",
    "x = torch.overrides": ".overrides",
    "x = torch.utils.data.DataLoader": ".utils",
    "f = getattr(torch, name)": "getattr",
    "f = getattr(torch, 'au' + 'tograd')": "getattr",
    "f = getattr(torch, '_C')": "'_C'",
    "setattr(torch, name, None)": "setattr",
    "g = getattr": "getattr",
    "__import__('threading')": "__import__",
    "exec('x = 1')": "exec",
    "eval('1')": "eval",
    "compile('1', 'f', 'eval')": "compile",
    "v = vars(torch)": "vars",
    "g = globals()": "globals",
    "x = torch.__dict__": "__dict__",
    "x = e.__traceback__.tb_frame.f_back": "__traceback__",
    "x = Tensor.__torch_function__": "__torch_function__",
    "class M:\n    def __torch_function__(self, *a): pass": "__torch_function__",
    "x = torch._C.DisableTorchFunction": "._C",
    "with DisableTorchFunctionSubclass(): pass": "DisableTorchFunctionSubclass",
    "x = obj._private": "._private",
    "x = __builtins__": "__builtins__",
    "x = torch.jit.fork": ".jit",
}
ALLOWED = ["import torch", "import torch.nn.functional as F", "import math, random",
           "from . import model", "from .fused import batchnorm_backward",
           "x = getattr(F, 'one_hot')", "x = getattr(obj, 'weight', None)", "self._cache = 1",
           "class A:\n    def __init__(self): super().__init__()", "x = f.__name__",
           "t.requires_grad = True", "d = x.grad", "y = torch.tanh(x).sum(0, keepdim=True)",
           "class V:\n    def __add__(self, o): return self\n    def __repr__(self): return ''",
           "import matplotlib.pyplot as plt\nplt.plot([1, 2])", "__all__ = ['manual_step']",
           "if __name__ == '__main__':\n    pass", "import time\nt0 = time.perf_counter()"]


@pytest.mark.parametrize("src", sorted(REFUSED))
def test_scan_refuses(tmp_path, src):
    pkg = tmp_path / "backprop"
    pkg.mkdir()
    (pkg / "ninja.py").write_text("import torch\n" + src + "\n")
    found = scan(pkg, "backprop")
    assert found and all(f.startswith("backprop/ninja.py:") for f in found)
    assert any(REFUSED[src] in f for f in found), found


@pytest.mark.parametrize("src", ALLOWED)
def test_scan_allows_plain_lecture_code(tmp_path, src):
    pkg = tmp_path / "backprop"
    pkg.mkdir()
    (pkg / "ninja.py").write_text(src + "\n")
    assert scan(pkg, "backprop") == []


def test_scan_refuses_compiled_modules(tmp_path):
    pkg = tmp_path / "backprop"
    pkg.mkdir()
    (pkg / "ninja.pyc").write_bytes(b"\0" * 16)
    assert scan(pkg, "backprop") == ["backprop/ninja.pyc: a compiled module (its source cannot "
                                     "be scanned)"]


def test_reference_and_stubs_pass_the_scan():
    assert scan(REFERENCE / "backprop", "backprop") == []
