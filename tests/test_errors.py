"""Errors in the student's words (issue 17): tracebacks with the student's frames only, an import
error said once with file, line and caret, wrong return types named, a timeout that says where
the student's code was stopped.

Worker-level tests use a small room of their own (probes written here, copied into the worker
the way a lecture's probes are) and a small student package, so they start no torch and do not
depend on any lecture's probes.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, available_layers, grade_path, layer_params, mutant, probe_room

from grader.sandbox import Worker, WorkerSpec, stopped_at

LAYERS = layer_params()          # each isolation layer; one the machine lacks skips, saying why

PROBES = '''
from zth_worker.probes import attr, expect, module, probe


@probe
def call(pkg, mod, fn, args=()):
    return attr(module(pkg, mod), fn)(*args)


@probe
def method(pkg, mod, cls, fn, args=()):
    return getattr(attr(module(pkg, mod), cls)(), fn)(*args)


@probe
def typed(pkg, mod, fn):
    out = attr(module(pkg, mod), fn)()
    return expect(out, float, f"{fn}()", "a float")


@probe
def strict(pkg, mod, fn):
    out = attr(module(pkg, mod), fn)()
    if not isinstance(out, float):
        raise TypeError(f"{fn}() should return a float, got {type(out).__name__}")
    return out


@probe
def careless(pkg, mod, fn):
    return attr(module(pkg, mod), fn)().data   # trusts the student's return type
'''

CORE = '''\
def helper(x):
    return 1 / x


def outer(x):
    return helper(x) + 1


def spin():
    n = 0
    while True:
        n += 1


def wrong():
    return "0.5"


class Model:
    def generate(self, n):
        return [self.forward(i) for i in range(n)]      # a comprehension: still generate

    def forward(self, i):
        return Table().lookup(i)

    def average(self, xs):
        return (lambda: self.total(xs) / len(xs))()

    def total(self, xs):
        return sum(xs) + xs[0]


class Table:
    def lookup(self, i):
        return [0, 1][i]


def model_generate(n):
    return Model().generate(n)
'''
SPIN_LINE = CORE.splitlines().index("        n += 1") + 1


@pytest.fixture
def room(tmp_path, monkeypatch):
    """A lecture room `errdemo` with the probes above, and a student package `errpkg`."""
    probe_room(tmp_path, monkeypatch, "errdemo", PROBES)
    pkg = tmp_path / "sub" / "errpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text(CORE)
    (pkg / "bad.py").write_text("x = 1\n\ndef f(:\n    pass\n")
    (pkg / "uses_bad.py").write_text("from . import bad\n")
    (pkg / "boom.py").write_text("import math\n\nVALUE = undefined_name + 1\n")
    return pkg


def worker(pkg: Path, layer: str) -> Worker:
    return Worker(WorkerSpec(lecture="errdemo", package="errpkg", package_dir=pkg,
                             memory_mb=1024, output_kb=64, reply_mb=16), layer)


def no_grader_frames(msg: str) -> None:
    for word in ("zth_worker", "importlib", "<frozen", "/tmp/", "/submission"):
        assert word not in msg, (word, msg)


@pytest.mark.parametrize("layer", LAYERS)
def test_traceback_shows_only_the_students_frames(room, layer):
    w = worker(room, layer)
    try:
        r = w.call("call", {"mod": "core", "fn": "outer", "args": [0]}, 1, 30)
    finally:
        w.close()
    assert r.status == "error"
    lines = r.message.splitlines()
    # the function the grader called, and the one that raised, with its file and line
    assert lines[0] == "In outer → helper (errpkg/core.py:2): ZeroDivisionError: division by zero"
    no_grader_frames(r.message)
    # both of the student's frames, innermost last, with their source lines
    frames = re.findall(r'File "(.+?)", line (\d+), in (\w+)', r.message)
    assert frames == [("errpkg/core.py", "6", "outer"), ("errpkg/core.py", "2", "helper")]
    assert "return 1 / x" in r.message


def test_first_line_names_the_called_function_and_the_one_that_raised(room):
    """Methods by their class (a comprehension or lambda by the function around it); the
    one that raised by its own name when it is a method of the entry point's class, else by
    its class too; the line is the innermost one of the student's."""
    w = worker(room, "process")
    try:
        fn = w.call("call", {"mod": "core", "fn": "model_generate", "args": [3]}, 1, 30)
        other = w.call("method", {"mod": "core", "cls": "Model", "fn": "generate",
                                  "args": [3]}, 1, 30)
        same = w.call("method", {"mod": "core", "cls": "Model", "fn": "average",
                                 "args": [[]]}, 1, 30)
    finally:
        w.close()
    lines = CORE.splitlines()
    line = lines.index("        return [0, 1][i]") + 1
    assert fn.message.splitlines()[0] == (f"In model_generate → Table.lookup (errpkg/core.py:"
                                          f"{line}): IndexError: list index out of range")
    assert other.message.splitlines()[0] == (f"In Model.generate → Table.lookup (errpkg/"
                                             f"core.py:{line}): IndexError: list index out of "
                                             "range")
    line = lines.index("        return sum(xs) + xs[0]") + 1
    assert same.message.splitlines()[0] == (f"In Model.average → total (errpkg/core.py:{line}):"
                                            " IndexError: list index out of range")


@pytest.mark.parametrize("layer", LAYERS)
def test_syntax_error_names_file_line_and_caret_once_whichever_module_reached_it(room, layer):
    w = worker(room, layer)
    try:
        direct = w.call("call", {"mod": "bad", "fn": "f"}, 1, 30)
        via = w.call("call", {"mod": "uses_bad", "fn": "f"}, 1, 30)
        level = w.call("call", {"mod": "boom", "fn": "VALUE"}, 1, 30)
    finally:
        w.close()
    assert direct.status == via.status == "import_error"
    first, *rest = direct.message.splitlines()
    assert first == "errpkg/bad.py failed to import: SyntaxError: invalid syntax (line 3)"
    assert rest[0].strip() == 'File "errpkg/bad.py", line 3'
    assert rest[1].strip() == "def f(:"
    caret = rest[2]
    assert caret.strip() == "^" and caret.index("^") == rest[1].index("(") + 1
    no_grader_frames(direct.message)
    # the same error reached through another module reads the same: the runner says it once
    assert via.message == direct.message
    # an error while a module body runs: that module, its line, its frame
    assert level.status == "import_error"
    assert level.message.startswith("errpkg/boom.py failed to import: NameError: name "
                                    "'undefined_name' is not defined (line 3)")
    assert 'File "errpkg/boom.py", line 3, in <module>' in level.message
    no_grader_frames(level.message)


@pytest.mark.parametrize("layer", LAYERS)
def test_wrong_return_type_is_named_not_the_probes_traceback(room, layer):
    w = worker(room, layer)
    try:
        named = w.call("typed", {"mod": "core", "fn": "wrong"}, 1, 30)
        careless = w.call("careless", {"mod": "core", "fn": "wrong"}, 1, 30)
        strict = w.call("strict", {"mod": "core", "fn": "wrong"}, 1, 30)
    finally:
        w.close()
    assert named.status == "error"
    assert named.message == "your wrong() returned str; expected a float"
    # a probe that did not check: still not our traceback, and it says whose value it was
    assert careless.status == "error"
    first = careless.message.splitlines()[0]
    assert first == "AttributeError: 'str' object has no attribute 'data'"
    assert "while using what your code returned" in careless.message
    no_grader_frames(careless.message)
    # a probe's own `raise` is worded for the student already: its message alone
    assert strict.status == "error"
    assert strict.message == "TypeError: wrong() should return a float, got str"


@pytest.mark.parametrize("layer", LAYERS)
def test_timeout_says_where_the_students_code_was_stopped(room, layer):
    w = worker(room, layer)
    try:
        r = w.call("call", {"mod": "core", "fn": "spin"}, 1, 3)
    finally:
        w.close()
    assert r.status == "timeout"
    # the loop is two lines (`while True:` and its body): the dump may land on either
    assert any(f"timed out after 3 s, stopped at errpkg/core.py:{line} in spin" in r.message
               for line in (SPIN_LINE - 1, SPIN_LINE)), r.message
    no_grader_frames(r.message)


def test_import_timeout_says_where_the_module_body_was_stopped(room):
    (room / "__init__.py").write_text("import time\nwhile True:\n    time.sleep(0.01)\n")
    w = worker(room, available_layers()[0])
    try:
        r = w.call("call", {"mod": "core", "fn": "outer", "args": [1]}, 1, 3)
        again = w.call("call", {"mod": "core", "fn": "outer", "args": [1]}, 1, 3)
    finally:
        w.close()
    assert r.status == "timeout"
    assert r.message.startswith("importing your package timed out after 3 s, stopped at "
                                "errpkg/__init__.py:3 in <module>")
    assert again.message == r.message      # the package is broken: the same answer, at once


def test_stopped_at_reads_the_last_dump_and_prefers_the_serving_thread():
    root = "/submission"
    dump = textwrap.dedent("""\
        some output of the student's
        Timeout (0:00:01)!
        Thread 0x00007f0000000001 (most recent call first):
          File "/submission/pkg/worker.py", line 9 in busy_thread
          File "/usr/lib/python3.11/threading.py", line 975 in run
        Thread 0x00007f0000000002 (most recent call first):
          File "/submission/pkg/engine.py", line 42 in backward
          File "/zth/zth_worker/probes/micrograd.py", line 30 in eval_dags
          File "/zth/zth_worker/main.py", line 150 in serve
          File "<string>", line 1 in <module>
        """)
    assert stopped_at(dump, root) == ", stopped at pkg/engine.py:42 in backward"
    assert stopped_at("no dump here", root) == ""
    # a dump that shows no frame of the student's (stopped inside our own code) says nothing
    assert stopped_at('Timeout (0:00:01)!\n  File "/zth/zth_worker/main.py", line 1 in serve\n',
                      root) == ""
    # the student may print a fake dump earlier: only the last one counts
    fake = 'Timeout (0:00:01)!\n  File "/submission/pkg/x.py", line 1 in fake\n'
    assert stopped_at(fake + dump, root) == ", stopped at pkg/engine.py:42 in backward"


# -- through the runner and the CLI: the package's import error is reported once --------------
def test_a_broken_module_is_reported_in_full_once_and_the_other_checks_point_there(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"nn.py": [("class Module:", "class Module(:")]})
    only = {"micrograd.ops", "micrograd.nn_forward", "micrograd.parameters",
            "micrograd.zero_grad"}
    results = grade_path(sub, "micrograd", only=only)
    assert results["micrograd.ops"].passed   # engine.py is fine and still graded
    full = results["micrograd.nn_forward"]
    assert full.status == "import_error"
    assert full.message.startswith("micrograd/nn.py failed to import: SyntaxError")
    assert "class Module(:" in full.message and "^" in full.message
    for cid in ("micrograd.parameters", "micrograd.zero_grad"):
        r = results[cid]
        assert r.status == "import_error" and r.points == 0
        assert r.message == ("not graded (see micrograd.nn_forward): micrograd/nn.py failed to "
                             "import (SyntaxError)")


@pytest.mark.parametrize("init_imports", [True, False], ids=["package", "module"])
def test_syntax_error_report_fits_on_one_screen(tmp_path, init_imports):
    """Issue 17's acceptance: a syntax error in one module, the whole default table report at
    100 columns is at most 60 lines; the error is shown once, with file, line and caret. Either
    the package's __init__ imports the module (as Karpathy's does: the package fails to import)
    or it does not (each check's own import of it fails)."""
    sub = mutant(tmp_path, "micrograd", {"engine.py": [("class Value:", "class Value(:")]})
    line = (sub / "micrograd" / "engine.py").read_text().splitlines().index("class Value(:") + 1
    if init_imports:
        (sub / "micrograd" / "__init__.py").write_text("from .engine import Value\n")
    r = subprocess.run([sys.executable, "-m", "grader", "grade", str(sub), "--lecture",
                        "micrograd", "--seed", "5", "-q"], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "100"}, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.rstrip("\n").splitlines()
    assert len(lines) <= 60, r.stdout
    assert r.stdout.count("class Value(:") == 1, r.stdout
    assert r.stdout.count(f'File "micrograd/engine.py", line {line}') == 1, r.stdout
    assert sum(x.rstrip(" │").endswith("^") for x in lines) == 1, r.stdout
    results = grade_path(sub, "micrograd", seed=5)
    assert len(results) == 14 and {c.status for c in results.values()} == {"import_error"}
    first, *others = results.values()
    who = "your package" if init_imports else "micrograd/engine.py"
    where = f"micrograd/engine.py, line {line}" if init_imports else f"line {line}"
    assert first.message.startswith(f"{who} failed to import: SyntaxError: invalid syntax "
                                    f"({where})"), first.message
    assert all(c.message == f"not graded (see {first.id}): {who} failed to import "
               "(SyntaxError)" for c in others), [c.message for c in others]


def test_a_probe_names_the_wrong_return_type_with_expect(tmp_path):
    """mlp's gradient probe calls `.backward()` on what the student's loss_fn returned; a float
    there is named as the student's mistake, not shown as our AttributeError."""
    ret = "    return F.cross_entropy(logits, Y)"
    sub = mutant(tmp_path, "mlp", {"model.py": [(ret + "\n", ret + ".item()\n")]})
    r = grade_path(sub, "mlp", only={"mlp.grads"})["mlp.grads"]
    assert r.status == "error" and r.points == 0
    assert r.message == ("your loss_fn(forward(params, X), Y) returned float; expected a tensor "
                         "(so that .backward() reaches the parameters)")
