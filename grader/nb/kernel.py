"""`check(...)`: what an autograded test cell runs in the notebook's kernel.

It grades the lecture package next to the notebook (e.g. `./micrograd/`) with the sandboxed
grader, prints one verdict line per check and raises `ChecksFailed` if any failed, so Jupyter and
`nbgrader validate` show the student the same verdicts the autograder will record.

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
    """Some checks of this cell did not pass; the message lists them with the grader's reasons."""


def package_digest(pkg_dir: Path) -> str:
    """Changes whenever a file of the package changes."""
    h = hashlib.sha256()
    for f in sorted(pkg_dir.rglob("*.py")) if pkg_dir.is_dir() else []:
        h.update(str(f.relative_to(pkg_dir)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def results_for(ids: tuple[str, ...], path: Path, course_file: Path = DEFAULT_COURSE,
                seed: int | None = None) -> tuple[list[CheckResult], str]:
    """Results of these checks on the package in `path`, grading what is not cached."""
    from ..runner import grade
    course = load_course(course_file)
    lids = {i.split(".")[0] for i in ids}
    if len(lids) != 1:
        raise ValueError(f"one test cell grades one lecture, got ids of {', '.join(sorted(lids))}")
    lid = lids.pop()
    lec = course.lecture(lid)
    known = {c.id for c in lec.checks}
    if unknown := [i for i in ids if i not in known]:
        raise ValueError(f"unknown check id {', '.join(unknown)}; {lid} has {', '.join(known)}")
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
    # anything on stderr fails a cell in nbgrader: route the grader's warnings to stdout
    with contextlib.redirect_stderr(sys.stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, header = results_for(ids, Path.cwd())
    print(render(results, header, show_hidden=True), end="")
    failed = [r for r in results if not r.passed]
    if failed:
        raise ChecksFailed(f"{len(failed)} of {len(results)} checks did not pass\n"
                           + render(failed, header, show_hidden=True))
