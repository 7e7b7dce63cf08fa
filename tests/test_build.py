"""`zth build`: stubs come from the reference, and assignments/ is kept in sync."""
from __future__ import annotations

import ast

import pytest
from conftest import ASSIGNMENTS, REFERENCE

from grader.build import BuildError, build, stale, strip_solutions


def test_assignments_are_in_sync_with_reference():
    assert stale() == [], "assignments/ is out of date: run `zth build` and commit"


def test_stale_detects_an_edited_stub(tmp_path):
    out = tmp_path / "assignments"
    build(REFERENCE, out)
    assert stale(REFERENCE, out) == []
    f = out / "micrograd" / "engine.py"
    f.write_text(f.read_text() + "\n# edited\n")
    (out / "micrograd" / "extra.py").write_text("x = 1\n")
    assert stale(REFERENCE, out) == ["micrograd/engine.py", "micrograd/extra.py (not in reference)"]


def test_regions_become_stubs_keeping_signatures_and_docstrings():
    src = (REFERENCE / "micrograd" / "engine.py").read_text()
    stub = strip_solutions(src)
    assert "### BEGIN SOLUTION" not in stub and "### END SOLUTION" not in stub
    assert stub.count("raise NotImplementedError()") == src.count("### BEGIN SOLUTION")
    assert "def backward(self):" in stub and "topological" not in stub.split("def backward")[1]
    assert '"""Fill in .grad of every node' in stub
    ast.parse(stub)  # still valid Python


def test_every_stub_file_is_valid_python():
    for f in ASSIGNMENTS.rglob("*.py"):
        ast.parse(f.read_text(), str(f))


@pytest.mark.parametrize("text,msg", [
    ("x\n### END SOLUTION\n", "END SOLUTION without BEGIN"),
    ("### BEGIN SOLUTION\nx\n", "never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
])
def test_malformed_markers_are_errors(text, msg):
    with pytest.raises(BuildError, match=msg):
        strip_solutions(text)


def test_no_hidden_check_id_reaches_the_student_files(course):
    hidden = [c.id for lec in course.lectures.values() for c in lec.checks
              if c.visibility == "hidden"]
    assert hidden
    for f in ASSIGNMENTS.rglob("*"):
        if f.is_file() and f.suffix in (".py", ".ipynb", ".md"):
            text = f.read_text()
            assert not [h for h in hidden if h in text], f"{f} names a hidden check"
