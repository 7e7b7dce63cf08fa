"""Lecture 7 beyond tests/test_lectures.py: bonus and dependent checks, how failures read, the
lecture's configuration, the training threshold, reproduction."""
from __future__ import annotations

import json

import pytest
from bugs.gpt import BUGS
from conftest import REFERENCE, grade_path, mutant, zth

from grader.config import load_course
from grader.oracle import reference
from grader.runner import grade


def test_a_bonus_never_hides_a_failed_required_check(tmp_path):
    """One required check fails and the bonus passes: the bonus is not counted (its line says
    why), so the score stays below 100% and --fail-under 100 fails the job."""
    sub = mutant(tmp_path, "gpt", BUGS["generate_without_cropping"].edits)
    r = zth("grade", str(sub), "--lecture", "gpt", "--check", "gpt.generate", "--check",
            "gpt.batched_heads", "--seed", "3", "--fail-under", "100", "--format", "json", "-q")
    assert r.returncode == 3, r.stderr
    lec = json.loads(r.stdout)["submissions"][0]["lectures"][0]
    checks = {c["id"]: c for c in lec["checks"]}
    assert checks["gpt.generate"]["status"] == "error"   # the position table runs out
    bonus = checks["gpt.batched_heads"]
    assert bonus["status"] == "passed" and bonus["points"] == 0
    assert "bonus not counted" in bonus["message"] and "gpt.generate" in bonus["message"]
    assert (lec["points"], lec["max_points"]) == (0, 5)


def test_the_bonus_counts_on_top_when_every_required_check_passes():
    run = grade(load_course(), REFERENCE, ["gpt"], 3, only={"gpt.generate", "gpt.batched_heads"})
    lec = run.submissions[0].lectures[0]
    assert (lec.points, lec.max_points) == (10, 5)


def test_a_forward_bug_is_reported_once_where_it_lives_and_dependents_are_not_graded(tmp_path):
    """post-norm breaks Block: the checks that run the student's whole forward say they were
    not graded because of gpt.block, instead of blaming dropout, generation or training."""
    sub = mutant(tmp_path, "gpt", BUGS["post_norm"].edits)
    deps = {"gpt.model", "gpt.generate", "gpt.dropout", "gpt.train", "gpt.init_loss"}
    run = grade(load_course(), sub, ["gpt"], 5, only=deps | {"gpt.block", "gpt.feedforward"})
    checks = run.submissions[0].lectures[0].checks
    order = [c.id for c in checks]
    assert order.index("gpt.block") < min(order.index(d) for d in deps)   # the root first
    by_id = {c.id: c for c in checks}
    assert by_id["gpt.block"].status == "failed"
    assert by_id["gpt.model"].message == "not graded: depends on gpt.block, which failed"
    for d in deps - {"gpt.model"}:
        assert by_id[d].status == "not_graded" and by_id[d].points == 0
        assert by_id[d].message.startswith("not graded: depends on gpt.model") \
            and by_id[d].message.endswith("gpt.block, which failed"), by_id[d].message


def test_depends_on_must_name_another_check_of_the_lecture():
    from grader.config import DEFAULT_COURSE, ConfigError, parse_course
    text = DEFAULT_COURSE.read_text().replace("depends_on: [gpt.head]", "depends_on: [gpt.hed]", 1)
    with pytest.raises(ConfigError, match=r"gpt.multihead: depends_on names \['gpt.hed'\]"):
        parse_course(text)


def test_causality_failure_names_the_first_position_that_saw_the_future(tmp_path):
    edits = BUGS["no_causal_mask"].edits
    r = grade_path(mutant(tmp_path, "gpt", edits), "gpt", only={"gpt.causal"})["gpt.causal"]
    assert "Head is not causal" in r.message and "changed the output at position 0" in r.message


def test_head_failure_shows_tolerance_and_where(tmp_path):
    edits = BUGS["scale_by_n_embd"].edits
    r = grade_path(mutant(tmp_path, "gpt", edits), "gpt", only={"gpt.head"})["gpt.head"]
    assert "rtol=0.0001, atol=1e-05" in r.message and "position t=" in r.message
    assert "scaled_dot_product_attention" in r.message


@pytest.mark.slow
def test_short_training_run_needs_working_attention(tmp_path):
    """Attention that outputs nothing: the replay, which runs the lecture's GPT, leaves the
    student's run at once (the first step's loss differs), and the message names that step."""
    sub = mutant(tmp_path, "gpt", {"model.py": [("        out = wei @ v      # (B, T, hs)\n",
                                                 "        out = v * 0.0\n")]})
    r = grade_path(sub, "gpt", only={"gpt.train"})["gpt.train"]
    assert r.status == "failed" and "training leaves the run the grader asked for" in r.message
    assert "first at step" in r.message and "tolerance 0.02" in r.message
    # the loss curve of the run against the replay, with the first divergence marked
    (fig,) = r.figures
    assert fig["name"] == "training" and fig["svg"].lstrip().startswith("<?xml")
    assert "first divergence at step" in fig["svg"] and len(fig["svg"]) < 256_000


def test_lecture_configuration_has_10_79_million_parameters():
    model = reference("gpt", "model")
    n = sum(p.numel() for p in model.GPTLanguageModel().parameters())
    assert round(n / 1e6, 2) == 10.79


@pytest.mark.slow
def test_reproduce_cpu_preset_writes_summary_plot_and_sample(tmp_path):
    r = zth("reproduce", "gpt", "--preset", "smoke", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["val_loss"] < 3.5 and summary["params"] > 0
    assert (tmp_path / "loss.png").stat().st_size > 0 and (tmp_path / "sample.txt").read_text()
