"""Test cells: the link between a notebook and course.yaml's check ids.

An autograded test cell (nbgrader metadata `grade: true, solution: false`) names the checks it
stands for in calls to `check("<lecture>.<name>", ...)`. Its source is canonical, generated from
course.yaml: visible checks in a plain `check(...)` call, hidden checks inside
`### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS` (nbgrader strips that region from the released
notebook and, with our config, from feedback). Its points are the sum of its checks' points.

Pure functions on notebook dicts: used by `zth build`, `zth nbgrader init`, the autograde
preprocessors and the tests. No nbgrader import here.
"""
from __future__ import annotations

import ast
import re

from ..config import Course

HEADER = "# Autograded by the zth grader (sandboxed): run this cell to see the verdict."
IMPORT = "from grader.nb import check"
NO_VISIBLE = "check()  # this cell's checks are hidden: they run when your work is autograded"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
USE_IMPORT = "from grader.nb import use_package"
USE_CALL = 'use_package("{package}")  # ./{package}/ beside this notebook, or ../{package}/'
_USE = re.compile(r"^(from grader\.nb import use_package|use_package\(.*)\n?", re.M)
_ID = re.compile(r"""["']([a-z][a-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*)["']""")


class NotebookError(Exception):
    """A notebook does not match course.yaml; the message names the notebook and the cell."""


def source_text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    """An autograded test cell: graded, not a solution, code."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) \
        and not meta.get("solution")


def check_ids(source: str) -> list[str]:
    """Check ids named in a test cell's source, in order (string arguments of `check(...)`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return list(dict.fromkeys(_ID.findall(source)))
    ids = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
            ids += [a.value for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return list(dict.fromkeys(ids))


def _call(ids: list[str]) -> str:
    one_line = "check(" + ", ".join(f'"{i}"' for i in ids) + ")"
    if len(one_line) <= 99:
        return one_line
    return "check(\n" + "".join(f'    "{i}",\n' for i in ids) + ")"


def test_source(visible: list[str], hidden: list[str]) -> str:
    """The canonical source of a test cell for these checks."""
    lines = [HEADER, IMPORT, _call(visible) if visible else NO_VISIBLE]
    if hidden:
        lines += [BEGIN_HIDDEN, _call(hidden), END_HIDDEN]
    return "\n".join(lines)


def lecture_of(nb) -> str | None:
    """The lecture a notebook belongs to: the prefix of the check ids in its test cells."""
    for cell in nb["cells"]:
        if is_test_cell(cell):
            for cid in check_ids(source_text(cell)):
                return cid.split(".")[0]
    return None


def sync(nb, course: Course, name: str = "notebook") -> list[str]:
    """Make every test cell of `nb` canonical for course.yaml (in place); returns notes.

    Ids no longer in course.yaml are dropped; checks of the lecture that no cell names are
    appended to the last test cell, so a notebook always grades every check of its lecture. The
    setup cell gets its `use_package` line (no note: it is generated, like the test cells).
    """
    notes = []
    cells = [c for c in nb["cells"] if is_test_cell(c)]
    lid = lecture_of(nb)
    if lid is None:
        raise NotebookError(f"{name}: no autograded test cell names a check id")
    lec = course.lecture(lid)
    known = {c.id: c for c in lec.checks}
    seen: dict[str, str] = {}
    groups = []
    for cell in cells:
        gid = nbgrader_meta(cell).get("grade_id", "?")
        ids = []
        for cid in check_ids(source_text(cell)):
            if cid not in known:
                notes.append(f"{name}: cell {gid}: {cid} is not in course.yaml: dropped")
            elif cid in seen:
                raise NotebookError(f"{name}: {cid} is in cells {seen[cid]} and {gid}")
            else:
                seen[cid] = gid
                ids.append(cid)
        groups.append(ids)
    missing = [c.id for c in lec.checks if c.id not in seen]
    if missing:
        notes.append(f"{name}: {', '.join(missing)} had no test cell: added to the last one")
        groups[-1] += missing
    for cell, ids in zip(cells, groups):
        gid = nbgrader_meta(cell).get("grade_id", "?")
        if not ids:
            raise NotebookError(f"{name}: test cell {gid} names no check of {lid}")
        ids.sort(key=list(known).index)
        visible = [i for i in ids if known[i].visibility == "visible"]
        hidden = [i for i in ids if known[i].visibility == "hidden"]
        cell["source"] = test_source(visible, hidden)
        points = sum(known[i].points for i in ids)
        cell["metadata"]["nbgrader"]["points"] = int(points) if points == int(points) else points
    sync_setup(nb, lec.package)
    return notes


def setup_source(source: str, package: str) -> str:
    """The setup cell with `use_package` as its first statement (after any %magics), so the
    notebook imports its package wherever it was opened: beside the package, as nbgrader hands
    it out, or in the repository's assignments/notebooks/ with the package one folder up."""
    lines = _USE.sub("", source).split("\n")
    at = 0
    while at < len(lines) and lines[at].startswith("%"):
        at += 1
    lines[at:at] = [USE_IMPORT, USE_CALL.format(package=package)]
    return "\n".join(lines)


def sync_setup(nb, package: str) -> None:
    """Put `use_package` into the setup cell (grade id "setup", else the first code cell)."""
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    setup = next((c for c in code if nbgrader_meta(c).get("grade_id") == "setup"),
                 code[0] if code else None)
    if setup is not None:
        setup["source"] = setup_source(source_text(setup), package)


def test_cells(nb) -> dict[str, list[str]]:
    """grade_id -> check ids, for every test cell that names checks."""
    out = {}
    for cell in nb["cells"]:
        if is_test_cell(cell):
            ids = check_ids(source_text(cell))
            if ids:
                out[nbgrader_meta(cell)["grade_id"]] = ids
    return out
