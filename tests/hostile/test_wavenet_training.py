"""wavenet.train is tied to the run the parent asked for (issue #15, classes 3 and 4): weights
changed behind the training loop's back (here: a model that, late in the run, swaps in "better"
weights, standing in for weights trained offline on all of names.txt) fail, though the val loss
they reach is fine; the honest twin, written the same way without the swap, keeps full marks.
The val examples never reach the worker."""
from __future__ import annotations

import pytest
from conftest import REFERENCE, grade_path, mutant

from grader.sandbox import bwrap_works

CALL = ("    def __call__(self, x):\n        ### BEGIN SOLUTION\n"
        "        for layer in self.layers:\n            x = layer(x)\n")


def _counting(swap: bool) -> str:
    """Sequential.__call__ that counts its calls; with `swap`, at call 950 it nudges every
    parameter (a stand-in for loading weights trained elsewhere)."""
    return ("    def __call__(self, x):\n        ### BEGIN SOLUTION\n"
            "        self.calls = getattr(self, 'calls', 0) + 1\n"
            + ("        if self.calls == 950:\n"
               "            with torch.no_grad():\n"
               "                for p in self.parameters():\n"
               "                    p.mul_(1.01)\n" if swap else "")
            + "        for layer in self.layers:\n            x = layer(x)\n")


LAYERS = ["bubblewrap", "process"] if bwrap_works() else ["process"]


@pytest.mark.parametrize("layer", [pytest.param(lay, marks=[] if i == 0 else [pytest.mark.slow])
                                   for i, lay in enumerate(LAYERS)])
def test_weights_swapped_in_late_fail_the_replay(tmp_path, layer):
    sub = mutant(tmp_path, "wavenet", {"nn.py": [(CALL, _counting(True))]})
    r = grade_path(sub, "wavenet", isolation=layer, only={"wavenet.train"})["wavenet.train"]
    assert r.status == "failed" and r.points == 0, r.message
    assert "diverges from the run the grader asked for" in r.message
    assert "step 9" in r.message or "after step 1000" in r.message, r.message


def test_honest_twin_keeps_full_marks(tmp_path):
    sub = mutant(tmp_path, "wavenet", {"nn.py": [(CALL, _counting(False))]})
    r = grade_path(sub, "wavenet", only={"wavenet.train"})["wavenet.train"]
    assert r.passed, r.message


def test_the_worker_never_sees_validation_data(monkeypatch, tmp_path):
    from grader.check import Context
    seen = {}
    real = Context.probe

    def spy(self, name, *a, **args):
        if name == "train":
            seen.update(args)
            raise RuntimeError("stop here")   # the request is all this test needs
        return real(self, name, *a, **args)
    monkeypatch.setattr(Context, "probe", spy)
    grade_path(REFERENCE, "wavenet", only={"wavenet.train"})
    assert set(seen) == {"cfg", "weights", "X", "Y", "lrs", "segment"}
