"""Hidden check for lecture 2: the student's whole counting model on a random part of names.txt."""
from __future__ import annotations

import numpy as np

from ...check import Context, check
from ...data import read_words
from .checks import count_matrix, nll64


@check("bigram.pipeline")
def pipeline(ctx: Context):
    names = read_words()
    pick = ctx.rng.choice(len(names), int(ctx.params["fraction"] * len(names)), replace=False)
    words = [names[i] for i in sorted(pick)]
    k = float(ctx.rng.choice([0.0, 1.0, float(np.round(ctx.rng.uniform(0.1, 3), 3))]))
    got = ctx.number(ctx.probe("pipeline", words=words, k=k), "nll")
    N = count_matrix(words)
    want = nll64(words, (N + k) / (N + k).sum(1, keepdims=True))
    ctx.close(got, want, f"build_vocab → count_bigrams → probabilities(k={k}) → nll on "
              f"{len(words)} names")
    return f"NLL {want:.4f} on {len(words)} names, k={k}"
