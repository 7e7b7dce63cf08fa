"""Shared test helpers: grade a folder in-process (the parent side; student code still runs in
the sandboxed worker) and build mutated copies of a reference package ("buggy variants")."""
from __future__ import annotations

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
