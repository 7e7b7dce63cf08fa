"""Hidden check for lecture 3: the lecture's data preparation on a random part of names.txt."""
from __future__ import annotations

from ...check import Context, check
from ...data import read_words
from .checks import _check_dataset, split_words


@check("mlp.pipeline")
def pipeline(ctx: Context):
    names = read_words()
    pick = ctx.rng.choice(len(names), int(ctx.params["fraction"] * len(names)), replace=False)
    words = [names[i] for i in sorted(pick)]
    seed = int(ctx.rng.integers(10**6))
    got = ctx.probe("pipeline", words=words, seed=seed, block_size=3)
    ctx.ensure(type(got) is list and len(got) == 3, "expected a dataset for train, dev and test")
    sizes = [_check_dataset(ctx, g, part, 3, f"{name} (names split with seed {seed})")
             for g, part, name in zip(got, split_words(words, seed), ("train", "dev", "test"))]
    return f"{sum(sizes)} examples"
