"""Mutation testing (`zth mutate`): mutants come only from solution regions, apply cleanly, and
are graded with every check that can reach the mutated function."""
from __future__ import annotations

import ast
import json
import shutil

import pytest
from conftest import zth

from grader.config import ROOT, load_course
from grader.mutate import _ordered, checks_for, find_mutants, reach
from grader.runner import grade

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


def test_a_hidden_check_reaches_what_the_checks_helper_it_calls_reaches():
    """hidden.py delegates to helpers imported from checks.py (wavenet's other_block_size is
    shape_walk at block_size 16, minbpe's gpt4_special is _gpt4_check with special tokens): its
    reach must go through them, or scoping drops a check that sees the mutant."""
    wavenet = reach(ROOT / "reference" / "wavenet", "wavenet")
    assert "build_model" in wavenet["wavenet.other_block_size"]
    minbpe = reach(ROOT / "reference" / "minbpe", "minbpe")
    assert {"GPT4Tokenizer", "register_special_tokens", "decode"} <= minbpe["minbpe.gpt4_special"]


def _graded(run, lecture="bigram"):
    checks = {c.id: c for c in run.submissions[0].lectures[0].checks}
    timed = {k.rsplit("/", 1)[-1] for k in run.timings if k.count("/") == 2}
    return checks, timed


def test_stop_at_failure_skips_the_checks_after_a_kill_and_runs_all_on_a_pass(tmp_path):
    """The mutation-only mode: after the first check that does not pass, the later checks are
    recorded as not graded and never run (no time taken, no probe); a correct submission runs
    every check; and without the mode the same mutant runs them all."""
    course = load_course()
    pkg = ROOT / "reference" / "bigram"
    m = next(m for m in find_mutants(pkg) if m.id == "counts.py:28:16:0 -> 1")  # build_vocab
    sub = tmp_path / "m" / "bigram"
    shutil.copytree(pkg, sub, ignore=shutil.ignore_patterns("__pycache__"))
    (sub / m.file).write_text(m.apply((pkg / m.file).read_text()))
    only = {"bigram.vocab", "bigram.counts", "bigram.nll"}

    checks, timed = _graded(grade(course, sub.parent, ["bigram"], 0, only=only,
                                  stop_at_failure=True))
    assert checks["bigram.vocab"].status in ("failed", "error")     # the mutant's own exception
    for cid in ("bigram.counts", "bigram.nll"):
        assert checks[cid].status == "not_graded", checks[cid].message
        assert checks[cid].message == ("not graded: stopped at the first failing check "
                                       "(bigram.vocab)")
    assert timed == {"bigram.vocab"}                  # the later checks never ran

    checks, timed = _graded(grade(course, sub.parent, ["bigram"], 0, only=only))
    assert "stopped" not in checks["bigram.counts"].message and timed == only

    checks, timed = _graded(grade(course, ROOT / "reference", ["bigram"], 0, only=only,
                                  stop_at_failure=True))
    assert all(c.passed for c in checks.values()) and set(checks) == only and timed == only


def test_mutants_are_graded_cheapest_check_first_with_dependencies_before():
    course = load_course()
    ids = [c.id for c in course.lecture("gpt").checks]
    order = ["gpt.model", "gpt.trick"]              # gpt.model depends on gpt.block
    ordered = [c.id for c in _ordered(course, "gpt", order).lecture("gpt").checks]
    assert ordered[:2] == order and sorted(ordered) == sorted(ids)
    assert [c.id for c in course.lecture("gpt").checks] == ids      # the course is untouched
    from grader.runner import roots_first
    graded = [c.id for c in roots_first(_ordered(course, "gpt", order).lecture("gpt").checks)]
    assert graded.index("gpt.block") < graded.index("gpt.model") < graded.index("gpt.trick")


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
    for o in report["outcomes"]:                 # which check killed it, at each seed
        if o["verdict"] == "killed":
            assert o["killed_at"] and set(o["killed_at"].values()) == set(o["killed_by"])
            assert f"| `{o['id']}` |" in md
