"""Hidden check for lecture 5: the manual gradients at another batch size and width, so code that
hard-codes the lecture's 32 rows or 64 units (or 1/31 for Bessel's correction) is caught."""
from __future__ import annotations

from ...check import CheckFailed, Context, check
from .checks import STAGES, compare, explain, fused_hprebn, fused_logits, setup, stage_inputs


@check("backprop.other_shapes")
def other_shapes(ctx: Context):
    cfg = ctx.params["config"]
    values, grads = setup(ctx.rng, cfg)
    note = f" (batch {cfg['batch_size']}, n_hidden {cfg['n_hidden']})"
    for stage, (_, outs) in STAGES.items():
        got = ctx.probe("stage", module_name="ninja", fn_name=stage,
                        inputs=stage_inputs(stage, values, grads))
        got = ctx.mapping(got, f"{stage}()", tuple(f"d{o}" for o in outs))
        for name in outs:
            try:
                compare(ctx, got[f"d{name}"], grads[name], f"d{name}{note}")
            except CheckFailed as e:
                raise CheckFailed(f"{explain(ctx, got, grads, name, stage)}{note}\n{e}") from None
    fused_logits(ctx, values, grads, note)
    fused_hprebn(ctx, values, grads, note)
    return "every gradient right at another batch size and width"
