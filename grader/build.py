"""`zth build`: generate the student stubs in assignments/ from the reference.

Every `### BEGIN SOLUTION` ... `### END SOLUTION` region (nbgrader's markers) becomes
`# YOUR CODE HERE` + `raise NotImplementedError()` at the region's indentation; everything else
(signatures, docstrings with the exercise text, scaffold) is kept as it is.

`reference/notebooks/<id>.ipynb` become `assignments/notebooks/<id>.ipynb` through nbgrader's own
generate_assignment preprocessors (grader/nb/release.py), with their test cells' points and hidden
checks taken from course.yaml. Without nbgrader installed the notebooks are left as they are.
"""
from __future__ import annotations

import re
from pathlib import Path

from .config import ROOT

NOTEBOOKS = "notebooks"
BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
SKIP = {"__pycache__"}


class BuildError(Exception):
    pass


def strip_solutions(text: str, source: str = "<text>") -> str:
    out, indent, start = [], None, 0
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if indent is None:
            m = BEGIN.match(line)
            if m:
                indent, start = m.group(1), n
                out.append(f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n")
            elif END.match(line):
                raise BuildError(f"{source}:{n}: END SOLUTION without BEGIN SOLUTION")
            else:
                out.append(line)
        elif END.match(line):
            indent = None
        elif BEGIN.match(line):
            raise BuildError(f"{source}:{n}: nested BEGIN SOLUTION (the one at line {start} "
                             "is still open)")
    if indent is not None:
        raise BuildError(f"{source}:{start}: BEGIN SOLUTION is never closed")
    return "".join(out)


def _skip() -> set[str]:
    """Folders `build` leaves alone: notebooks too when nbgrader is missing."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        return SKIP | {NOTEBOOKS}
    return SKIP


def planned(reference: Path = ROOT / "reference") -> dict[Path, str]:
    """Relative path -> generated text, for every file of every reference package."""
    if not reference.is_dir():
        # a student release has no reference/: building would wipe the student's work
        raise BuildError(f"no {reference} here: `zth build` is an instructor command (a student "
                         "release ships no reference code)")
    files = {}
    skip = _skip()
    for f in sorted(reference.rglob("*")):
        rel = f.relative_to(reference)
        if f.is_dir() or skip & set(rel.parts) or f.suffix == ".pyc":
            continue
        if rel.parts[0] == NOTEBOOKS:
            if f.suffix == ".ipynb":
                from .nb.release import release_text
                files[rel] = release_text(f)
            continue
        text = f.read_text()
        files[rel] = strip_solutions(text, str(f)) if f.suffix == ".py" else text
    return files


def stale(reference: Path = ROOT / "reference", out: Path = ROOT / "assignments") -> list[str]:
    """Paths in `out` that differ from what `build` would write (or should not be there)."""
    want = planned(reference)
    skip = _skip()
    diffs = [str(p) for p, text in want.items()
             if not (out / p).is_file() or (out / p).read_text() != text]
    if out.is_dir():
        for f in out.rglob("*"):
            rel = f.relative_to(out)
            if f.is_file() and not skip & set(rel.parts) and rel not in want \
                    and f.suffix != ".pyc":
                diffs.append(f"{rel} (not in reference)")
    return sorted(diffs)


def build(reference: Path = ROOT / "reference", out: Path = ROOT / "assignments") -> list[Path]:
    written = []
    want = planned(reference)
    skip = _skip()
    for f in out.rglob("*") if out.is_dir() else []:
        rel = f.relative_to(out)
        if f.is_file() and not skip & set(rel.parts) and rel not in want:
            f.unlink()
    for rel, text in want.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.is_file() or dest.read_text() != text:
            dest.write_text(text)
            written.append(rel)
    return written
