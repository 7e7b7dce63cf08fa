"""Hidden checks for lecture 4: BatchNorm1d honours the eps and momentum it is given."""
from __future__ import annotations

from ...check import Context, check
from .checks import NOTE, _bn_inputs, _convention, _oracle, _running


@check("batchnorm.bn_momentum")
def bn_momentum(ctx: Context):
    eps, momentum = float(ctx.rng.choice([1e-3, 1e-2])), float(ctx.rng.uniform(0.2, 0.6))
    args, got = _bn_inputs(ctx, 4, eps=eps, momentum=momentum)
    want = _oracle(args, eps, momentum)
    _convention(ctx, got, want, f"BatchNorm1d(dim, eps={eps:g}, momentum={momentum:.3f})")
    _running(ctx, got, want, f"with momentum={momentum:.3f} (not the default 0.1)")
    return NOTE[_convention(ctx, got, want, "BatchNorm1d")]
