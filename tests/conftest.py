"""Shared test helpers: grade a folder in-process (the parent side; student code still runs in
the sandboxed worker) and build mutated copies of a reference package ("buggy variants")."""
from __future__ import annotations

import functools
import importlib.util
import os
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
