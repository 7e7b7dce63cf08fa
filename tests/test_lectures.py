"""Every lecture the same way: the reference gets full marks (at several seeds in the slow tier),
the stubs score zero without a crash, and each buggy variant (tests/bugs/<lecture>.py) fails
exactly its checks, with the first line of the message naming the function that holds the bug
(issue #17). The lecture's own tests live beside it in tests/test_<lecture>.py."""
from __future__ import annotations

import importlib

import pytest
from conftest import (
    ASSIGNMENTS,
    REFERENCE,
    grade_path,
    mutant,
    names_the_place,
    planted_in,
    run_check,
)

from grader.config import load_course
from grader.runner import roots_first

COURSE = load_course()
LECTURES = list(COURSE.lectures)


def _bugs(lid: str) -> dict:
    try:
        return importlib.import_module(f"bugs.{lid}").BUGS
    except ModuleNotFoundError as e:      # test_every_lecture_has_buggy_variants says so
        if e.name != f"bugs.{lid}":
            raise
        return {}


BUGS = {lid: _bugs(lid) for lid in LECTURES}
CASES = [(lid, name) for lid in LECTURES for name in sorted(BUGS[lid])]
# long checks (training runs, the whole GPT-4 vocabulary): a variant runs them only when its
# Bug names them
LONG = {"micrograd.train", "mlp.train", "wavenet.train", "gpt.train", "minbpe.gpt4",
        "minbpe.gpt4_special"}
# what the reference's messages say beyond "passed": the lecture's numbers, the convention found
REFERENCE_SAYS = {
    "mlp.train": "(bound {})".format(next(c for c in COURSE.lecture("mlp").checks
                                          if c.id == "mlp.train").params["max_dev_loss"]),
    "batchnorm.bn_train": "unbiased",                     # the variance convention it found
    "backprop.dlogprobs": "dlogprobs | exact: True | approximate: True | maxdiff: 0",
    "wavenet.shapes": "76,579 parameters",
}
# variants whose failing check cannot say on its first line where the bug is; one line why.
NOT_NAMED: dict[tuple[str, str], str] = {}
NAMED = [c for c in CASES if c not in NOT_NAMED]
SEEDS = range(10)


def _ids(lid: str) -> list[str]:
    return [c.id for c in COURSE.lecture(lid).checks]


@pytest.mark.parametrize("lid", LECTURES)
def test_reference_gets_full_marks(lid):
    results = grade_path(REFERENCE, lid)
    _full_marks(lid, results)
    for cid, text in REFERENCE_SAYS.items():
        if cid in results:
            assert text in results[cid].message, (cid, results[cid].message)


def _full_marks(lid, results):
    assert list(results) == [c.id for c in roots_first(COURSE.lecture(lid).checks)]
    assert not {k: (r.status, r.message) for k, r in results.items() if not r.passed}
    for cfg in COURSE.lecture(lid).checks:
        r = results[cfg.id]
        assert r.points == r.max_points == cfg.points and r.bonus == cfg.bonus, cfg.id


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("lid", LECTURES)
def test_reference_gets_full_marks_at_any_seed(lid, seed):
    """Stochastic checks (training runs, sampling tests) must pass the reference whatever the
    seed: a failure here is a tolerance or a bound too tight in course.yaml."""
    _full_marks(lid, grade_path(REFERENCE, lid, seed=seed))


@pytest.mark.parametrize("lid", LECTURES)
def test_stub_submission_scores_zero_without_crash(lid):
    results = grade_path(ASSIGNMENTS, lid)
    assert set(results) == set(_ids(lid))
    assert {r.status for r in results.values()} == {"not_implemented"}
    assert sum(r.points for r in results.values()) == 0
    assert all("YOUR CODE HERE" in r.message for r in results.values())


@pytest.mark.parametrize("lid", LECTURES)
def test_every_lecture_has_buggy_variants(lid):
    """A lecture's planted bugs live in tests/bugs/<lecture>.py (`BUGS`, name -> Bug)."""
    assert BUGS[lid], f"tests/bugs/{lid}.py: no BUGS"


def _blocked(lid: str, roots: set[str], graded: set[str]) -> set[str]:
    """The graded checks that depend, directly or through others, on one of `roots`."""
    out: set[str] = set()
    for cfg in roots_first(COURSE.lecture(lid).checks):
        if cfg.id in graded and set(cfg.depends_on) & (roots | out):
            out.add(cfg.id)
    return out


@pytest.mark.parametrize(("lid", "bug"), CASES)
def test_buggy_variant_fails_exactly_its_checks(tmp_path, lid, bug):
    b = BUGS[lid][bug]
    fails, raises, named = b.ids(lid, "fails"), b.ids(lid, "raises"), b.ids(lid, "named")
    assert fails | raises and (fails | raises | named) <= set(_ids(lid)), (fails, raises, named)
    graded = (set(_ids(lid)) - LONG) | fails | raises
    results = grade_path(mutant(tmp_path, lid, b.edits), lid, only=graded)
    for k in fails:
        assert results[k].status == "failed" and results[k].points == 0, (k, results[k].message)
    for k in raises:
        r = results[k]
        assert r.status == "error" and r.points == 0 and "grader bug" not in r.message, \
            (k, r.message)
    blocked = _blocked(lid, fails | raises, graded)
    for k in blocked:
        assert results[k].status == "not_graded" and results[k].points == 0, \
            (k, results[k].message)
    wrong = {k: (r.status, r.message) for k, r in results.items()
             if k not in fails | raises | blocked and not r.passed}
    assert not wrong


def _named(lid: str, bug) -> set[str]:
    """The checks that must name the bug: the Bug's `named`, else the first failing one in
    report order."""
    return bug.ids(lid, "named") or {next(c.id for c in roots_first(COURSE.lecture(lid).checks)
                                          if c.id in bug.ids(lid, "fails") | bug.ids(lid,
                                                                                     "raises"))}


# three seeds in the default tier, the other seven of ten in the slow one
@pytest.mark.parametrize("seeds", [pytest.param(SEEDS[:3], id="3-seeds"),
                                   pytest.param(SEEDS[3:], id="7-more-seeds",
                                                marks=pytest.mark.slow)])
@pytest.mark.parametrize(("lid", "bug"), NAMED)
def test_first_line_names_the_function_that_holds_the_bug(tmp_path, lid, bug, seeds):
    """The name is derived from the reference (the function enclosing the planted edit), never
    written here; each named check says it on its first line, at every seed, and still shows
    what was expected (and the tolerance, for a numeric comparison)."""
    b = BUGS[lid][bug]
    sub = mutant(tmp_path, lid, b.edits)
    places = planted_in(lid, b.edits)
    for check_id in sorted(_named(lid, b)):
        for seed, (msg, _) in zip(seeds, run_check(sub, lid, check_id, seeds)):
            assert msg is not None, f"{check_id} passed at seed {seed}"
            first = msg.splitlines()[0]
            assert any(names_the_place(first, lid, *p) for p in places), \
                (check_id, seed, places, msg)
            # what was expected; or, where the student's code raised, its own traceback
            assert "tolerance" in msg or "expected" in msg \
                or "Traceback (your code only" in msg, (check_id, seed, msg)


def test_every_exempt_variant_exists_and_says_why():
    assert set(NOT_NAMED) <= set(CASES)
    assert all(0 < len(why) <= 70 for why in NOT_NAMED.values())
