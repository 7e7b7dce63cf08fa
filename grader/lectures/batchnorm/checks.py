"""Checks for lecture 4 (activations, gradients, BatchNorm): layers vs torch in float64, the
lecture's initialisation (pre-activation std, saturation, loss at init), the diagnostics as data,
and E02 (folding BatchNorm into the Linear before it)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ...check import CheckFailed, Context, check

LAYERS = ("Linear", "Tanh")


def _t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# -- Linear and Tanh -------------------------------------------------------------------------
@check("batchnorm.linear")
def linear(ctx: Context):
    fan_in, fan_out = 400, 300
    n, a, b = int(ctx.rng.integers(4, 12)), int(ctx.rng.integers(3, 9)), int(ctx.rng.integers(2, 7))
    W, bias, x = ctx.rng.normal(0, 1, (a, b)), ctx.rng.normal(0, 1, b), ctx.rng.normal(0, 1, (n, a))
    got = ctx.mapping(ctx.probe("linear", fan_in=fan_in, fan_out=fan_out, weight=W, bias=bias,
                                x=x), "Linear", ("init_weight", "init_bias", "nobias_is_none",
                                                 "n_params", "out", "out_attr", "tanh",
                                                 "tanh_attr"))
    w = ctx.array(got["init_weight"], f"Linear({fan_in}, {fan_out}).weight",
                  shape=(fan_in, fan_out))
    ctx.close(ctx.array(got["init_bias"], "Linear.bias", shape=(fan_out,)), np.zeros(fan_out),
              "Linear.bias at init (zeros)")
    std, want = float(w.std()), 1 / math.sqrt(fan_in)
    gains = {"1/sqrt(fan_in)": want, "(5/3)/sqrt(fan_in)": want * 5 / 3}
    found = [name for name, s in gains.items() if abs(std / s - 1) < 0.05]
    ctx.ensure(bool(found) and abs(float(w.mean())) < 5 * want / math.sqrt(w.size),
               f"Linear.__init__: Linear({fan_in}, {fan_out}).weight has mean {w.mean():.4f}, "
               f"std {std:.4f}; expected a normal draw with mean 0 and std 1/sqrt(fan_in) = "
               f"{want:.4f} (Kaiming init; the network applies the tanh gain)")
    ctx.ensure(got["nobias_is_none"] is True, "Linear(..., bias=False).bias should be None")
    ctx.ensure(got["n_params"] == [2, 1, 0],
               f"parameters() should list [weight, bias] for Linear, [weight] for "
               f"Linear(bias=False) and nothing for Tanh: got {got['n_params']} tensors")
    out = ctx.array(got["out"], "Linear(x)", shape=(n, b))
    ctx.close(out, x @ W + bias, "Linear(x) = x @ weight + bias")
    ctx.close(ctx.array(got["out_attr"], "Linear.out", shape=(n, b)), out,
              "Linear.out (the last output, kept for the diagnostics)")
    ctx.close(ctx.array(got["tanh"], "Tanh(x)", shape=(n, a)), np.tanh(x), "Tanh(x)")
    ctx.close(ctx.array(got["tanh_attr"], "Tanh.out", shape=(n, a)), np.tanh(x), "Tanh.out")
    return f"weight std {found[0]}"


# -- BatchNorm1d -----------------------------------------------------------------------------
def _bn_inputs(ctx: Context, steps: int, eps=None, momentum=None):
    dim = int(ctx.rng.integers(4, 16))
    sizes = ctx.rng.integers(8, 48, steps)
    shift, scale = ctx.rng.normal(0, 2, dim), ctx.rng.uniform(0.5, 3, dim)
    batches = [ctx.rng.normal(0, 1, (int(n), dim)) * scale + shift for n in sizes]
    eval_x = ctx.rng.normal(0, 1, (int(ctx.rng.integers(1, 8)), dim)) * scale + shift
    gamma, beta = ctx.rng.normal(1, 0.3, dim), ctx.rng.normal(0, 0.5, dim)
    args = {"dim": dim, "gamma": gamma, "beta": beta, "batches": batches, "eval_x": eval_x}
    if eps is not None:
        args.update(eps=eps, momentum=momentum)
    got = ctx.mapping(ctx.probe("bn_run", **args), "BatchNorm1d",
                      ("outs", "running_mean", "running_var", "eval_out", "eval_mean",
                       "eval_var", "n_params"))
    for key in ("outs", "running_mean", "running_var"):
        ctx.ensure(type(got[key]) is list and len(got[key]) == steps,
                   f"expected {steps} results for {steps} training-mode forwards")
    return args, got


def _oracle(args, eps: float, momentum: float):
    """torch's functional batch_norm: outputs under both variance conventions, running stats."""
    dim = args["dim"]
    rm, rv = torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)
    gamma, beta = _t(args["gamma"]), _t(args["beta"])
    lecture, biased, means, vars_ = [], [], [], []
    for x in args["batches"]:
        x = _t(x)
        xhat = (x - x.mean(0)) / torch.sqrt(x.var(0) + eps)   # the lecture: unbiased
        lecture.append((gamma * xhat + beta).numpy())
        # torch: biased variance in the output, unbiased one in running_var
        biased.append(F.batch_norm(x, rm, rv, gamma, beta, True, momentum, eps).numpy())
        means.append(rm.numpy().copy())
        vars_.append(rv.numpy().copy())
    eval_out = F.batch_norm(_t(args["eval_x"]), rm, rv, gamma, beta, False, momentum, eps)
    return {"lecture": lecture, "torch": biased, "running_mean": means, "running_var": vars_,
            "eval_out": eval_out.numpy()}


def _convention(ctx: Context, got, want, what: str) -> str:
    """Which variance convention the outputs follow (each batch must follow the same one)."""
    outs = [ctx.array(o, f"{what}, batch {i}", shape=w.shape)
            for i, (o, w) in enumerate(zip(got["outs"], want["lecture"]))]
    for name in ("lecture", "torch"):
        if all(np.allclose(o, w, rtol=ctx.tol.rtol, atol=ctx.tol.atol)
               for o, w in zip(outs, want[name])):
            return name
    for i, o in enumerate(outs):  # explain the first batch that matches neither
        if not any(np.allclose(o, want[name][i], rtol=ctx.tol.rtol, atol=ctx.tol.atol)
                   for name in ("lecture", "torch")):
            try:
                ctx.close(o, want["lecture"][i], f"{what}, batch {i} ({o.shape[0]} rows)")
            except CheckFailed as e:
                raise CheckFailed(f"{e}\n(expected gamma * (x - mean) / sqrt(var + eps) + beta "
                                  "with the batch's mean and variance over dim 0: the unbiased "
                                  "variance x.var(0), as in the lecture, or the biased one, as "
                                  "in torch.nn.BatchNorm1d)") from None
    raise CheckFailed(f"{what}: the outputs follow neither variance convention consistently")


NOTE = {"lecture": "normalises with the unbiased batch variance x.var(0), as in the lecture",
        "torch": "normalises with the biased batch variance, as torch.nn.BatchNorm1d does"}


@check("batchnorm.bn_train")
def bn_train(ctx: Context):
    args, got = _bn_inputs(ctx, 3)
    ctx.ensure(got["n_params"] == 2, f"BatchNorm1d.parameters() should be [gamma, beta], got "
               f"{got['n_params']} tensors")
    want = _oracle(args, 1e-5, 0.1)
    return NOTE[_convention(ctx, got, want, "BatchNorm1d in training mode")]


def _running(ctx: Context, got, want, note: str) -> None:
    graph = got.get("in_graph")
    ctx.ensure(type(graph) is list and len(graph) == len(want["running_mean"]),
               "expected, per training-mode forward, which running statistics joined the graph")
    for i, names in enumerate(graph):
        ctx.ensure(not names, f"BatchNorm1d: after training-mode forward {i}, "
                   f"{' and '.join(map(str, names))} "
                   "is part of autograd's graph (requires_grad or a grad_fn); expected plain "
                   "tensors: update the "
                   "running statistics under torch.no_grad(), or every step's graph stays "
                   "alive through them")
    for i in range(len(want["running_mean"])):
        for key in ("running_mean", "running_var"):
            ctx.close(ctx.array(got[key][i], key, shape=want[key][i].shape), want[key][i],
                      f"BatchNorm1d: {key} after {i + 1} training-mode forward(s) {note}")


@check("batchnorm.bn_running")
def bn_running(ctx: Context):
    args, got = _bn_inputs(ctx, 5)
    _running(ctx, got, _oracle(args, 1e-5, 0.1),
             "(running = (1 - momentum) * running + momentum * batch, momentum 0.1; "
             "running_var tracks the unbiased batch variance)")


@check("batchnorm.bn_eval")
def bn_eval(ctx: Context):
    args, got = _bn_inputs(ctx, 3)
    want = _oracle(args, 1e-5, 0.1)
    for key, name in (("eval_mean", "running_mean"), ("eval_var", "running_var")):
        ctx.close(ctx.array(got[key], name, shape=(args["dim"],)), want[name][-1],
                  f"BatchNorm1d: {name} after an eval-mode forward (eval mode must not update "
                  "it)")
    ctx.close(ctx.array(got["eval_out"], "BatchNorm1d(x) in eval mode",
                        shape=want["eval_out"].shape), want["eval_out"],
              "BatchNorm1d(x) in eval mode (training = False: normalise with the running stats)",
              lambda i: f"row {i // args['dim']}, feature {i % args['dim']}")


def _bn_grads(x, gamma, beta, g, convention: str, eps: float = 1e-5) -> dict:
    """torch autograd through batch_norm (training mode) for an upstream gradient g."""
    x, gamma, beta = (_t(a).requires_grad_() for a in (x, gamma, beta))
    if convention == "torch":
        y = F.batch_norm(x, None, None, gamma, beta, True, 0.1, eps)
    else:
        y = gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta
    (y * _t(g)).sum().backward()
    return {"x": x.grad.numpy(), "gamma": gamma.grad.numpy(), "beta": beta.grad.numpy()}


@check("batchnorm.bn_backward")
def bn_backward(ctx: Context):
    dim = int(ctx.rng.integers(4, 16))
    shift, scale = ctx.rng.normal(0, 2, dim), ctx.rng.uniform(0.5, 3, dim)
    sizes = [int(n) for n in ctx.rng.integers(4, 40, 2)]
    batches = [ctx.rng.normal(0, 1, (n, dim)) * scale + shift for n in sizes]
    grads = [ctx.rng.normal(0, 1, (n, dim)) for n in sizes]   # the upstream dL/dout
    gamma, beta = ctx.rng.normal(1, 0.3, dim), ctx.rng.normal(0, 0.5, dim)
    got = ctx.probe("bn_backward", dim=dim, gamma=gamma, beta=beta, batches=batches,
                    grads=grads)
    ctx.ensure(type(got) is list and len(got) == len(batches),
               f"expected gradients for {len(batches)} backward passes")
    found = None
    for i, (x, g, reply) in enumerate(zip(batches, grads, got)):
        reply = ctx.mapping(reply, "BatchNorm1d gradients", ("x", "gamma", "beta"))
        for k in ("x", "gamma", "beta"):
            ctx.ensure(reply[k] is not None,
                       f"BatchNorm1d: no gradient reached {k} through the training-mode "
                       f"forward (batch {i}); expected one: {k} must take part in the output's "
                       "graph"
                       + (" (is it .detach()ed or copied in forward?)"
                          if k != "x" else ""))
        want = {c: _bn_grads(x, gamma, beta, g, c) for c in ("lecture", "torch")}
        arrays = {}
        for k, shape in (("x", x.shape), ("gamma", (dim,)), ("beta", (dim,))):
            a = ctx.array(reply[k], f"{k}.grad", kinds="f")
            arrays[k] = a.reshape(shape) if a.size == int(np.prod(shape)) else \
                ctx.array(a, f"{k}.grad", shape=shape)   # (1, dim) for (dim,) is fine
        order = [found] if found else ["lecture", "torch"]
        match = next((c for c in order if all(
            np.allclose(arrays[k], want[c][k], rtol=ctx.tol.rtol, atol=ctx.tol.atol)
            for k in arrays)), None)
        if match is None:
            c = order[0]
            what = (f"after backpropagating a random upstream gradient through BatchNorm1d in "
                    f"training mode (batch {i}, {x.shape[0]} rows, variance as {c}"
                    + (", as in the earlier batch)" if found else ")"))
            for k in ("beta", "gamma", "x"):   # in chain order: beta's gradient is the simplest
                ctx.close(arrays[k], want[c][k], f"{k}.grad {what}",
                          lambda j, d=dim, two=(k == "x"): f"row {j // d}, feature {j % d}"
                          if two else f"feature {j}")
            raise CheckFailed(f"the gradients {what} match neither variance convention "
                              "consistently (x.grad, gamma.grad and beta.grad must all follow "
                              "the variance the forward normalised with)")
        found = match
    return "x.grad, gamma.grad, beta.grad equal autograd's; the forward " + NOTE[found]


# -- the network at initialisation -----------------------------------------------------------
def _net_forward(C, kinds, params, X, convention: str, eps: float = 1e-5) -> list[np.ndarray]:
    """The parent's own training-mode forward through the student's parameters."""
    x = C[X].reshape(len(X), -1)
    outs = []
    for kind, p in zip(kinds, params):
        if kind == "Linear":
            x = x @ p["weight"] + (0 if p["bias"] is None else p["bias"])
        elif kind == "BatchNorm1d":
            var = x.var(0, ddof=1 if convention == "lecture" else 0)
            x = p["gamma"] * (x - x.mean(0)) / np.sqrt(var + eps) + p["beta"]
        else:
            x = np.tanh(x)
        outs.append(x)
    return outs


def _sized(ctx: Context, value, what: str, shape: tuple) -> np.ndarray:
    """A float array of this many values ((1, n) for (n,) is fine), as `shape`."""
    a = ctx.array(value, what, kinds="f")
    return a.reshape(shape) if a.size == int(np.prod(shape)) else ctx.array(a, what, shape=shape)


def _init_net(ctx: Context, batchnorm: bool, batch: int):
    """The student's network at init: its parameters (checked for shape) and the parent's own
    forward through them on a batch X the parent drew; the reply's layer outputs must equal that
    forward, so they come from this X and these parameters, not from another run."""
    p = ctx.params
    X = ctx.rng.integers(0, p["vocab_size"], (batch, p["block_size"]))
    got = ctx.mapping(ctx.probe("init_net", vocab_size=p["vocab_size"],
                                block_size=p["block_size"], n_embd=p["n_embd"],
                                n_hidden=p["n_hidden"], n_layers=p["n_layers"],
                                batchnorm=batchnorm, X=X), "build_mlp",
                      ("kinds", "outs", "C", "params"))
    kinds = got["kinds"]
    unit = ["Linear", "BatchNorm1d", "Tanh"] if batchnorm else ["Linear", "Tanh"]
    want = unit * p["n_layers"] + unit[:-1]
    ctx.ensure(kinds == want, f"build_mlp(batchnorm={batchnorm}) should give the layers {want}, "
               f"got {kinds}")
    ctx.ensure(type(got["outs"]) is list and type(got["params"]) is list
               and len(got["outs"]) == len(got["params"]) == len(kinds),
               f"expected one output and one parameter set per layer ({len(kinds)})")
    C = ctx.array(got["C"], "C", shape=(p["vocab_size"], p["n_embd"]), kinds="f")
    sizes = [p["n_embd"] * p["block_size"]] + [p["n_hidden"]] * p["n_layers"] + [p["vocab_size"]]
    params, width = [], sizes[0]
    fan = iter(sizes[1:])
    for i, (kind, got_p) in enumerate(zip(kinds, got["params"])):
        names = {"Linear": ("weight", "bias"), "BatchNorm1d": ("gamma", "beta")}.get(kind, ())
        got_p = ctx.mapping(got_p, f"layer {i} ({kind}) parameters", names)
        if kind == "Linear":
            fan_out = next(fan)
            shapes = {"weight": (width, fan_out), "bias": (fan_out,)}
            width = fan_out
        else:
            shapes = {"gamma": (width,), "beta": (width,)}
        params.append({k: None if k == "bias" and got_p[k] is None else
                       _sized(ctx, got_p[k], f"layer {i} ({kind}).{k}", shapes[k])
                       for k in names})
    outs = [ctx.array(o, f"output of layer {i} ({k})", kinds="f")
            for i, (o, k) in enumerate(zip(got["outs"], kinds))]
    ours = None
    for convention in ("lecture", "torch") if batchnorm else ("lecture",):
        ours = _net_forward(C, kinds, params, X, convention)
        if all(o.shape == w.shape and np.allclose(o, w, rtol=ctx.tol.rtol, atol=ctx.tol.atol)
               for o, w in zip(outs, ours)):
            return kinds, ours, params
    for i, (o, w, k) in enumerate(zip(outs, ours, kinds)):   # the first layer that differs
        ctx.close(o, w, f"build_mlp(batchnorm={batchnorm}): output of layer {i} ({k}) on the "
                  "grader's batch vs the same forward recomputed from your parameters")
    raise CheckFailed("the layer outputs do not follow from the layers' parameters")


@check("batchnorm.init_stats")
def init_stats(ctx: Context):
    p = ctx.params
    kinds, outs, params = _init_net(ctx, False, p["batch"])
    pre = [float(o.std(ddof=1)) for o, k in zip(outs, kinds) if k == "Linear"]
    sat = [float((np.abs(o) > 0.97).mean()) for o, k in zip(outs, kinds) if k == "Tanh"]
    lo, hi = p["std_range"]
    table = ", ".join(f"{s:.2f}" for s in pre[:-1])
    ctx.ensure(all(lo <= s <= hi for s in pre[1:-1]),
               f"build_mlp(batchnorm=False): at init, the pre-activation std of Linear layers "
               f"1..{len(pre) - 1} is {table}; expected within [{lo}, {hi}] for layers "
               f"2..{len(pre) - 1}, all down the deep tanh stack (shrinking: the tanh gain 5/3 "
               "is missing; growing: check 1/sqrt(fan_in))")
    worst = max(sat)
    ctx.ensure(worst <= p["max_saturated"],
               f"build_mlp(batchnorm=False): at init, {worst:.0%} of a tanh layer's units are "
               "saturated (|t| > 0.97); expected at most "
               f"{p['max_saturated']:.0%}: per layer "
               + ", ".join(f"{s:.0%}" for s in sat))
    # the gain itself: std(weight) * sqrt(fan_in) of every Linear that feeds a tanh. A ReLU
    # gain (sqrt 2) still keeps the stds above within their range, so measure it directly.
    gains = [float(q["weight"].std() * math.sqrt(q["weight"].shape[0]))
             for q, k, nxt in zip(params, kinds, kinds[1:] + [None])
             if k == "Linear" and nxt == "Tanh"]
    tol = p["gain_rtol"]
    bad = [i for i, g in enumerate(gains) if abs(g / (5 / 3) - 1) > tol]
    ctx.ensure(not bad, "build_mlp(batchnorm=False): at init, std(weight) * sqrt(fan_in) of "
               "the Linear layers that feed a tanh is "
               + ", ".join(f"{g:.3f}" for g in gains)
               + f"; expected tanh's gain 5/3 = 1.667 (within {tol:.0%})"
               + f" (first off: Linear layer {bad[0] + 1 if bad else 0}"
               + (f"; {math.sqrt(2):.3f} is ReLU's gain sqrt(2))"
                  if bad and abs(gains[bad[0]] / math.sqrt(2) - 1) <= tol else ")"))
    return (f"hidden pre-activation std {min(pre[1:-1]):.1f}..{max(pre[1:-1]):.1f}, "
            f"gain {min(gains):.2f}..{max(gains):.2f}")


@check("batchnorm.init_loss")
def init_loss(ctx: Context):
    p = ctx.params
    best = math.log(p["vocab_size"])
    for batchnorm in (False, True):
        _, outs, _ = _init_net(ctx, batchnorm, p["batch"])
        logits = torch.tensor(outs[-1], dtype=torch.float64)
        Y = torch.tensor(ctx.rng.integers(0, p["vocab_size"], logits.shape[0]))
        loss = F.cross_entropy(logits, Y).item()
        ctx.ensure(abs(loss - best) <= p["loss_atol"],
                   f"build_mlp(batchnorm={batchnorm}): the loss at init is {loss:.4f}, expected "
                   f"about -ln(1/{p['vocab_size']}) = {best:.4f} (within {p['loss_atol']}): "
                   "scale the last layer down (its weight, or the last BatchNorm's gamma, "
                   "by 0.1) so the network starts out unsure")
    return f"loss at init ~ ln {p['vocab_size']}"


# -- diagnostics -----------------------------------------------------------------------------
def _diag_inputs(ctx: Context):
    n_embd, block, hidden, vocab, n = 6, 3, [20, 16, 12], 27, 64
    sizes = [n_embd * block] + hidden + [vocab]
    C = ctx.rng.normal(0, 1, (vocab, n_embd))
    weights = [(ctx.rng.normal(0, 1, (a, b)) * (5 / 3) / math.sqrt(a), ctx.rng.normal(0, .1, b))
               for a, b in itertools.pairwise(sizes)]
    X, Y = ctx.rng.integers(0, vocab, (n, block)), ctx.rng.integers(0, vocab, n)
    lr = float(ctx.rng.choice([0.1, 0.01]))
    got = ctx.mapping(ctx.probe("diagnostics", C=C, weights=[list(w) for w in weights], X=X, Y=Y,
                                lr=lr), "diagnostics",
                      ("activations", "gradients", "weights", "updates"))
    # the oracle: the same forward and backward in torch
    params = [_t(C).requires_grad_()]
    for W, b in weights:
        params += [_t(W).requires_grad_(), _t(b).requires_grad_()]
    x = params[0][torch.tensor(X)].view(n, -1)
    tanhs = []
    for k in range(len(weights)):
        x = x @ params[1 + 2 * k] + params[2 + 2 * k]
        if k < len(weights) - 1:
            x = torch.tanh(x)
            x.retain_grad()
            tanhs.append((2 * k + 1, x))
    F.cross_entropy(x, torch.tensor(Y)).backward()
    return got, params, tanhs, lr


def _rows(ctx: Context, got, want: list[dict], what: str, index: str) -> None:
    ctx.ensure(type(got) is list and len(got) == len(want),
               f"{what}: expected {len(want)} entries (one per "
               f"{'Tanh layer' if index == 'layer' else '2-D parameter'}), got "
               f"{len(got) if type(got) is list else type(got).__name__}")
    for g, w in zip(got, want):
        g = ctx.mapping(g, what, tuple(w))
        ctx.ensure(g[index] == w[index], f"{what}: expected an entry for {index} {w[index]}, got "
                   f"{g[index]!r}")
        for key in w:
            if key != index:
                ctx.close(ctx.number(g[key], f"{what} {key}"), w[key],
                          f"{what}: {key} of {index} {w[index]}")


@check("batchnorm.activation_stats")
def activation_stats(ctx: Context):
    got, _, tanhs, _ = _diag_inputs(ctx)
    want = [{"layer": i, "mean": t.mean().item(), "std": t.std().item(),
             "saturated": (t.abs() > 0.97).double().mean().item()} for i, t in tanhs]
    _rows(ctx, got["activations"], want, "activation_stats", "layer")


@check("batchnorm.grad_stats")
def grad_stats(ctx: Context):
    got, params, tanhs, lr = _diag_inputs(ctx)
    want = [{"layer": i, "mean": t.grad.mean().item(), "std": t.grad.std().item()}
            for i, t in tanhs]
    _rows(ctx, got["gradients"], want, "gradient_stats", "layer")
    want = [{"index": i, "mean": p.grad.mean().item(), "std": p.grad.std().item(),
             "ratio": (p.grad.std() / p.std()).item()}
            for i, p in enumerate(params) if p.ndim == 2]
    _rows(ctx, got["weights"], want, "weight_stats", "index")
    want = [((lr * p.grad).std() / p.detach().std()).log10().item()
            for p in params if p.ndim == 2]
    ctx.close(ctx.numbers(got["updates"], "update_ratios", len(want)), want,
              f"update_ratios(parameters, lr={lr}): log10 update:data ratio",
              lambda i: f"2-D parameter {i}")


# -- E02: fold BatchNorm into the Linear before it ----------------------------------------------
@check("batchnorm.fold")
def fold(ctx: Context):
    blocks, dims = [], [int(ctx.rng.integers(3, 8))]
    for k in range(3):
        fan_in, fan_out = dims[-1], int(ctx.rng.integers(3, 8))
        dims.append(fan_out)
        blocks.append({"weight": ctx.rng.normal(0, 1, (fan_in, fan_out)),
                       "bias": None if k == 0 else ctx.rng.normal(0, 1, fan_out),
                       "gamma": ctx.rng.normal(1, 0.3, fan_out),
                       "beta": ctx.rng.normal(0, 0.5, fan_out),
                       "mean": ctx.rng.normal(0, 1, fan_out),
                       "var": ctx.rng.uniform(0.2, 3, fan_out),
                       "eps": float(ctx.rng.choice([1e-5, 1e-3]))})
    got = ctx.probe("fold", blocks=blocks)
    ctx.ensure(type(got) is list and len(got) == len(blocks),
               "expected one folded Linear per (Linear, BatchNorm1d) pair")
    for k, (b, g) in enumerate(zip(blocks, got)):
        g = ctx.mapping(g, "folded Linear", ("weight", "bias"))
        fan_in, fan_out = b["weight"].shape
        W = ctx.array(g["weight"], f"block {k}: folded weight", shape=(fan_in, fan_out))
        bias = ctx.array(g["bias"], f"block {k}: folded bias", shape=(fan_out,))
        x = ctx.rng.normal(0, 1, (fan_in + 4, fan_in))
        h = x @ b["weight"] + (0 if b["bias"] is None else b["bias"])
        unfolded = b["gamma"] * (h - b["mean"]) / np.sqrt(b["var"] + b["eps"]) + b["beta"]
        ctx.close(x @ W + bias, unfolded,
                  f"fold_batchnorm(linear, bn), block {k} "
                  f"({'no bias' if b['bias'] is None else 'with bias'}, "
                  f"eps {b['eps']:g}): x @ folded.weight + folded.bias vs BatchNorm1d(eval) of "
                  "Linear(x)", lambda i, n=fan_out: f"row {i // n}, feature {i % n}")
