"""gpt.train against a submission that swaps in weights trained offline (issue #15, item 4).

The old check trained the student's model in the worker and read `named_parameters()` at the
end, so a model that loads good weights at its last training step passed, even with attention
that does nothing. Now the parent picks the initial weights, the batches and the learning rates,
the worker reports the AdamW state after every segment, and the parent replays every segment
from the state before it: a swap breaks the chain at the segment it happens in.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import REFERENCE, mutant

from grader.config import load_course
from grader.data import read_text
from grader.lectures.gpt.checks import gpt_spec, init_weights, o_gpt, o_loss
from grader.oracle import reference
from grader.runner import grade

CFG = load_course().lecture("gpt").params["model"]
ITERS = next(c for c in load_course().lecture("gpt").checks if c.id == "gpt.train").params["iters"]
SWAP = ("        B, T = idx.shape\n        tok_emb",
        ("        B, T = idx.shape\n"
         "        if targets is not None and self.training:   # the attack\n"
         "            self._calls = getattr(self, '_calls', 0) + 1\n"
         f"            if self._calls == {ITERS}:\n"
         "                import os\n"
         "                import numpy as np\n"
         "                w = np.load(os.path.join(os.path.dirname(__file__), 'offline.npz'))\n"
         "                with torch.no_grad():\n"
         "                    for k, p in self.named_parameters():\n"
         "                        p.copy_(torch.from_numpy(w[k]))\n"
         "        tok_emb"))
NO_ATTENTION = ("        out = wei @ v      # (B, T, hs)\n", "        out = v * 0.0\n")


def _offline_weights() -> dict[str, np.ndarray]:
    """What a student could train at home: the reference GPT, 600 AdamW steps."""
    text = read_text("tinyshakespeare.txt")
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    data = torch.tensor([stoi[c] for c in text[:len(text) * 9 // 10]])
    torch.manual_seed(0)
    model = reference("gpt", "model").GPTLanguageModel(**CFG)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    T = CFG["block_size"]
    for _ in range(600):
        ix = torch.randint(len(data) - T - 1, (32,), generator=g)
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {k: v.detach().numpy().copy() for k, v in model.named_parameters()}


@pytest.mark.slow   # three 500-step runs and an offline one: ~1 min alone, several when shared
def test_weights_swapped_in_at_the_last_step_fail_with_or_without_working_attention(tmp_path):
    weights = _offline_weights()
    # the swapped-in weights are good: the grader's own forward gives a passing val loss
    text = read_text("tinyshakespeare.txt")
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    val = np.array([stoi[c] for c in text[len(text) * 9 // 10:]])
    ix = np.random.default_rng(0).integers(0, len(val) - 17, 256)
    x, y = val[ix[:, None] + np.arange(16)], val[ix[:, None] + np.arange(1, 17)]
    params = next(c for c in load_course().lecture("gpt").checks if c.id == "gpt.train").params
    assert set(weights) == set(gpt_spec(CFG)) and set(init_weights(np.random.default_rng(0),
                                                                     gpt_spec(CFG))) == set(weights)
    assert o_loss(o_gpt(weights, x, CFG), y) < params["max_val_loss"]
    batch = tmp_path / "batch"
    batch.mkdir()
    cases = {"swap_offline_weights": [SWAP],
             "no_attention_swap_offline_weights": [SWAP, NO_ATTENTION]}
    for name, edits in cases.items():
        sub = mutant(tmp_path / name, "gpt", {"model.py": edits})
        np.savez(sub / "gpt" / "offline.npz", **weights)
        shutil.move(str(sub), str(batch / name))
    shutil.copytree(REFERENCE / "gpt", batch / "honest" / "gpt")
    run = grade(load_course(), batch, ["gpt"], 11, batch=True, jobs=2, only={"gpt.train"})
    got = {s.student: s.lectures[0].checks[0] for s in run.submissions}
    assert got["honest"].passed, got["honest"].message
    swap = got["swap_offline_weights"]
    assert swap.status == "failed" and swap.points == 0
    # the swap happens at the last step: every earlier segment matches, the last one does not
    last = f"after step {ITERS}"
    assert f"1 of {ITERS // params['segment']} segments" in swap.message and last in swap.message \
        or f"step {ITERS - 1}" in swap.message, swap.message
    broken = got["no_attention_swap_offline_weights"]
    assert broken.status == "failed" and broken.points == 0
    # without attention every segment leaves the replay, not only the one with the swap
    n_seg = ITERS // params["segment"]
    assert f"{n_seg} of {n_seg} segments" in broken.message, broken.message
