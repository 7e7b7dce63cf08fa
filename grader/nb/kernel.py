"""`check(...)`: what an autograded test cell runs in the notebook's kernel.

It grades the lecture package of the notebook (`find_package`: next to it, e.g. `./micrograd/`
as nbgrader hands it out, or one folder up, as in the repository's `assignments/notebooks/`)
with the sandboxed grader and shows one verdict line per check: printed when all passed, and as
the cell's error when some failed (`ChecksFailed`, whose traceback in Jupyter and in `nbgrader
validate` is the verdict itself, shown once), so the student sees the verdicts the autograder
will record. `use_package` (the setup cell's first line) makes the same package importable.

Nothing here decides a score. The kernel runs the student's code, so anything computed in it can be
forged; at `nbgrader autograde` the score comes from `grader.nb.autograde`, which grades the
submission outside the kernel and replaces this cell's output. During autograding this function
therefore does nothing but say so.

Each cell grades only its own checks (so it fits nbgrader's default cell timeout); results are
kept per check until a file of the package changes, so re-running a cell after editing a module
grades it again and re-running it unchanged answers at once.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import warnings
from pathlib import Path

from ..config import DEFAULT_COURSE, load_course
from ..results import CheckResult
from .verdict import render

AUTOGRADING = ("graded outside this notebook by the zth grader (sandboxed): "
               "this output is replaced by its verdict")
HIDDEN_ONLY = "hidden checks: they run when your submission is autograded"

_cache: dict[tuple[str, str], tuple[CheckResult, int, str]] = {}


class ChecksFailed(AssertionError):
    """Some checks of this cell did not pass; the message lists them with the grader's reasons.

    IPython shows `_render_traceback_()` instead of a traceback: the verdict, once, without the
    frames of this module."""

    def __init__(self, summary: str, verdict: str):
        super().__init__(f"{summary}\n{verdict}")
        self.summary, self.verdict = summary, verdict

    def _render_traceback_(self) -> list[str]:
        return [*self.verdict.rstrip("\n").splitlines(), f"ChecksFailed: {self.summary}"]


class PackageNotFound(Exception):
    """The lecture package is in none of the places a notebook looks (the message lists them)."""

    def _render_traceback_(self) -> list[str]:
        return [f"PackageNotFound: {self}"]


def search_path(start: Path) -> list[Path]:
    """Where a notebook opened in `start` looks for its package, in order."""
    start = Path(start).resolve()
    return list(dict.fromkeys([start, start.parent, start / "assignments",
                               start.parent / "assignments"]))


def find_package(package: str, start: Path | None = None) -> Path:
    """The folder holding the package `package/` for a notebook opened in `start` (default: the
    working directory, which Jupyter, nbclient and nbgrader set to the notebook's folder)."""
    places = search_path(Path.cwd() if start is None else start)
    for folder in places:
        if (folder / package / "__init__.py").is_file():
            return folder
    raise PackageNotFound(f"no {package}/ package (a folder with __init__.py) in "
                          + ", ".join(str(p) for p in places))


def use_package(package: str) -> Path:
    """Make this notebook's lecture package importable wherever the notebook was opened;
    returns the folder that holds it."""
    __tracebackhide__ = True
    folder = find_package(package)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder


def package_digest(pkg_dir: Path) -> str:
    """Changes whenever a file of the package changes."""
    h = hashlib.sha256()
    for f in sorted(pkg_dir.rglob("*.py")) if pkg_dir.is_dir() else []:
        h.update(str(f.relative_to(pkg_dir)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def lecture_of(ids, course):
    """The one lecture these check ids belong to (ValueError naming the bad ids otherwise)."""
    lids = {i.split(".")[0] for i in ids}
    if len(lids) != 1:
        raise ValueError(f"one test cell grades one lecture, got ids of {', '.join(sorted(lids))}")
    lid = lids.pop()
    if lid not in course.lectures:
        raise ValueError(f"unknown lecture {lid!r} in check ids {', '.join(ids)}")
    lec = course.lecture(lid)
    known = {c.id for c in lec.checks}
    if unknown := [i for i in ids if i not in known]:
        raise ValueError(f"unknown check id {', '.join(unknown)}; {lid} has {', '.join(known)}")
    return lec


def results_for(ids: tuple[str, ...], path: Path, course_file: Path = DEFAULT_COURSE,
                seed: int | None = None) -> tuple[list[CheckResult], str]:
    """Results of these checks on the package in `path`, grading what is not cached."""
    from ..runner import grade
    course = load_course(course_file)
    lec = lecture_of(ids, course)
    lid = ids[0].split(".")[0]
    digest = package_digest(path / lec.package)
    todo = [c for c in lec.checks if c.id in ids and (c.id, digest) not in _cache]
    if todo:
        part = course.model_copy(update={"lectures": {
            **course.lectures, lid: lec.model_copy(update={"checks": todo})}})
        run = grade(part, path, [lid], seed)
        graded = run.submissions[0].lectures[0]
        for r in graded.checks:
            _cache[(r.id, digest)] = (r, run.seed, graded.isolation)
    got = [_cache[(i, digest)] for i in ids]
    seeds = ", ".join(str(s) for s in sorted({s for _, s, _ in got}))
    layers = ", ".join(sorted({layer for _, _, layer in got}))
    header = f"zth grader · {lid} · seed {seeds} · isolation: {layers}"
    return [r for r, _, _ in got], header


def check(*ids: str) -> None:
    """Grade these checks of the lecture package in the current folder and show the verdicts."""
    __tracebackhide__ = True  # IPython: show the verdict, not this function's frames
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(AUTOGRADING)
        return
    if not ids:
        print(HIDDEN_ONLY)
        return
    folder = find_package(lecture_of(ids, load_course(DEFAULT_COURSE)).package)
    # anything on stderr fails a cell in nbgrader: route the grader's warnings to stdout
    with contextlib.redirect_stderr(sys.stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, header = results_for(ids, folder)
    verdict = render(results, header, show_hidden=True)
    failed = [r for r in results if not r.passed]
    if failed:
        raise ChecksFailed(f"{len(failed)} of {len(results)} checks did not pass", verdict)
    print(verdict, end="")
