"""Mutation testing (`zth mutate`): mutants come only from solution regions, apply cleanly, and
are graded with every check that can reach the mutated function."""
from __future__ import annotations

import ast
import json

import pytest
from conftest import zth

from grader.config import ROOT, load_course
from grader.mutate import checks_for, find_mutants, reach

TOY = '''\
def mean(xs):
    """toy.mean"""
    ### BEGIN SOLUTION
    total = 0
    for x in xs:
        total += x
    print(f"total {total + 1}")
    return total / len(xs) if len(xs) > 0 else -1.0
    ### END SOLUTION


def outside(a, b):
    return a + b
'''


def test_mutants_come_from_solution_regions_only_and_apply_cleanly(tmp_path):
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "stats.py").write_text(TOY)
    ms = find_mutants(pkg)
    ops = {m.operator for m in ms}
    assert {"+= -> =", "+= -> -=", "/ -> *", "> -> >=", "0 -> 1", "drop -"} <= ops
    assert all(m.function == "mean" for m in ms)            # never `outside`
    assert not [m for m in ms if m.line == 7]                # print/f-string output: equivalent
    for m in ms:
        new = m.apply(TOY)
        assert new != TOY
        ast.parse(new)
        assert m.diff(TOY).startswith("--- a/stats.py")
    assert len({m.id for m in ms}) == len(ms)


def test_every_mutant_of_the_course_is_reached_by_some_check():
    course = load_course()
    for lid, lec in course.lectures.items():
        pkg = ROOT / "reference" / lec.package
        ids = [c.id for c in lec.checks]
        reached = reach(pkg, lid)
        for m in find_mutants(pkg):
            assert checks_for(pkg, m, lid, ids, reached), (lid, m.id)


def test_scoping_keeps_the_checks_that_call_the_function():
    course = load_course()
    lec = course.lecture("bigram")
    pkg = ROOT / "reference" / lec.package
    ids = [c.id for c in lec.checks]
    reached = reach(pkg, "bigram")
    onehot = next(m for m in find_mutants(pkg) if m.function == "forward_onehot")
    scoped = checks_for(pkg, onehot, "bigram", ids, reached)
    assert "bigram.onehot" in scoped and len(scoped) < len(ids)


@pytest.mark.slow
def test_zth_mutate_writes_a_report(tmp_path):
    r = zth("mutate", "bigram", "--sample", "3", "--seed", "0", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "bigram.json").read_text())
    assert report["mutants_graded"] == 3
    assert (report["killed"] + report["timeout"] + report["survived"] + report["equivalent"]
            == 3)
    md = (tmp_path / "bigram.md").read_text()
    assert "| killed | timed out | survived | equivalent | score |" in md
    assert "score" in r.stdout
