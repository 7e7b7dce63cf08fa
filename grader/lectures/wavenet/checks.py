"""Checks for lecture 6 (WaveNet): the torch.nn-like layers, BatchNorm1d on 3-D input, the
lecture's shape walk, equality with the same model built from torch.nn modules (float64, same
weights, both BatchNorm variance conventions), eval mode, and a short training run."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...check import CheckFailed, Context, check
from ..batchnorm.checks import NOTE
from . import replay


def _t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


@check("wavenet.embedding")
def embedding(ctx: Context):
    V, D = int(ctx.rng.integers(5, 30)), int(ctx.rng.integers(2, 12))
    W, IX = ctx.rng.normal(0, 1, (V, D)), ctx.rng.integers(0, V, (4, 8))
    got = ctx.mapping(ctx.probe("embedding", weight=W, IX=IX), "Embedding",
                      ("out", "out_attr", "n_params", "is_weight"))
    out = ctx.array(got["out"], "Embedding(IX)", shape=(4, 8, D))
    ctx.close(out, W[IX], "Embedding(IX) = weight[IX]")
    ctx.close(ctx.array(got["out_attr"], "Embedding.out", shape=out.shape), out,
              "Embedding.out")
    ctx.ensure(got["n_params"] == 1 and got["is_weight"] is True,
               "Embedding.parameters() should be [weight]")


@check("wavenet.flatten")
def flatten(ctx: Context):
    b, C = int(ctx.rng.integers(2, 6)), int(ctx.rng.integers(2, 6))
    # a batch of one too (sampling feeds one context): only the middle dimension may go
    for B, T, n in ((b, 8, 2), (b, 8, 4), (b, 4, 2), (b, 8, 8), (b, 2, 2), (b, 6, 3), (1, 8, 8),
                    (1, 8, 2)):
        x = ctx.rng.normal(0, 1, (B, T, C))
        want = x.reshape(B, T // n, C * n)
        if T == n:
            want = want[:, 0, :]   # a single group: squeeze the middle dimension
        got = ctx.mapping(ctx.probe("flatten", x=x, n=n), "FlattenConsecutive",
                          ("out", "out_attr", "n_params"))
        out = ctx.array(got["out"], f"FlattenConsecutive({n}) of a {(B, T, C)} input",
                        shape=want.shape)
        ctx.close(out, want, f"FlattenConsecutive({n}) of a {(B, T, C)} input: each run of {n} "
                  "consecutive vectors concatenated")
        ctx.close(ctx.array(got["out_attr"], "FlattenConsecutive.out", shape=want.shape), want,
                  "FlattenConsecutive.out")
        ctx.ensure(got["n_params"] == 0, "FlattenConsecutive.parameters() should be empty")


@check("wavenet.sequential")
def sequential(ctx: Context):
    V, D, H = 11, 3, 7
    emb, w1 = ctx.rng.normal(0, 1, (V, D)), ctx.rng.normal(0, 0.5, (D, H))
    w2, b2 = ctx.rng.normal(0, 0.5, (H, V)), ctx.rng.normal(0, 0.5, V)
    IX = ctx.rng.integers(0, V, 5)
    got = ctx.mapping(ctx.probe("sequential", emb=emb, w1=w1, w2=w2, b2=b2, IX=IX),
                      "Sequential", ("out", "out_attr", "order"))
    want = np.tanh(emb[IX] @ w1) @ w2 + b2
    out = ctx.array(got["out"], "Sequential(layers)(IX)", shape=want.shape)
    ctx.close(out, want, "Sequential([Embedding, Linear, Tanh, Linear])(IX)")
    ctx.close(ctx.array(got["out_attr"], "Sequential.out", shape=want.shape), want,
              "Sequential.out")
    ctx.ensure(got["order"] == [0, 1, 2, 3],
               "Sequential.parameters(): expected every layer's parameters in layer order "
               f"(embedding weight, Linear weight, Linear weight, Linear bias), got {got['order']}")


# -- BatchNorm1d on 3-D input ----------------------------------------------------------------
class BatchNormNCL(nn.BatchNorm1d):
    """torch.nn.BatchNorm1d for (B, C) or (B, T, C) input (torch wants (N, C, L): transpose).

    With `unbiased`, training mode normalises with the unbiased batch variance as the lecture
    does: (x - mean) / sqrt(var_u + eps) = gamma' * (x - mean) / sqrt(var_b + eps') with
    k = m / (m - 1), gamma' = gamma / sqrt(k), eps' = eps / k (m values per channel), so torch's
    own kernel computes it and updates the running statistics exactly as usual.
    """
    unbiased = False

    def forward(self, x):
        x3 = x.transpose(1, 2) if x.ndim == 3 else x
        if self.training and self.unbiased:
            k = (x3.numel() / x3.shape[1]) / (x3.numel() / x3.shape[1] - 1)
            y = F.batch_norm(x3, self.running_mean, self.running_var, self.weight / math.sqrt(k),
                             self.bias, True, self.momentum, self.eps / k)
        else:
            y = super().forward(x3)
        return y.transpose(1, 2) if x.ndim == 3 else y


def _bn(dim: int, convention: str, gamma=None, beta=None) -> BatchNormNCL:
    bn = BatchNormNCL(dim).double()
    bn.unbiased = convention == "lecture"
    with torch.no_grad():
        if gamma is not None:
            bn.weight.copy_(_t(gamma))
            bn.bias.copy_(_t(beta))
    return bn


# The variance contract, the same in every check (and in lecture 4): the output may normalise
# with the unbiased batch variance (the lecture's x.var) or the biased one (torch's), but
# running_var always tracks the unbiased one, as both the lecture and torch.nn.BatchNorm1d do.
RUNNING_VAR = (" (running_var tracks the unbiased batch variance, as in the lecture and in "
               "torch.nn.BatchNorm1d, whichever variance the output is normalised with)")


@check("wavenet.batchnorm3d")
def batchnorm3d(ctx: Context):
    C = int(ctx.rng.integers(3, 10))
    shift, scale = ctx.rng.normal(0, 2, C), ctx.rng.uniform(0.5, 3, C)
    shapes = [(int(ctx.rng.integers(2, 9)), int(ctx.rng.integers(2, 9)), C) for _ in range(3)]
    shapes.append((int(ctx.rng.integers(8, 20)), C))
    batches = [ctx.rng.normal(0, 1, s) * scale + shift for s in shapes]
    eval_x = ctx.rng.normal(0, 1, (3, 4, C)) * scale + shift
    gamma, beta = ctx.rng.normal(1, 0.3, C), ctx.rng.normal(0, 0.5, C)
    got = ctx.mapping(ctx.probe("bn_run", dim=C, gamma=gamma, beta=beta, batches=batches,
                                eval_x=eval_x), "BatchNorm1d",
                      ("outs", "running_mean", "running_var", "eval_out"))
    ctx.ensure(all(type(got[k]) is list and len(got[k]) == len(batches)
                   for k in ("outs", "running_mean", "running_var", "in_graph")),
               f"expected {len(batches)} results for {len(batches)} training-mode forwards")
    for i, names in enumerate(got["in_graph"]):
        ctx.ensure(not names, f"BatchNorm1d: after training-mode forward {i}, "
                   f"{' and '.join(map(str, names))} "
                   "is part of autograd's graph (requires_grad or a grad_fn); expected plain "
                   "tensors: update the "
                   "running statistics under torch.no_grad(), or every step's graph stays "
                   "alive through them and memory grows without bound over a long run")
    found = None
    for convention in ("lecture", "torch"):
        bn = _bn(C, convention, gamma, beta)
        try:
            for i, x in enumerate(batches):
                what = f"BatchNorm1d on a {x.shape} input (batch {i})"
                with torch.no_grad():
                    want = bn(_t(x)).numpy()
                ctx.close(ctx.array(got["outs"][i], what, shape=want.shape), want,
                          f"{what}: output (statistics over dims 0 and 1 for 3-D input)",
                          lambda j, s=want.shape: f"index {np.unravel_index(j, s)}")
            found = convention
            break
        except CheckFailed as e:
            if convention == "torch":
                raise CheckFailed(f"{e}\n(expected one mean and one variance per channel, taken "
                                  "over dims (0, 1) of a (B, T, C) input and over dim 0 of a "
                                  "(B, C) one; normalise with the unbiased variance, as the "
                                  "lecture does, or the biased one, as torch does)") from None
    bn = _bn(C, found, gamma, beta)
    for i, x in enumerate(batches):
        with torch.no_grad():
            bn(_t(x))
        for key, want in (("running_mean", bn.running_mean), ("running_var", bn.running_var)):
            ctx.close(ctx.array(got[key][i], key, shape=(C,)), want.numpy(),
                      f"BatchNorm1d: {key} after the training-mode forward of a {x.shape} input"
                      + (RUNNING_VAR if key == "running_var" else ""))
    bn.eval()
    with torch.no_grad():
        want = bn(_t(eval_x)).numpy()
    ctx.close(ctx.array(got["eval_out"], "eval-mode output", shape=want.shape), want,
              "BatchNorm1d on a 3-D input in eval mode (running statistics)")
    return NOTE[found].replace("x.var(0)", "x.var((0, 1))")


# -- the hierarchical model ------------------------------------------------------------------
def _walk(cfg) -> list[list]:
    """The lecture's shape walk for a batch of 4."""
    B, T, out = 4, cfg["block_size"], [["Embedding", [4, cfg["block_size"], cfg["n_embd"]]]]
    width = cfg["n_embd"]
    while T > 1:
        T //= 2
        shape = [B, T] if T > 1 else [B]
        out += [["FlattenConsecutive", shape + [width * 2]], ["Linear", shape + [cfg["n_hidden"]]],
                ["BatchNorm1d", shape + [cfg["n_hidden"]]], ["Tanh", shape + [cfg["n_hidden"]]]]
        width = cfg["n_hidden"]
    return out + [["Linear", [B, cfg["vocab_size"]]]]


def n_params(cfg) -> int:
    V, E, H = cfg["vocab_size"], cfg["n_embd"], cfg["n_hidden"]
    L = int(math.log2(cfg["block_size"]))
    return V * E + 2 * E * H + (L - 1) * 2 * H * H + L * 2 * H + H * V + V


def _state(ctx: Context, cfg, got, what: str) -> list[np.ndarray]:
    """A state (replay.layout) from the worker's list of arrays, sizes checked."""
    want = replay.layout(cfg)
    ctx.ensure(type(got) is list and len(got) == len(want),
               f"{what}: expected {len(want)} tensors ({', '.join(n for n, _, _ in want)}), got "
               f"{len(got) if type(got) is list else type(got).__name__}")
    out = []
    for (name, shape, _), a in zip(want, got):
        a = ctx.array(a, f"{what}: {name}", kinds="f")
        out.append(a.reshape(shape) if a.size == int(np.prod(shape))
                   else ctx.array(a, f"{what}: {name}", shape=shape))
    return out


def shape_walk(ctx: Context, cfg) -> str:
    IX = ctx.rng.integers(0, cfg["vocab_size"], (4, cfg["block_size"]))
    got = ctx.mapping(ctx.probe("shapes", cfg=cfg, IX=IX), "model",
                      ("layers", "out", "n_params", "emb_weight", "emb_out"))
    want = _walk(cfg)
    ctx.ensure(type(got["layers"]) is list and len(got["layers"]) == len(want),
               f"build_model{tuple(cfg.values())} should have {len(want)} layers "
               f"({', '.join(k for k, _ in want)}), got "
               f"{len(got['layers']) if type(got['layers']) is list else got['layers']!r}")
    for i, (g, w) in enumerate(zip(got["layers"], want)):
        ctx.ensure(g == w, f"layer {i}: expected {w[0]} with output shape {tuple(w[1])}, got "
                   f"{g[0]} with output shape {tuple(g[1])} (block_size {cfg['block_size']}, "
                   "batch of 4)")
    ctx.ensure(got["n_params"] == n_params(cfg),
               f"the model should have {n_params(cfg):,} parameters, got {got['n_params']:,}")
    # the walk is this model's, on this batch: its first layer's output is its own weight[IX]
    W = ctx.array(got["emb_weight"], "Embedding.weight",
                  shape=(cfg["vocab_size"], cfg["n_embd"]), kinds="f")
    ctx.close(ctx.array(got["emb_out"], "Embedding.out", shape=W[IX].shape, kinds="f"), W[IX],
              "the first layer's output on the grader's batch vs Embedding.weight[IX]")
    # build_model's last layer starts "less confident": at init the loss is close to the
    # uniform -ln(1/vocab_size). Averaged over every label (no label drawn: its noise let a
    # last layer left unscaled pass), the reference is ~0.002 above it, unscaled ~0.1-0.25.
    logits = ctx.array(got["logits"], "model(X) at initialisation",
                       shape=(IX.shape[0], cfg["vocab_size"]), kinds="f")
    lt = torch.tensor(logits, dtype=torch.float64)
    loss = float((torch.logsumexp(lt, 1) - lt.mean(1)).mean())
    gap, uniform = ctx.params["init_loss_gap"], math.log(cfg["vocab_size"])
    ctx.ensure(abs(loss - uniform) < gap,
               f"build_model at initialisation: loss {loss:.3f} averaged over every label, "
               f"expected within {gap} of the uniform ln {cfg['vocab_size']} = {uniform:.3f} "
               "(tolerance init_loss_gap; scale the last "
               "layer's weights down so the first predictions are not confidently wrong)")
    return f"{n_params(cfg):,} parameters"


@check("wavenet.shapes")
def shapes(ctx: Context):
    return shape_walk(ctx, ctx.params["lecture"])


def _weights(ctx: Context, cfg):
    """Random weights for every layer of the model, in layer order (Linear weight: (in, out))."""
    V, E, H = cfg["vocab_size"], cfg["n_embd"], cfg["n_hidden"]
    out = [{"weight": ctx.rng.normal(0, 1, (V, E))}]
    width = E
    for _ in range(int(math.log2(cfg["block_size"]))):
        out.append({"weight": ctx.rng.normal(0, 1, (2 * width, H)) * (5 / 3) / math.sqrt(2 * width),
                    "bias": None})
        out.append({"gamma": ctx.rng.normal(1, 0.2, H), "beta": ctx.rng.normal(0, 0.2, H)})
        width = H
    out.append({"weight": ctx.rng.normal(0, 1, (H, V)) * 0.5 / math.sqrt(H),
                "bias": ctx.rng.normal(0, 0.1, V)})
    return out


class Flatten(nn.Module):
    def forward(self, x):
        B, T, C = x.shape
        x = x.reshape(B, T // 2, C * 2)
        return x.squeeze(1) if x.shape[1] == 1 else x


def torch_model(cfg, weights, convention: str) -> nn.Sequential:
    """The same network from torch.nn modules (nn.Linear stores weight.T)."""
    mods, it = [], iter(weights)
    emb = nn.Embedding(cfg["vocab_size"], cfg["n_embd"]).double()
    with torch.no_grad():
        emb.weight.copy_(_t(next(it)["weight"]))
        mods.append(emb)
        for _ in range(int(math.log2(cfg["block_size"]))):
            w = next(it)["weight"]
            lin = nn.Linear(*w.shape, bias=False).double()
            lin.weight.copy_(_t(w).T)
            bn = next(it)
            mods += [Flatten(), lin, _bn(cfg["n_hidden"], convention, bn["gamma"], bn["beta"]),
                     nn.Tanh()]
        last = next(it)
        lin = nn.Linear(*last["weight"].shape).double()
        lin.weight.copy_(_t(last["weight"]).T)
        lin.bias.copy_(_t(last["bias"]))
        mods.append(lin)
    return nn.Sequential(*mods)


def run_torch(cfg, weights, convention, X, Y, eval_X):
    model = torch_model(cfg, weights, convention)
    logits = []
    for k, Xb in enumerate(X):
        out = model(torch.tensor(Xb))
        logits.append(out.detach().numpy())
        if k == 0:
            F.cross_entropy(out, torch.tensor(Y[0])).backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    model.eval()
    with torch.no_grad():
        return logits, grads, model(torch.tensor(eval_X)).numpy()


def _forward(ctx: Context):
    cfg = ctx.params["small"]
    weights = _weights(ctx, cfg)
    X = [ctx.rng.integers(0, cfg["vocab_size"], (int(b), cfg["block_size"]))
         for b in ctx.rng.integers(8, 32, 3)]
    Y = [ctx.rng.integers(0, cfg["vocab_size"], len(x)) for x in X]
    eval_X = ctx.rng.integers(0, cfg["vocab_size"], (6, cfg["block_size"]))
    got = ctx.mapping(ctx.probe("forward", cfg=cfg, weights=weights, X=X, Y=Y, eval_X=eval_X),
                      "model", ("logits", "grads", "eval", "eval_one"))
    ctx.ensure(type(got["logits"]) is list and len(got["logits"]) == len(X),
               f"expected logits for {len(X)} batches")
    return cfg, weights, X, Y, eval_X, got


def _convention(ctx: Context, cfg, weights, X, Y, eval_X, got):
    """Run the torch model under the variance convention the student's first logits follow
    (the lecture's when neither matches). Deeper levels' running statistics depend on it."""
    first = ctx.array(got["logits"][0], "logits", shape=(len(X[0]), cfg["vocab_size"]))
    results = {c: run_torch(cfg, weights, c, X, Y, eval_X) for c in ("lecture", "torch")}
    found = next((c for c, r in results.items()
                  if np.allclose(first, r[0][0], rtol=ctx.tol.rtol, atol=ctx.tol.atol)), "lecture")
    return found, results[found]


@check("wavenet.torch_equiv")
def torch_equiv(ctx: Context):
    cfg, weights, X, Y, eval_X, got = _forward(ctx)
    found, (logits, grads, _) = _convention(ctx, cfg, weights, X, Y, eval_X, got)
    for k, want in enumerate(logits):
        ctx.close(ctx.array(got["logits"][k], "logits", shape=want.shape), want,
                  f"training-mode logits of batch {k} vs the same model from torch.nn modules "
                  f"(BatchNorm1d on (N, C, L), variance as {found})",
                  lambda i, v=cfg["vocab_size"]: f"row {i // v}, class {i % v}")
    names = ["Embedding.weight"] + [n for lv in range(int(math.log2(cfg["block_size"])))
                                    for n in (f"level {lv} Linear.weight", f"level {lv} gamma",
                                              f"level {lv} beta")] + \
        ["last Linear.weight", "last Linear.bias"]
    ctx.ensure(type(got["grads"]) is list and len(got["grads"]) == len(grads),
               f"model.parameters() should list {len(grads)} tensors ({', '.join(names)})")
    for name, g, want in zip(names, got["grads"], grads):
        ctx.ensure(g is not None, f"{name} got no gradient")
        want = want.T if name.endswith("Linear.weight") else want
        g = ctx.array(g, f"grad of {name}")
        ctx.close(g.reshape(want.shape) if g.size == want.size else g, want,
                  f"gradient of the loss w.r.t. {name} vs torch")
    return NOTE[found].replace("x.var(0)", "x.var((0, 1))")


@check("wavenet.eval_mode")
def eval_mode(ctx: Context):
    cfg, weights, X, Y, eval_X, got = _forward(ctx)
    _, (_, _, want) = _convention(ctx, cfg, weights, X, Y, eval_X, got)
    out = ctx.array(got["eval"], "eval-mode logits", shape=want.shape)
    ctx.close(out, want, f"eval-mode logits after {len(X)} training-mode batches (BatchNorm uses "
              "its running statistics; " + RUNNING_VAR[2:],
              lambda i, v=cfg["vocab_size"]: f"row {i // v}")
    one = ctx.array(got["eval_one"], "eval-mode logits of one row", shape=(1, cfg["vocab_size"]))
    ctx.close(one[0], out[0], "in eval mode a row's logits must not depend on the rest of the "
              "batch: model(X[:1]) vs model(X)[0]")


# -- training --------------------------------------------------------------------------------
def _split(ctx: Context, block_size: int):
    """names.txt split 90/10 by a permutation only the parent knows; (X, Y) for each part."""
    from ...data import read_words
    words = read_words()
    stoi = {s: i + 1 for i, s in enumerate(sorted(set("".join(words))))}
    stoi["."] = 0
    order = ctx.rng.permutation(len(words))
    n1 = int(0.9 * len(words))

    def dataset(ws):
        X, Y = [], []
        for w in ws:
            context = [0] * block_size
            for ch in w + ".":
                X.append(context)
                Y.append(stoi[ch])
                context = context[1:] + [stoi[ch]]
        return np.array(X), np.array(Y)
    return dataset([words[i] for i in order[:n1]]), dataset([words[i] for i in order[n1:]])


def _first(excess: np.ndarray):
    bad = np.flatnonzero(excess > 0)
    return (int(bad[0]), bad.size) if bad.size else (None, 0)


def _excess(got: np.ndarray, want: np.ndarray, tol) -> np.ndarray:
    """How far each value is outside tolerance (> 0: outside; NaN counts as outside)."""
    ex = np.abs(got - want) - (tol.atol + tol.rtol * np.abs(want))
    return np.where(np.isnan(ex), np.inf, ex)


@check("wavenet.train")
def train(ctx: Context):
    """The run the parent asked for, verified step by step: the parent chooses the initial
    weights, the batches and a learning rate that drops at a step the worker cannot guess; the
    worker returns every loss and its state after each segment; the parent replays every
    segment from the state before it (all segments side by side, replay.py) and computes the val
    loss itself, from its own replay of the last segment, on examples the worker never sees."""
    p = ctx.params
    cfg, steps, seg, bs = p["model"], p["steps"], p["segment"], p["batch_size"]
    (Xtr, Ytr), (Xval, Yval) = _split(ctx, cfg["block_size"])
    sub = ctx.rng.choice(len(Xval), p["val_size"], replace=False)
    Xval, Yval = Xval[sub], Yval[sub]
    weights = _weights(ctx, cfg)
    ix = ctx.rng.integers(0, len(Xtr), (steps, bs))
    drop = int(ctx.rng.integers(*p["decay_range"]))
    lrs = np.where(np.arange(steps) < drop, p["lr"], p["lr_after"])
    got = ctx.mapping(ctx.probe("train", cfg=cfg, weights=weights, X=Xtr[ix], Y=Ytr[ix],
                                lrs=[float(v) for v in lrs], segment=seg),
                      "training", ("losses", "checkpoints"))
    losses = ctx.numbers(got["losses"], "losses", steps)
    n_seg = steps // seg
    cps = got["checkpoints"]
    ctx.ensure(type(cps) is list and len(cps) == n_seg,
               f"expected the model's state after each of the {n_seg} segments of {seg} steps")
    cps = [_state(ctx, cfg, c, f"state after step {(k + 1) * seg}") for k, c in enumerate(cps)]
    # the worker trains in float32: its first state is the parent's weights rounded to float32
    starts = [[a.astype(np.float32).astype(np.float64) for a in replay.from_weights(cfg, weights)]]
    starts += cps[:-1]
    X = Xtr[ix].reshape(n_seg, seg, bs, -1)
    Y = Ytr[ix].reshape(n_seg, seg, bs)
    L = lrs.reshape(n_seg, seg)
    tol, names = ctx.tol, [n for n, _, _ in replay.layout(cfg)]
    tried = {}
    for convention in ("lecture", "torch"):     # the variance the output normalises with
        want, ends = replay.train(cfg, starts, X, Y, L, convention)
        want = want.reshape(-1)
        loss_ex = _excess(losses, want, tol)
        cp_ex = np.array([max(_excess(c[j], e[j], tol).max() for j in range(len(names)))
                          for c, e in zip(cps, ends)])
        tried[convention] = (want, ends, loss_ex, cp_ex)
        if not (loss_ex > 0).any() and not (cp_ex > 0).any():
            break
    # the convention that matched, else the one that matches longer (to explain the failure)
    convention = max(tried, key=lambda c: _first(tried[c][2])[0] if (tried[c][2] > 0).any()
                     else steps + 1 - (tried[c][3] > 0).sum())
    want, ends, loss_ex, cp_ex = tried[convention]
    i, n_bad = _first(loss_ex)
    k, n_bad_cp = _first(cp_ex)
    if i is not None or k is not None:
        sched = (f"lr {p['lr']:g} for steps 0..{drop - 1}, {p['lr_after']:g} from step {drop} "
                 "on")
        if i is not None and (k is None or i < (k + 1) * seg):
            start = i // seg * seg
            origin = "the grader's initial weights" if start == 0 else \
                f"your state after step {start}"
            head = (f"step {i}: minibatch loss {losses[i]:.6g}, expected {want[i]:.6g} "
                    f"(replayed from {origin}; lr {lrs[i]:g})")
        else:
            j = max(range(len(names)), key=lambda j: _excess(cps[k][j], ends[k][j], tol).max())
            ex = _excess(cps[k][j], ends[k][j], tol)
            at = int(np.argmax(ex))
            head = (f"the state after step {(k + 1) * seg}: {names[j]} at "
                    f"{tuple(int(v) for v in np.unravel_index(at, ex.shape))} is "
                    f"{cps[k][j].ravel()[at]:.6g}, expected {ends[k][j].ravel()[at]:.6g}")
        raise CheckFailed(
            f"training diverges from the run the grader asked for ({tol}); first at {head}. "
            f"{n_bad} of {steps} steps and {n_bad_cp} of {n_seg} saved states outside tolerance "
            f"(variance as {convention}; {sched}). The training loop is the grader's: your "
            "layers must compute with the weights it sets and change them only through it.")
    val = replay.loss(cfg, ends[-1], Xval, Yval)   # the parent's own replay of the last segment
    ctx.ensure(val < p["max_val_loss"],
               f"after {steps} steps the val loss (eval mode, {len(Xval)} held-out examples, "
               f"computed by the grader from the trained weights) is {val:.3f}, above the "
               f"required {p['max_val_loss']}")
    return f"val loss {val:.2f} < {p['max_val_loss']} (every step replayed)"
