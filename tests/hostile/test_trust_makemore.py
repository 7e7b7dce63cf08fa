"""Verify, don't trust (issue #15) for bigram and mlp: attacks that passed while the evidence or
the training run lived in the worker, each graded beside its honest twin (the reference).

- E03's `evaluate` lives in the parent (a callback over the wire): a sweep that peeks at the test
  split for every strength and then wipes any call log it can find in the worker still fails,
  and a sweep that floods the parent with calls is stopped at the bound.
- mlp.train is tied to the run the parent asked for: a loop that starts from weights of its own,
  or swaps other weights in once it has trained, scores 0 (the parent replays every segment from
  its own initial weights and the reported checkpoints, and takes the dev loss from its replay).
"""
from __future__ import annotations

import pytest
from conftest import REFERENCE, grade_path, mutant

from grader.sandbox import bwrap_works

LAYERS = ["bubblewrap", "process"] if bwrap_works() else ["process"]

SWEEP = "    best = strengths[dev_losses.index(min(dev_losses))]\n"
PEEK_AND_WIPE = SWEEP + (
    "    peeked = [evaluate(train, test, k) for k in strengths]  # looks at test m times\n"
    "    import gc\n"
    "    for obj in gc.get_objects():   # then erases every call log it can reach\n"
    "        if isinstance(obj, list) and obj and isinstance(obj[0], dict):\n"
    "            del obj[:]\n")
FLOOD = SWEEP + "    for _ in range(100_000):\n        evaluate(train, dev, best)\n"


@pytest.mark.parametrize("layer", LAYERS)
def test_e03_log_lives_in_the_parent(tmp_path, layer):
    honest = grade_path(REFERENCE, "bigram", isolation=layer, only={"bigram.e03_sweep"})
    assert honest["bigram.e03_sweep"].passed, honest["bigram.e03_sweep"].message
    peek = mutant(tmp_path / "peek", "bigram", {"exercises.py": [(SWEEP, PEEK_AND_WIPE)]})
    r = grade_path(peek, "bigram", isolation=layer, only={"bigram.e03_sweep"})["bigram.e03_sweep"]
    assert r.status == "failed" and r.points == 0, r.message
    assert "evaluated exactly once" in r.message and "evaluated 2 times" not in r.message


def test_e03_callbacks_are_bounded(tmp_path):
    flood = mutant(tmp_path, "bigram", {"exercises.py": [(SWEEP, FLOOD)]})
    r = grade_path(flood, "bigram", only={"bigram.e03_sweep"})["bigram.e03_sweep"]
    assert r.points == 0 and r.status == "error", r.message
    assert "more than" in r.message and "evaluate" in r.message

ASK_FOR_THE_TABLE = SWEEP + (
    "    from zth_worker.probes import callback\n"
    "    best = callback('table')  # no such oracle: refused, and the refusal is all it gets\n")


def test_e03_unknown_callback_is_refused_in_the_students_words(tmp_path):
    sub = mutant(tmp_path, "bigram", {"exercises.py": [(SWEEP, ASK_FOR_THE_TABLE)]})
    r = grade_path(sub, "bigram", only={"bigram.e03_sweep"})["bigram.e03_sweep"]
    assert r.status == "error" and r.points == 0, r.message
    assert "TypeError: the grader has no callback 'table' here" in r.message



def test_a_handlers_own_failure_is_the_graders_and_stops_the_worker():
    """A callback handler that raises (other than CallbackRefused) is a grader bug: it propagates
    in the parent, and the worker, which waits for an answer that will never come, is killed."""
    from grader.check import Context
    from grader.config import load_course
    from grader.sandbox import Worker, WorkerSpec

    course = load_course()
    cfg = next(c for c in course.lecture("bigram").checks if c.id == "bigram.e03_sweep")
    spec = WorkerSpec(lecture="bigram", package="bigram", package_dir=REFERENCE / "bigram",
                      memory_mb=4096, output_kb=64, reply_mb=16, preload=["torch"])
    worker = Worker(spec, LAYERS[-1])
    try:
        ctx = Context("bigram", cfg, course.tolerance_for("bigram", cfg), 1, 60.0, worker, {})

        def evaluate(train_words, eval_words, k):
            raise RuntimeError("a bug in the handler")
        with pytest.raises(RuntimeError, match="a bug in the handler"):
            ctx.probe("sweep", train=["ab"], dev=["ba"], test=["aa"], strengths=[0.5, 1.0],
                      callbacks={"evaluate": evaluate})
        assert not worker.alive() and len(ctx.calls) == 1
        # the next probe gets a fresh worker and its own log
        assert ctx.probe("sweep", train=["ab"], dev=["ba"], test=["aa"], strengths=[0.5, 1.0],
                         callbacks={"evaluate": lambda train_words, eval_words, k: 2.5})["best"]
        assert len(ctx.calls) == 5
    finally:
        worker.close()


LOOP = "    lossi = []\n"
TRAIN_CASES = {
    # ignores the parent's initial weights: starts every run from an init of its own
    "own_initial_weights": LOOP + (
        "    if not getattr(train, 'started', False):\n"
        "        train.started = True\n"
        "        g = torch.Generator().manual_seed(1)\n"
        "        with torch.no_grad():\n"
        "            for p in parameters:\n"
        "                p.copy_(torch.randn(p.shape, generator=g) * 0.1)\n"),
    # trains as asked, then puts other weights in place (e.g. ones trained offline)
    "weights_swapped_after_training": (
        "    return lossi\n",
        "    with torch.no_grad():\n"
        "        parameters[3].copy_(parameters[3].flip(0))\n"
        "    return lossi\n"),
}


@pytest.mark.parametrize(("case", "layer"), [(c, LAYERS[0]) for c in sorted(TRAIN_CASES)]
                         + [("own_initial_weights", la) for la in LAYERS[1:]])
def test_train_is_tied_to_the_parents_run(tmp_path, case, layer):
    edit = TRAIN_CASES[case]
    old, new = edit if isinstance(edit, tuple) else (LOOP, edit)
    sub = mutant(tmp_path, "mlp", {"train.py": [(old, new)]})
    r = grade_path(sub, "mlp", isolation=layer, only={"mlp.train"})["mlp.train"]
    assert r.status == "failed" and r.points == 0, r.message
    assert r.message.startswith("train: the run diverges from the specified one")
