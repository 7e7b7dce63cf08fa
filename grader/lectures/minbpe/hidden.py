"""Hidden minBPE checks: run on submissions, never shipped to students."""
from __future__ import annotations

from ...check import Context, check
from .checks import SPECIALS, _gpt4_check, corpus


@check("minbpe.gpt4_special")
def gpt4_special(ctx: Context):
    texts = []
    for _ in range(3):
        parts = [corpus(ctx.rng, "taylorswift.txt", 60) for _ in range(3)]
        names = [str(s) for s in ctx.rng.choice(SPECIALS, 3)]
        texts.append("".join(p + s for p, s in zip(parts, names)) + "end")
    _gpt4_check(ctx, texts, "all")
