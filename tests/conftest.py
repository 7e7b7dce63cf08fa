"""Shared test helpers: grade a folder in-process (the parent side; student code still runs in
the sandboxed worker) and build mutated copies of a reference package ("buggy variants")."""
from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.config import ROOT, load_course
from grader.runner import grade

REFERENCE = ROOT / "reference"
ASSIGNMENTS = ROOT / "assignments"


@pytest.fixture(scope="session")
def course():
    return load_course()


def grade_path(path: Path, lecture: str, seed: int = 1234, isolation: str | None = None,
               only: set[str] | None = None):
    """Grade one lecture of one submission; returns {check id: CheckResult}."""
    run = grade(load_course(), Path(path), [lecture], seed, isolation=isolation, only=only)
    return {c.id: c for c in run.submissions[0].lectures[0].checks}


def mutant(tmp_path: Path, lecture: str, edits: dict[str, list[tuple[str, str]]],
           base: Path = REFERENCE) -> Path:
    """A submission folder holding `lecture`'s reference package with text replacements applied.

    Each (old, new) must occur in the file, so a mutant can never silently equal the reference.
    """
    pkg = load_course().lecture(lecture).package
    sub = tmp_path / f"sub-{lecture}"
    dest = sub / pkg
    shutil.copytree(base / pkg, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for fname, pairs in edits.items():
        f = dest / fname
        text = f.read_text()
        for old, new in pairs:
            assert old in text, f"mutation target not found in {fname}: {old!r}"
            text = text.replace(old, new, 1)
        f.write_text(text)
    return sub


def zth(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI as a user would."""
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


# -- what a test needs from the machine ----------------------------------------------------------
# `@pytest.mark.needs("bubblewrap")` (or a `layer_params()` parameter): where the machine lacks it,
# the test is skipped and the skip says why; with ZTH_REQUIRE=bubblewrap,nbgrader,chromium (CI
# sets it) those skips fail instead, so a layer or a tool can never vanish from a run unseen.
NEEDS = ("bubblewrap", "uid-drop", "nbgrader", "chromium", "graphviz")
# words a skip reason written elsewhere (a skipif, an importorskip) names each need by
NEED_WORDS = {"bubblewrap": ("bubblewrap", "bwrap"), "uid-drop": ("uid-drop", "uid drop"),
              "nbgrader": ("nbgrader", "nbformat", "nbconvert"), "chromium": ("chromium",),
              "graphviz": ("graphviz",)}
LAYERS = ("bubblewrap", "uid-drop", "process")   # strongest first, as grader/sandbox/layers.py


def required() -> set[str]:
    return {w.strip() for w in os.environ.get("ZTH_REQUIRE", "").split(",") if w.strip()}


@functools.cache
def missing(what: str) -> str | None:
    """Why this machine lacks `what` (one of NEEDS), or None when it has it."""
    from grader.sandbox import bwrap_works, choose_isolation
    if what == "bubblewrap":
        if not shutil.which("bwrap"):
            return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
        return None if bwrap_works() else ("bwrap is installed but cannot create its "
                                           "namespaces here (a container that forbids them?)")
    if what == "uid-drop":
        layer, note = choose_isolation("uid-drop")
        return None if layer == "uid-drop" else f"the uid-drop layer is unavailable: {note}"
    if what == "nbgrader":
        gone = [m for m in ("nbgrader", "nbformat") if importlib.util.find_spec(m) is None]
        return f"{', '.join(gone)} not installed (pip install -e '.[nbgrader]')" if gone else None
    if what == "chromium":
        return None if shutil.which("chromium") or shutil.which("chromium-browser") else \
            "chromium is not installed (Debian: apt-get install chromium)"
    if what == "graphviz":
        return None if shutil.which("dot") else \
            "graphviz's dot is not installed (Debian: apt-get install graphviz)"
    raise ValueError(f"unknown need {what!r}; known: {', '.join(NEEDS)}")


def layer_params(layers=LAYERS) -> list:
    """Each isolation layer as a test parameter; one this machine lacks skips with the reason."""
    return [pytest.param(layer, id=layer,
                         marks=[pytest.mark.needs(layer)] if layer != "process" else [])
            for layer in layers]


def available_layers(layers=LAYERS) -> list[str]:
    return [layer for layer in layers if layer == "process" or not missing(layer)]


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*what): the test needs these (bubblewrap, uid-drop,"
                            " nbgrader, chromium, graphviz); skipped without, failed with "
                            "ZTH_REQUIRE naming them")
    unknown = required() - set(NEEDS)
    if unknown:
        raise pytest.UsageError(f"ZTH_REQUIRE: unknown {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(NEEDS)}")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        for what in mark.args:
            why = missing(what)
            if why:
                if what in required():
                    pytest.fail(f"ZTH_REQUIRE={what}: {why}", pytrace=False)
                pytest.skip(why)


def _required_named_in(reason: str) -> str | None:
    low = reason.lower()
    return next((w for w in sorted(required()) if any(x in low for x in NEED_WORDS[w])), None)


def _fail_required_skip(report) -> None:
    """A skip written elsewhere (skipif, importorskip) that names a required thing fails."""
    if report.skipped and required():
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple)
                     else report.longrepr)
        what = _required_named_in(reason)
        if what:
            report.outcome = "failed"
            report.longrepr = f"ZTH_REQUIRE={what}, but this was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not hasattr(report, "wasxfail"):
        _fail_required_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_required_skip(outcome.get_result())


# -- buggy variants: where the planted bug is, and a check run at several seeds ----------------
def _enclosing(tree: ast.Module, line: int) -> tuple[str, str] | None:
    """(class, function) of the top-level function or method holding `line` ("" for no class);
    a closure inside a method (micrograd's `_backward`) counts as the method."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for fn in node.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        fn.lineno <= line <= fn.end_lineno:
                    return node.name, fn.name
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.lineno <= line <= node.end_lineno:
            return "", node.name
    return None


def planted_in(lecture: str, edits: dict[str, list[tuple[str, str]]],
               base: Path = REFERENCE) -> list[tuple[str, str]]:
    """(class, function) enclosing each file's planted edit, derived from the reference source.

    A file's last (old, new) pair is the planted bug; the pairs before it set the scene (e.g.
    an op written out instead of derived). The place is the first line where the file with
    every pair differs from the file without the last one, looked up in the mutated file's AST
    (in the one without it when the edit only deleted lines at a function's end)."""
    pkg = load_course().lecture(lecture).package
    places = []
    for fname, pairs in edits.items():
        before = (base / pkg / fname).read_text()
        for old, new in pairs[:-1]:
            before = before.replace(old, new, 1)
        old, new = pairs[-1]
        assert old in before, f"mutation target not found in {fname}: {old!r}"
        after = before.replace(old, new, 1)
        a, b = before.splitlines(), after.splitlines()
        line = next((i for i, (x, y) in enumerate(zip(a, b), 1) if x != y), min(len(a), len(b)))
        place = _enclosing(ast.parse(after), line) or _enclosing(ast.parse(before), line)
        assert place, f"no function encloses line {line} of {fname}"
        places.append(place)
    return places


def _classes(lecture: str, base: Path = REFERENCE) -> dict[str, tuple[list[str], dict]]:
    """Every class of the reference package: its base names and its methods, each with the
    names it reads off `self` (the methods it calls)."""
    out = {}
    for f in sorted((base / load_course().lecture(lecture).package).glob("*.py")):
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                         for b in node.bases]
                out[node.name] = (bases, {
                    fn.name: {a.attr for a in ast.walk(fn) if isinstance(a, ast.Attribute)
                              and isinstance(a.value, ast.Name) and a.value.id == "self"}
                    for fn in node.body if isinstance(fn, (ast.FunctionDef,
                                                           ast.AsyncFunctionDef))})
    return out


def _methods(classes: dict, c: str) -> dict[str, set[str]]:
    """The methods class `c` has, its own and inherited (own ones win)."""
    bases, own = classes.get(c, ([], {}))
    out: dict[str, set[str]] = {}
    for b in reversed(bases):
        out.update(_methods(classes, b))
    return {**out, **own}


def heirs(lecture: str, cls: str, func: str, base: Path = REFERENCE) -> set[str]:
    """`cls` and every class of the package that inherits `func` from it unchanged: a report
    may name the method by the class the student called it on (`RegexTokenizer.load`)."""
    classes = _classes(lecture, base)

    def inherits(c: str) -> bool:
        if c == cls:
            return True
        bases, methods = classes.get(c, ([], {}))
        return func not in methods and any(inherits(b) for b in bases)
    return {c for c in classes if inherits(c)} | {cls}


# Python's operator for each dunder (the data model, not our messages)
OPERATOR = {"__add__": "+", "__radd__": "+", "__sub__": "-", "__rsub__": "-", "__mul__": "*",
            "__rmul__": "*", "__truediv__": "/", "__rtruediv__": "/", "__pow__": "**",
            "__neg__": "-"}


def names_the_place(line: str, lecture: str, cls: str, func: str) -> bool:
    """Whether a message's first line names this place: `func` for a module function; for a
    method, its class (or a class inheriting it) and the method (calling an object runs its
    `__call__` / `forward`, so the class alone names those), the operator of an operator
    method in backticks, and no other method of that class but those that call it (the
    entry point the student called, `RegexTokenizer.encode` for `_encode_chunk`)."""
    def word(w: str, before: str = r"(?<!\w)"):
        return re.search(rf"{before}{re.escape(w)}(?!\w)", line)
    if not cls:
        return bool(word(func))
    classes = _classes(lecture)
    for c in heirs(lecture, cls, func):
        if not word(c, r"(?<![\w.])"):
            continue
        methods = _methods(classes, c)
        callers, grew = {func}, True
        while grew:
            more = {m for m, reads in methods.items() if reads & callers} - callers
            callers |= more
            grew = bool(more)
        named = set(re.findall(rf"(?<!\w){re.escape(c)}\.(\w+)", line)) & set(methods)
        if named - callers:
            return False                     # blames another method of the class
        if func in OPERATOR and not re.search(rf"`[^`]*{re.escape(OPERATOR[func])}[^`]*`", line):
            return False
        if func in ("__call__", "forward") or word(func):
            return True
    return False


def run_check(sub: Path, lecture: str, check_id: str, seeds, **params
              ) -> list[tuple[str | None, list]]:
    """One check at several seeds on one worker: (failure message or None, figures) per seed.
    A failure is the check's own (CheckFailed) or the probe's (the student's code raised)."""
    from grader.check import CheckFailed, Context, ProbeFailed, registry
    from grader.runner import derive_seed, start_worker
    from grader.sandbox import choose_isolation
    course = load_course()
    lec = course.lecture(lecture)
    cfg = next(c for c in lec.checks if c.id == check_id)
    fn = registry(lecture)[check_id]
    worker = start_worker(course, lecture, sub, choose_isolation()[0])
    out = []
    try:
        for seed in seeds:
            ctx = Context(lecture, cfg, course.tolerance_for(lecture, cfg),
                          derive_seed(seed, check_id), course.timeout_for(cfg), worker,
                          {**lec.params, **cfg.params, **params})
            try:
                fn(ctx)
                out.append((None, ctx.figures))
            except (CheckFailed, ProbeFailed) as e:
                out.append((str(e), ctx.figures))
    finally:
        worker.close()
    return out


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` sends each file to one test process; tests/test_lectures.py holds every
    lecture's tests, so there a file's scope is the file and the lecture (the first parameter),
    and the eight lectures spread over both processes."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByLecture(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope.endswith("test_lectures.py") and "[" in nodeid:
                return f"{scope}::{nodeid.split('[', 1)[1].split('-', 1)[0].rstrip(']')}"
            return scope
    return ByLecture(config, log)


def probe_room(tmp_path: Path, monkeypatch, lecture: str, probes: str) -> Path:
    """A lecture room `lecture` holding only `probes` (its sandboxed probes.py), which the
    sandbox lays out for the worker instead of the course's rooms (for tests of the sandbox
    itself). Returns the rooms folder."""
    import grader.sandbox.layout
    rooms = tmp_path / "rooms"
    (rooms / lecture).mkdir(parents=True)
    (rooms / lecture / "probes.py").write_text(probes)
    monkeypatch.setattr(grader.sandbox.layout, "LECTURES_DIR", rooms)
    return rooms
