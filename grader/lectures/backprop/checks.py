"""Checks for lecture 5 (backprop ninja): every manual gradient against torch autograd, in
float64; each stage gets its upstream gradient from the grader (a random one the parent draws,
with autograd's vector-Jacobian product as the oracle), so one mistake does not hide the rest and
no gradient is zero by construction; a failure names the first wrong gradient in chain order.
The fused cross-entropy and BatchNorm backward; a manual training loop against the autograd one,
every step replayed, with a learning-rate drop at a step the worker cannot guess.

The probe runs the student's functions with autograd forbidden (see the probe module): a
submission that calls `.backward()` or `torch.autograd` there gets status "policy".
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...check import CheckFailed, Context, check

PARAMETERS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
# stage function -> (its inputs, the gradients it returns), in the lecture's order
STAGES = {
    "backward_loss": (("Yb", "logits", "logit_maxes", "counts", "counts_sum", "counts_sum_inv",
                       "probs"),
                      ("logprobs", "probs", "counts_sum_inv", "counts_sum", "counts",
                       "norm_logits", "logit_maxes", "logits")),
    "backward_output": (("dlogits", "h", "W2"), ("h", "W2", "b2", "hpreact")),
    "backward_batchnorm": (("dhpreact", "bngain", "bnraw", "bndiff", "bndiff2", "bnvar",
                            "bnvar_inv"),
                           ("bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2",
                            "bndiff", "bnmeani", "hprebn")),
    "backward_first_layer": (("dhprebn", "Xb", "C", "emb", "embcat", "W1"),
                             ("embcat", "W1", "b1", "emb", "C")),
}
GRADIENTS = [name for _, outs in STAGES.values() for name in outs]
STAGE_OF = {name: stage for stage, (_, outs) in STAGES.items() for name in outs}
LECTURE = {"vocab_size": 27, "n_embd": 10, "n_hidden": 64, "block_size": 3, "batch_size": 32}


def init_params(rng: np.random.Generator, vocab_size, n_embd, n_hidden, block_size, **_):
    """The lecture's deliberately non-standard init, in float64."""
    fan_in = n_embd * block_size
    return {"C": rng.normal(0, 1, (vocab_size, n_embd)),
            "W1": rng.normal(0, 1, (fan_in, n_hidden)) * (5 / 3) / fan_in**0.5,
            "b1": rng.normal(0, 1, n_hidden) * 0.1,
            "W2": rng.normal(0, 1, (n_hidden, vocab_size)) * 0.1,
            "b2": rng.normal(0, 1, vocab_size) * 0.1,
            "bngain": rng.normal(0, 1, (1, n_hidden)) * 0.1 + 1.0,
            "bnbias": rng.normal(0, 1, (1, n_hidden)) * 0.1}


def autograd_forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The exercise's forward pass step by step; every intermediate keeps its .grad."""
    n = Xb.shape[0]
    t = {}
    t["emb"] = p["C"][Xb]
    t["embcat"] = t["emb"].view(n, -1)
    t["hprebn"] = t["embcat"] @ p["W1"] + p["b1"]
    t["bnmeani"] = 1 / n * t["hprebn"].sum(0, keepdim=True)
    t["bndiff"] = t["hprebn"] - t["bnmeani"]
    t["bndiff2"] = t["bndiff"] ** 2
    t["bnvar"] = 1 / (n - 1) * t["bndiff2"].sum(0, keepdim=True)
    t["bnvar_inv"] = (t["bnvar"] + 1e-5) ** -0.5
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]
    t["hpreact"] = p["bngain"] * t["bnraw"] + p["bnbias"]
    t["h"] = torch.tanh(t["hpreact"])
    t["logits"] = t["h"] @ p["W2"] + p["b2"]
    t["logit_maxes"] = t["logits"].max(1, keepdim=True).values
    t["norm_logits"] = t["logits"] - t["logit_maxes"]
    t["counts"] = t["norm_logits"].exp()
    t["counts_sum"] = t["counts"].sum(1, keepdim=True)
    t["counts_sum_inv"] = t["counts_sum"] ** -1
    t["probs"] = t["counts"] * t["counts_sum_inv"]
    t["logprobs"] = t["probs"].log()
    for v in t.values():
        v.retain_grad()
    loss = -t["logprobs"][range(n), Yb].mean()
    loss.backward(retain_graph=True)   # setup() takes more vector-Jacobian products after
    return t


# stage -> the node whose gradient it takes as input (the loss stage starts from the loss itself)
UPSTREAM = {"backward_output": "logits", "backward_batchnorm": "hpreact",
            "backward_first_layer": "hprebn"}
# each gradient -> the gradients it is computed from (the lecture's chain rule), for first-wrong
# reports; a stage's input gradient is the grader's and always right
DEPENDS = {"logprobs": (), "probs": ("logprobs",), "counts_sum_inv": ("probs",),
           "counts_sum": ("counts_sum_inv",), "counts": ("probs", "counts_sum"),
           "norm_logits": ("counts",), "logit_maxes": ("norm_logits",),
           "logits": ("norm_logits", "logit_maxes"),
           "h": ("logits",), "W2": ("logits",), "b2": ("logits",), "hpreact": ("h",),
           "bngain": ("hpreact",), "bnbias": ("hpreact",), "bnraw": ("hpreact",),
           "bnvar_inv": ("bnraw",), "bnvar": ("bnvar_inv",), "bndiff2": ("bnvar",),
           "bndiff": ("bnraw", "bndiff2"), "bnmeani": ("bndiff",), "hprebn": ("bndiff", "bnmeani"),
           "embcat": ("hprebn",), "W1": ("hprebn",), "b1": ("hprebn",), "emb": ("embcat",),
           "C": ("emb",)}
# zero in exact arithmetic (softmax ignores a shift of its row), so zeros would pass: graded
# together with the gradient it is computed from
GRADED_WITH = {"logit_maxes": ("norm_logits",)}


def setup(rng: np.random.Generator, cfg: dict):
    """Random parameters and batch; the forward's intermediates as numpy arrays; the gradients
    each stage must return. The loss stage's are autograd's true gradients of the loss; every
    later stage gets a random upstream gradient the parent draws (`upstream`: a stage is linear
    in it) and its gradients are autograd's vector-Jacobian products with it, so no gradient is
    zero by construction (b1's is, for the true upstream: BatchNorm removes the mean) and no
    reply from another run matches."""
    params = init_params(rng, **cfg)
    Xb = rng.integers(0, cfg["vocab_size"], (cfg["batch_size"], cfg["block_size"]))
    Yb = rng.integers(0, cfg["vocab_size"], cfg["batch_size"])
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    t = autograd_forward(p, torch.tensor(Xb), torch.tensor(Yb))
    values = {"Xb": Xb, "Yb": Yb, **params}
    values.update({k: v.detach().numpy() for k, v in t.items()})
    grads = {k: v.grad.numpy() for k, v in {**t, **p}.items()}
    nodes = {**t, **p}
    upstream = {}
    for stage, node in UPSTREAM.items():
        true = grads[node]
        up = rng.normal(0, 1, true.shape) * (true.std() or 1.0)
        outs = STAGES[stage][1]
        # d/dx sum(node * up) is the vector-Jacobian product (grad_outputs= costs ~1 s of
        # lazy set-up on its first call)
        vjp = torch.autograd.grad((t[node] * torch.tensor(up)).sum(),
                                  [nodes[o] for o in outs], retain_graph=True)
        upstream[node] = up
        grads.update({o: g.numpy() for o, g in zip(outs, vjp)})
    return values, {**grads, "upstream": upstream}


def stage_inputs(stage: str, values: dict, grads: dict) -> dict:
    up = grads["upstream"]
    return {k: up[k[1:]] if k.startswith("d") else values[k] for k in STAGES[stage][0]}


def _ok(ctx: Context, got, want: np.ndarray) -> bool:
    if type(got) is not np.ndarray or got.dtype.kind != "f" or got.size != want.size:
        return False
    return bool(np.allclose(got.reshape(want.shape), want, rtol=ctx.tol.rtol, atol=ctx.tol.atol))


def first_wrong(ctx: Context, reply: dict, grads: dict, name: str) -> str | None:
    """The first gradient of `name`'s stage, in chain order, that `name` is computed from and
    that is wrong too (the likelier place of the bug), or None."""
    ancestors, todo = set(), list(DEPENDS[name])
    while todo:
        a = todo.pop()
        if a not in ancestors and STAGE_OF.get(a) == STAGE_OF[name]:
            ancestors.add(a)
            todo += DEPENDS[a]
    for g in STAGES[STAGE_OF[name]][1]:      # chain order
        if g in ancestors and not _ok(ctx, reply.get(f"d{g}"), grads[g]):
            return g
    return None


def _path(name: str, first: str) -> str:
    """d{name} <- ... <- d{first} along DEPENDS."""
    def walk(node):
        if node == first:
            return [node]
        for d in DEPENDS[node]:
            rest = walk(d)
            if rest:
                return [node, *rest]
        return None
    return " <- ".join(f"d{n}" for n in walk(name) or [name, first])


def explain(ctx: Context, reply: dict, grads: dict, name: str, stage: str) -> str:
    """The first line of a failed gradient check: where the bug most likely is."""
    first = first_wrong(ctx, reply, grads, name)
    if first is not None:
        return (f"d{first} is wrong, and d{name} is computed from it ({_path(name, first)}): "
                f"d{first} is the first wrong gradient in chain order in {stage}(); fix it first")
    deps = [f"d{d}" for d in DEPENDS[name]]
    given = [d for d in deps if STAGE_OF.get(d[1:]) != stage]
    return (f"d{name} is the first wrong gradient in chain order in {stage}()"
            + (f": it is computed from {', '.join(deps)}" if deps else "")
            + (f" ({', '.join(given)} given by the grader)" if given else
               (f", which {'is' if len(deps) == 1 else 'are'} right," if deps else ""))
            + " and the forward pass's values")


def compare(ctx: Context, got, want: np.ndarray, name: str) -> str:
    """The lecture's cmp: exact / approximate / maxdiff, as a pass note or a failure."""
    got = ctx.array(got, name, kinds="f")
    if got.shape != want.shape and got.size == want.size and \
            tuple(s for s in got.shape if s != 1) == tuple(s for s in want.shape if s != 1):
        got = got.reshape(want.shape)  # e.g. (64,) for a (1, 64) tensor: same numbers
    ctx.ensure(got.shape == want.shape, f"{name}: expected shape {want.shape} (the shape of "
               f"{name[1:]}), got {got.shape}")
    exact = bool(np.array_equal(got, want))
    maxdiff = float(np.nan_to_num(np.abs(got - want), nan=np.inf).max())
    approx = bool(np.allclose(got, want, rtol=ctx.tol.rtol, atol=ctx.tol.atol))
    line = f"{name} | exact: {exact} | approximate: {approx} | maxdiff: {maxdiff:.3g}"
    if not approx:
        try:
            ctx.close(got, want, f"{name} vs autograd's {name[1:]}.grad")
        except CheckFailed as e:
            raise CheckFailed(f"{line}\n{e}") from None
    return line


def _gradient_check(name: str):
    stage = STAGE_OF[name]

    @check(f"backprop.d{name}")
    def fn(ctx: Context):
        values, grads = setup(ctx.rng, LECTURE)
        got = ctx.probe("stage", module_name="ninja", fn_name=stage,
                        inputs=stage_inputs(stage, values, grads))
        keys = (f"d{name}", *(f"d{g}" for g in GRADED_WITH.get(name, ())))
        got = ctx.mapping(got, f"{stage}()", keys)
        try:
            line = compare(ctx, got[f"d{name}"], grads[name], f"d{name}")
            for g in GRADED_WITH.get(name, ()):
                try:
                    compare(ctx, got[f"d{g}"], grads[g], f"d{g}")
                except CheckFailed as e:
                    raise CheckFailed(f"d{name} is zero in exact arithmetic, so it is graded "
                                      f"with d{g}, which it is computed from, and that is "
                                      f"wrong:\n{e}") from None
            return line
        except CheckFailed as e:
            raise CheckFailed(f"{explain(ctx, got, grads, name, stage)}\n{e}") from None
    fn.__name__ = f"d{name}"
    return fn


for _name in GRADIENTS:
    _gradient_check(_name)


def _fused(ctx: Context, fn_name: str, got, want, name: str) -> str:
    try:
        return compare(ctx, got, want, name)
    except CheckFailed as e:
        raise CheckFailed(f"fused.{fn_name}() returns a wrong {name}\n{e}") from None


def fused_logits(ctx: Context, values, grads, note: str = "") -> str:
    got = ctx.probe("stage", module_name="fused", fn_name="cross_entropy_backward",
                    inputs={"logits": values["logits"], "Yb": values["Yb"]})
    return _fused(ctx, "cross_entropy_backward", got, grads["logits"], "dlogits" + note)


def fused_hprebn(ctx: Context, values, grads, note: str = "") -> str:
    got = ctx.probe("stage", module_name="fused", fn_name="batchnorm_backward",
                    inputs={"dhpreact": grads["upstream"]["hpreact"],
                            "bngain": values["bngain"], "bnvar_inv": values["bnvar_inv"],
                            "bnraw": values["bnraw"]})
    return _fused(ctx, "batchnorm_backward", got, grads["hprebn"], "dhprebn" + note)


@check("backprop.dlogits_fused")
def dlogits_fused(ctx: Context):
    return fused_logits(ctx, *setup(ctx.rng, LECTURE))


@check("backprop.dhprebn_fused")
def dhprebn_fused(ctx: Context):
    return fused_hprebn(ctx, *setup(ctx.rng, LECTURE))


def autograd_training(params: dict, X, Y, lrs) -> tuple[list[float], dict]:
    """The same SGD steps with autograd (the lecture's compact forward, F.cross_entropy)."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    losses = []
    for Xb, Yb, lr in zip(X, Y, lrs):
        emb = p["C"][torch.tensor(Xb)]
        hprebn = emb.view(emb.shape[0], -1) @ p["W1"] + p["b1"]
        bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * \
            (hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5
        h = torch.tanh(p["bngain"] * bnraw + p["bnbias"])
        loss = F.cross_entropy(h @ p["W2"] + p["b2"], torch.tensor(Yb))
        for t in p.values():
            t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in p.values():
                t -= lr * t.grad
        losses.append(loss.item())
    return losses, {k: v.detach().numpy() for k, v in p.items()}


def _fused_culprit(ctx: Context) -> str | None:
    """After manual_step diverged: is one of the fused backward functions the lecture's
    manual_step uses wrong? (A fresh random batch; None when both are right or missing.)"""
    values, grads = setup(ctx.rng, LECTURE)
    for fn, run in (("cross_entropy_backward", fused_logits), ("batchnorm_backward", fused_hprebn)):
        try:
            run(ctx, values, grads)
        except CheckFailed:
            return fn
        except Exception:      # not implemented, crashed: manual_step may not use it
            continue
    return None


def _train_manual(ctx: Context):
    steps, cfg = ctx.params["steps"], LECTURE
    params = init_params(ctx.rng, **cfg)
    X = ctx.rng.integers(0, cfg["vocab_size"], (steps, cfg["batch_size"], cfg["block_size"]))
    Y = ctx.rng.integers(0, cfg["vocab_size"], (steps, cfg["batch_size"]))
    # the learning rate changes inside the replayed run, at a step and to values the worker
    # cannot guess: every step is replayed, so a loop that ignores lr fails
    drop = int(ctx.rng.integers(2, steps - 1))
    lr0 = float(ctx.rng.uniform(0.05, 0.2))
    lrs = [lr0] * drop + [lr0 / 10] * (steps - drop)
    got = ctx.mapping(ctx.probe("train_manual", params=params, X=list(X), Y=list(Y), lrs=lrs),
                      "training", ("losses", "params"))
    losses, want = autograd_training(params, X, Y, lrs)
    mine = ctx.numbers(got["losses"], "manual_step losses", steps)
    bad = np.flatnonzero(~np.isclose(mine, losses, rtol=ctx.tol.rtol, atol=ctx.tol.atol))
    if bad.size:
        i = int(bad[0])
        raise CheckFailed(
            f"manual_step: the loss first differs from the autograd loop at step {i} (lr "
            f"{lrs[i]:.4g}; the learning rate drops from {lr0:.4g} to {lr0 / 10:.4g} at step "
            f"{drop}): got {mine[i]:.6g}, expected {losses[i]:.6g} "
            + ("(step 0 runs from the grader's initial parameters: the forward or the loss "
               "differs)" if i == 0 else
               f"(steps 0..{i - 1} match: the update after step {i - 1} is wrong"
               + (", with the lr of that step" if i - 1 >= drop - 1 and i - 1 <= drop else "")
               + ")")
            + f"; {bad.size} of {steps} steps outside tolerance ({ctx.tol})")
    got_p = ctx.mapping(got["params"], "parameters after training", PARAMETERS)
    for k in PARAMETERS:
        ctx.close(ctx.array(got_p[k], k, shape=want[k].shape), want[k],
                  f"{k} after {steps} manual SGD steps vs the same steps with autograd")
    return f"{steps} steps equal to the autograd loop"


@check("backprop.train_manual")
def train_manual(ctx: Context):
    try:
        return _train_manual(ctx)
    except CheckFailed as e:
        fn = _fused_culprit(ctx)
        if fn is None:
            raise
        raise CheckFailed(f"fused.{fn}() is wrong (see backprop."
                          f"{'dlogits' if fn.startswith('cross') else 'dhprebn'}_fused), and the "
                          f"lecture's manual_step uses it: fix it first\n{e}") from None
