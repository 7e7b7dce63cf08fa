"""Hidden GPT checks: run on submissions, never shipped to students."""
from __future__ import annotations

import math

import numpy as np

from ...check import Context, check
from ...config import Tolerance
from .checks import _cfg, _compare, _tokens, gpt_spec, make_weights, o_gpt, o_loss


@check("gpt.init_loss")
def init_loss(ctx: Context):
    cfg = _cfg(ctx)
    idx, targets = _tokens(ctx, cfg, 8), _tokens(ctx, cfg, 8)
    got = ctx.mapping(ctx.probe("init_loss", cfg=cfg, idx=idx, targets=targets),
                      "loss at initialisation", ("loss", "weights"))
    loss = ctx.number(got["loss"], "loss")
    spec = gpt_spec(cfg)
    W = got["weights"]
    ctx.ensure(type(W) is dict and set(W) == set(spec),
               "the model's parameters should have the lecture's names")
    for name, (_, shape) in spec.items():
        ctx.array(W[name], name, shape=shape, kinds="f")
    # the loss the student's model reports must be its own initial weights' loss on the tokens
    # drawn here (so it cannot be a number that is right anyway), and that loss about ln(vocab)
    ctx.close(loss, o_loss(o_gpt(W, idx, cfg), targets), "the loss your model reports vs the "
              "grader's forward pass on your model's initial weights",
              tol=Tolerance(**ctx.params["tie_tolerance"]))
    # the lecture's _init_weights, applied to every module: each Linear and Embedding weight
    # normal(0, init_std) (PyTorch's defaults are ~5x and 50x that; a loss near ln(vocab) alone
    # lets them pass at some seeds)
    init_std, rtol = float(ctx.params["init_std"]), float(ctx.params["init_std_rtol"])
    stds = {n: float(np.std(W[n])) for n, (kind, _) in spec.items()
            if kind in ("linear", "embedding")}
    worst = max(stds, key=lambda n: abs(stds[n] - init_std))
    bad = [n for n, v in stds.items() if abs(v - init_std) > rtol * init_std]
    ctx.ensure(not bad, f"GPTLanguageModel.__init__: {len(bad)} of {len(stds)} Linear and "
               f"Embedding weights at initialisation do not have the expected std {init_std:g} "
               f"(tolerance: rtol {rtol:g}, init_std_rtol); worst {worst}: std "
               f"{stds[worst]:.3g}")
    want = math.log(cfg["vocab_size"])
    std = float(np.std(W["blocks.0.sa.heads.0.key.weight"]))
    ctx.close(loss, want, f"loss at initialisation on random tokens (-ln(1/{cfg['vocab_size']}) "
              f"= {want:.3f}: no token favoured yet; your key weights have std {std:.3g})")
    return f"loss at init {loss:.2f}"



@check("gpt.dropout")
def dropout(ctx: Context):
    cfg = _cfg(ctx, dropout=0.5)
    W = make_weights(ctx.rng, gpt_spec(cfg))
    idx = _tokens(ctx, cfg, 2)
    got = ctx.mapping(ctx.probe("dropout", cfg=cfg, weights=W, idx=idx), "dropout",
                      ("eval", "train"))
    want = o_gpt(W, idx, cfg)
    for k in range(2):
        _compare(ctx, got["eval"][k], want, "logits in eval mode with dropout=0.5 (dropout "
                 "must be off: model.eval())")
    tr = [ctx.array(a, "logits in train mode", shape=tuple(want.shape), kinds="f")
          for a in got["train"]]
    ctx.ensure(not np.allclose(tr[0], want.numpy(), atol=1e-3) and not np.allclose(tr[0], tr[1]),
               "with dropout=0.5 in train mode the logits should be random (nn.Dropout in "
               "the heads, after proj and at the end of FeedForward)")
