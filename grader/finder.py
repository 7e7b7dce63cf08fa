"""Where a submission's lecture packages are: one finder for `zth grade`, `--batch` and
Gradescope.

A submission is the folder that holds lecture packages (`micrograd/`, `bigram/`, ...). Students
hand in that folder, or something around it: a clone of their GitHub Classroom repo
(`assignments/micrograd/`), a Gradescope upload of the repo, a zip unpacked one level deeper.
`locate()` walks breadth first, at most `DEPTH` folders down, and returns the shallowest folder
that holds at least one package; ties at one depth go to the folder with the most packages, then
to the name order. Symbolic links never count (a link named `micrograd/` may point at the
reference), nor do hidden or dunder folders, and at most `MAX_DIRS` folders are looked at, so a
hostile upload with a million folders costs nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

DEPTH = 3          # assignments/ inside a repo folder inside the upload, and one more
MAX_DIRS = 2000    # folders listed before the search gives up


def _real_dirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            entries = [e for e in it if e.is_dir(follow_symlinks=False)
                       and not e.name.startswith((".", "__"))]
    except OSError:
        return []
    return [Path(e.path) for e in sorted(entries, key=lambda e: e.name)]


def packages_in(folder: Path, course, lectures=None) -> list[str]:
    """Lecture ids whose package is a real folder (not a link) right inside `folder`."""
    ids = list(lectures or course.lectures)
    return [lid for lid in ids
            if (folder / course.lecture(lid).package).is_dir()
            and not (folder / course.lecture(lid).package).is_symlink()]


def locate(path: Path, course, lectures=None) -> Path | None:
    """The folder inside `path` (or `path` itself) holding the lecture packages, else None."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return None
    level, seen = [path], 0
    for _ in range(DEPTH + 1):
        found = [(len(packages_in(d, course, lectures)), d) for d in level]
        found = [(n, d) for n, d in found if n]
        if found:
            best = max(n for n, _ in found)
            return next(d for n, d in found if n == best)
        nxt = []
        for d in level:
            children = _real_dirs(d)
            seen += len(children)
            if seen > MAX_DIRS:
                return None
            nxt += children
        level = nxt
    return None


def describe(course, lectures=None) -> str:
    """'micrograd/, bigram/, ...': what the finder looks for, for error messages."""
    return ", ".join(course.lecture(lid).package + "/" for lid in (lectures or course.lectures))
