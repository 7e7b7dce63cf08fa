"""The room contract: each lecture's checks, probes, stubs and notebook agree with course.yaml.

A check names its probe by a string (`ctx.probe("x")`) and its id by a string
(`@check("lecture.x")`); nothing but this test ties those strings to the other side.
"""
from __future__ import annotations

import json
import re

import pytest

from grader.check import Context, GraderBug, registry
from grader.config import ROOT, load_course
from grader.lectures import (
    INSTRUCTOR_ONLY,
    LECTURES_DIR,
    SANDBOXED,
    known_probes,
    probes_called,
    probes_defined,
    rooms,
)
from grader.release import room_leaks

COURSE = load_course()
LECTURES = list(COURSE.lectures)


def test_every_lecture_has_a_room_and_every_room_a_lecture():
    assert rooms() == sorted(LECTURES)
    for lid in LECTURES:
        assert (LECTURES_DIR / lid / "checks.py").is_file()
        assert (LECTURES_DIR / lid / "probes.py").is_file()


@pytest.mark.parametrize("lid", LECTURES)
def test_every_probe_a_check_names_exists_on_the_sandboxed_side(lid):
    room = LECTURES_DIR / lid
    visible, hidden = probes_called(room / "checks.py"), probes_called(room / "hidden.py")
    shipped, instructor = probes_defined(room / "probes.py"), probes_defined(
        room / "hidden_probes.py")
    assert visible, "a room whose checks call no probe grades nothing"
    assert visible <= shipped, f"visible checks call probes a release lacks: {visible - shipped}"
    assert hidden <= shipped | instructor, f"unknown probes: {hidden - shipped - instructor}"
    # no hidden-only probe in probes.py (it would ship), no dead probe anywhere
    assert shipped <= visible, f"probes.py holds probes only hidden checks call: " \
                               f"{shipped - visible}"
    assert instructor <= hidden, f"hidden_probes.py holds unused probes: {instructor - hidden}"
    assert not shipped & instructor


@pytest.mark.parametrize("lid", LECTURES)
def test_every_check_id_has_a_check_function(lid):
    ids = {c.id for c in COURSE.lecture(lid).checks}
    registered = set(registry(lid))
    assert ids == registered, (ids - registered, registered - ids)
    hidden_ids = {c.id for c in COURSE.lecture(lid).checks if c.visibility == "hidden"}
    hidden_src = (LECTURES_DIR / lid / "hidden.py").read_text() if hidden_ids else ""
    for cid in hidden_ids:     # a hidden check lives in hidden.py, never in shipped checks.py
        assert f'@check("{cid}")' in hidden_src
        assert cid not in (LECTURES_DIR / lid / "checks.py").read_text()


@pytest.mark.parametrize("lid", LECTURES)
def test_every_visible_check_id_is_named_in_a_stub_docstring(lid):
    lec = COURSE.lecture(lid)
    stubs = "\n".join(f.read_text() for f in sorted((ROOT / "assignments" / lec.package)
                                                     .rglob("*.py")))
    for c in lec.checks:
        named = re.search(rf"(?<![\w.]){re.escape(c.id)}(?![\w])", stubs)
        if c.visibility == "hidden":
            assert not named, f"hidden id {c.id} in the stubs"
        else:
            assert named, f"no stub docstring names {c.id}"


def _test_cells(path):
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"]
            if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("lid", LECTURES)
def test_every_check_id_has_a_notebook_test_cell(lid):
    cells = "\n".join(_test_cells(ROOT / "reference" / "notebooks" / f"{lid}.ipynb"))
    called = set(re.findall(r"\"([a-z0-9_]+\.[A-Za-z0-9_]+)\"", cells))
    ids = {c.id for c in COURSE.lecture(lid).checks}
    assert ids <= called, f"checks with no notebook test cell: {ids - called}"
    hidden = {c.id for c in COURSE.lecture(lid).checks if c.visibility == "hidden"}
    shipped = "\n".join(_test_cells(ROOT / "assignments" / "notebooks" / f"{lid}.ipynb"))
    assert not {h for h in hidden if h in shipped}


def test_an_unknown_probe_name_is_a_grader_bug_not_the_students_error():
    cfg = COURSE.lecture("micrograd").checks[0]

    class NoWorker:
        def call(self, *a):
            raise AssertionError("an unknown probe must never reach the worker")

    ctx = Context("micrograd", cfg, COURSE.tolerance_for("micrograd", cfg), 1, 1.0, NoWorker(),
                  {})
    with pytest.raises(GraderBug, match="no_such_probe"):
        ctx.probe("no_such_probe")
    assert "eval_dags" in known_probes("micrograd")


def test_an_unknown_probe_is_reported_as_a_grader_bug(monkeypatch, tmp_path):
    """End to end: a check that asks for a probe its room lacks costs that check, with a message
    that says it is our bug."""
    from grader import check as check_mod
    from grader.runner import grade

    lec = COURSE.lecture("micrograd")
    target = lec.checks[0].id

    def broken(ctx):
        ctx.probe("no_such_probe")
    monkeypatch.setitem(check_mod._CHECKS, target, broken)
    run = grade(COURSE, ROOT / "reference", ["micrograd"], 7, only={target},
                isolation="process")
    r = run.submissions[0].lectures[0].checks[0]
    assert r.status == "error" and "grader bug" in r.message and "not your fault" in r.message


def test_release_scan_finds_instructor_only_files_and_hidden_only_probes(tmp_path):
    room = tmp_path / "lectures" / "toy"
    room.mkdir(parents=True)
    (room / "checks.py").write_text('@check("toy.a")\ndef a(ctx):\n    ctx.probe("used")\n')
    (room / "probes.py").write_text("@probe\ndef used(pkg):\n    pass\n\n\n"
                                    "@probe\ndef only_hidden(pkg):\n    pass\n")
    assert room_leaks(tmp_path / "lectures") == [
        "grader/lectures/toy/probes.py: probe 'only_hidden' is called by no shipped check"]
    for name in INSTRUCTOR_ONLY:
        (room / name).write_text("")
    found = room_leaks(tmp_path / "lectures")
    assert all(any(f"toy/{name}" in x for x in found) for name in INSTRUCTOR_ONLY)
    assert set(SANDBOXED) == {"probes.py", "hidden_probes.py"}


@pytest.mark.parametrize("lid", list(COURSE.lectures))
def test_hints_show_no_solution_code(lid):
    """Issue #17: a hint says what to look at, in words; it never hands over a solution line:
    no run of 20 characters in common with the code of the reference's solution regions, and
    nothing that reads as code (a call, an assignment, an index, a power, a keyword argument)."""
    import difflib
    import re
    solution = []
    for f in sorted((ROOT / "reference" / COURSE.lecture(lid).package).glob("*.py")):
        inside = False
        for line in f.read_text().splitlines():
            if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
                inside = line.strip() == "### BEGIN SOLUTION"
            elif inside and not line.strip().startswith("#"):
                solution.append(line.split("  #")[0].strip())      # code, not its comments
    text = "\n".join(solution)
    assert len(text) > 300
    code = re.compile(r"\w\(|\s=\s|\+=|-=|self\.|\[:|\[-?\d|\w\[\w|\w\.\w+\(|lambda|==|\*\*|"
                      r"\w=\S|\s@\s")
    for c in COURSE.lecture(lid).checks:
        if c.hint:
            m = difflib.SequenceMatcher(None, c.hint, text, autojunk=False).find_longest_match(
                0, len(c.hint), 0, len(text))
            assert m.size < 20, f"{c.id}: the hint holds {c.hint[m.a:m.a + m.size]!r}"
            assert not code.search(c.hint), (c.id, c.hint, code.search(c.hint).group())
