"""Hidden check for lecture 2: the student's whole counting model on a random part of names.txt."""
from __future__ import annotations

import numpy as np

from ...check import Context, check
from ...config import Tolerance
from ...data import read_words
from .checks import count_matrix, nll64, pairs_of, probs32


@check("bigram.pipeline")
def pipeline(ctx: Context):
    names = read_words()
    pick = ctx.rng.choice(len(names), int(ctx.params["fraction"] * len(names)), replace=False)
    words = [names[i] for i in sorted(pick)]
    k = float(ctx.rng.choice([0.0, 1.0, float(np.round(ctx.rng.uniform(0.1, 3), 3))]))
    got = ctx.number(ctx.probe("pipeline", words=words, k=k), "nll")
    N = count_matrix(words)
    want = nll64(words, (N + k) / (N + k).sum(1, keepdims=True))
    # the lecture's loop adds ~57,000 float32 log probs one at a time: its rounding error on
    # these very words (the same loop run here, in float32) may pass the configured rtol; a
    # correct answer may be off by `loop_slack` times that much, never more
    logs = np.log(probs32(N, k)[tuple(np.array(pairs_of(words)).T)])
    loop = float(-np.cumsum(logs, dtype=np.float32)[-1] / np.float32(len(logs)))
    tol = Tolerance(rtol=ctx.tol.rtol,
                    atol=max(ctx.tol.atol, ctx.params["loop_slack"] * abs(loop - want)))
    ctx.close(got, want, f"build_vocab → count_bigrams → probabilities(k={k}) → nll on "
              f"{len(words)} names", tol=tol)
    return f"NLL {want:.4f} on {len(words)} names, k={k}"
