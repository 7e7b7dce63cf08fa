"""Checks for lecture 3 (makemore MLP, Bengio et al. 2003).

Oracles: numpy for the dataset, Python's `random` for the split (and the global generators'
next draws, which the split must leave alone), torch float64 for the forward pass, loss and
gradients, a replay of every training step (see `train`), and the lecture's sampling loop run
here with the same seeded generator. Words are random names from names.txt.
"""
from __future__ import annotations

import math
import random
import string

import numpy as np
import torch
import torch.nn.functional as F

from ...check import CheckFailed, Context, GraderBug, check
from ...data import read_words
from ...figures import replay_curves
from ..bigram.checks import random_words

CHARS = "." + string.ascii_lowercase
STOI = {c: i for i, c in enumerate(CHARS)}
NAMES = ("C", "W1", "b1", "W2", "b2")
DTYPE = torch.float32    # the replay of mlp.train: as the lecture trains (float32)


# -- oracles --------------------------------------------------------------------------------
def build_dataset(words: list[str], block_size: int) -> tuple[np.ndarray, np.ndarray]:
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            X.append(context)
            Y.append(STOI[ch])
            context = context[1:] + [STOI[ch]]
    return np.array(X, dtype=np.int64).reshape(-1, block_size), np.array(Y, dtype=np.int64)


def split_words(words: list[str], seed: int) -> list[list[str]]:
    words = list(words)
    random.Random(seed).shuffle(words)     # the same permutation as random.seed + random.shuffle
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return [words[:n1], words[n1:n2], words[n2:]]


def forward64(params, X) -> tuple[torch.Tensor, ...]:
    """emb, h, logits in float64 from float32 parameters (arrays or tensors)."""
    C, W1, b1, W2, b2 = (torch.as_tensor(p).double() for p in params)
    emb = C[torch.as_tensor(X)]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    return emb, h, h @ W2 + b2


def loss64(params, X, Y) -> float:
    return F.cross_entropy(forward64(params, X)[2], torch.as_tensor(Y)).item()


def random_params(rng: np.random.Generator, block_size: int, n_embd: int, n_hidden: int,
                  w2_scale: float = 1.0) -> list[np.ndarray]:
    shapes = [(27, n_embd), (block_size * n_embd, n_hidden), (n_hidden,), (n_hidden, 27), (27,)]
    ps = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ps[3] *= np.float32(w2_scale)
    return ps


def names_sample(rng: np.random.Generator, n: int) -> list[str]:
    names = read_words()
    return [names[i] for i in rng.choice(len(names), n, replace=False)]


def _params_reply(ctx: Context, arrays, shapes, what: str) -> list[np.ndarray]:
    ctx.ensure(type(arrays) is list and len(arrays) == 5, f"{what}: expected [C, W1, b1, W2, b2]")
    return [ctx.array(a, f"{what}: {n}", s, kinds="f") for a, n, s in zip(arrays, NAMES, shapes)]


def _check_dataset(ctx: Context, got, words, block_size: int, what: str) -> int:
    got = ctx.mapping(got, what, ("X", "Y"))
    X, Y = build_dataset(words, block_size)
    n = len(Y)
    gx = ctx.array(got["X"], f"{what}: X", (n, block_size), kinds="iu")
    gy = ctx.array(got["Y"], f"{what}: Y", (n,), kinds="iu")
    ctx.equal(gx, X, f"{what}: contexts X (block_size={block_size})",
              lambda i: f"example {i // block_size}, position {i % block_size}")
    ctx.equal(gy, Y, f"{what}: targets Y", lambda i: f"example {i}")
    return n


# -- data -----------------------------------------------------------------------------------
@check("mlp.dataset")
def dataset(ctx: Context):
    cases = [(random_words(ctx.rng, 15), 3), (random_words(ctx.rng, 10),
                                               int(ctx.rng.integers(1, 7)))]
    got = ctx.probe("dataset", cases=cases)
    ctx.ensure(type(got) is list and len(got) == len(cases), "expected one (X, Y) per call")
    for (words, bs), g in zip(cases, got):
        _check_dataset(ctx, g, words, bs, f"build_dataset({words[:2]}..., block_size={bs})")


def global_draws(worker_seed: int) -> dict:
    """What the worker's global generators draw next if nothing used them since it seeded them."""
    g = torch.Generator().manual_seed(worker_seed)
    return {"random": random.Random(worker_seed).getrandbits(62),
            "torch": int(torch.randint(0, 2**62, (1,), generator=g).item())}


@check("mlp.split")
def split(ctx: Context):
    words = names_sample(ctx.rng, int(ctx.rng.integers(100, 400)))
    for seed in (42, int(ctx.rng.integers(10**6))):
        got = ctx.mapping(ctx.probe("split", words=words, seed=seed), "split_words",
                          ("parts", "caller", "random", "torch"))
        parts, want = got["parts"], split_words(words, seed)
        ctx.ensure(type(parts) is list and len(parts) == 3,
                   "split_words: expected (train, dev, test)")
        for g, w, name in zip(parts, want, ("train", "dev", "test")):
            ctx.ensure(g == w, f"split_words(words, {seed}): {name} differs from shuffling a copy "
                       f"as random.seed({seed}); random.shuffle(words) and cutting at int(0.8n), "
                       f"int(0.9n) ({len(w)} words expected, got {len(g)})")
        # side effects the docstring forbids: the parent knows the caller's list and the next
        # draw of each global generator (seeded by the worker with a key-derived seed)
        ctx.ensure(got["caller"] == words, f"split_words(words, {seed}) changed the caller's list "
                   "(shuffled it in place); expected it untouched: shuffle a copy, e.g. "
                   "list(words)")
        draws = global_draws(ctx.worker_seed)
        for key, how in (("random", "random.seed / random.shuffle"),
                         ("torch", "torch.manual_seed or torch's global generator")):
            ctx.ensure(got[key] == draws[key], f"split_words(words, {seed}) changed the global "
                       f"{key} state ({how}); expected it untouched: use a generator of its own, "
                       "random.Random(seed), so the caller's random numbers stay as they were")


# -- model ----------------------------------------------------------------------------------
@check("mlp.init")
def init(ctx: Context):
    sizes = {"block_size": int(ctx.rng.integers(2, 5)), "n_embd": int(ctx.rng.integers(2, 8)),
             "n_hidden": int(ctx.rng.integers(8, 40)), "vocab_size": 27}
    seed = int(ctx.rng.integers(2**31))
    got = ctx.mapping(ctx.probe("init", seed=seed, sizes=sizes, calibrated=False), "init_params",
                      ("params", "requires_grad"))
    g = torch.Generator().manual_seed(seed)
    bs, ne, nh, V = sizes["block_size"], sizes["n_embd"], sizes["n_hidden"], 27
    want = [torch.randn(s, generator=g).numpy()
            for s in ((V, ne), (bs * ne, nh), (nh,), (nh, V), (V,))]
    ps = _params_reply(ctx, got["params"], [w.shape for w in want], f"init_params({sizes})")
    for p, w, n in zip(ps, want, NAMES):
        # not bit-exact: torch's randn kernels differ by an ulp between CPU capabilities
        ctx.close(p, w, f"init_params: {n} = torch.randn(..., generator=g), drawn in the order "
                  "C, W1, b1, W2, b2")
    ctx.ensure(got["requires_grad"] == [True] * 5, "init_params: every parameter needs "
               f"requires_grad=True, got {dict(zip(NAMES, got['requires_grad']))}")


@check("mlp.forward")
def forward(ctx: Context):
    bs, ne, nh = 3, int(ctx.rng.integers(2, 11)), int(ctx.rng.integers(10, 60))
    params = random_params(ctx.rng, bs, ne, nh, 0.2)
    X, _ = build_dataset(random_words(ctx.rng, 8), bs)
    emb, h, logits = forward64(params, X)
    got = ctx.mapping(ctx.probe("forward", params=params, X=X,
                                emb=emb.float().numpy()), "forward", ("emb", "h", "logits"))
    n = len(X)
    ctx.close(ctx.array(got["emb"], "embed(C, X)", (n, bs, ne), kinds="f"), emb.numpy(),
              "embed(C, X) = C[X]")
    ctx.close(ctx.array(got["h"], "hidden(emb, W1, b1)", (n, nh), kinds="f"), h.numpy(),
              "hidden(emb, W1, b1) = tanh(emb.view(n, -1) @ W1 + b1)",
              lambda i: f"h[{i // nh}, {i % nh}]")
    ctx.close(ctx.array(got["logits"], "forward(params, X)", (n, 27), kinds="f"), logits.numpy(),
              "forward(params, X) = h @ W2 + b2", lambda i: f"logits[{i // 27}, {i % 27}]")


@check("mlp.loss")
def loss(ctx: Context):
    n = int(ctx.rng.integers(20, 60))
    logits = (ctx.rng.standard_normal((n, 27)) * 3).astype(np.float32)
    Y = ctx.rng.integers(0, 27, n)
    cases = [(logits, Y), (logits + np.float32(100), Y)]
    got = ctx.numbers(ctx.probe("loss", cases=cases), "losses", 2)
    for g, (lg, y), label in zip(got, cases, ("", " + 100 (large logits must not overflow)")):
        want = F.cross_entropy(torch.tensor(lg).double(), torch.tensor(y)).item()
        ctx.close(g, want, f"loss_fn(logits{label}, Y) vs F.cross_entropy")


@check("mlp.grads")
def grads(ctx: Context):
    bs, ne, nh = 3, int(ctx.rng.integers(2, 11)), int(ctx.rng.integers(10, 60))
    params = random_params(ctx.rng, bs, ne, nh, 0.2)
    X, Y = build_dataset(random_words(ctx.rng, 10), bs)
    got = ctx.mapping(ctx.probe("grads", params=params, X=X, Y=Y), "grads", ("loss", "grads"))
    ts = [torch.tensor(p).double().requires_grad_(True) for p in params]
    loss = F.cross_entropy(forward64(ts, X)[2], torch.tensor(Y))
    loss.backward()
    ctx.close(ctx.number(got["loss"], "loss"), loss.item(), "loss_fn(forward(params, X), Y)")
    ctx.ensure(type(got["grads"]) is list and len(got["grads"]) == 5, "expected five gradients")
    for g, t, n in zip(got["grads"], ts, NAMES):
        if g is None:
            raise CheckFailed(f"{n}.grad is None after loss.backward(): {n} must take part in "
                              "the forward pass as a tensor (no .data, .item() or numpy)")
        ctx.close(ctx.array(g, f"{n}.grad", tuple(t.shape), kinds="f"), t.grad.numpy(),
                  f"d loss / d {n}")


@torch.no_grad()
def sample_names(params, n: int, g: torch.Generator, longest: int = 200) -> list[str]:
    """The lecture's sampling loop, run by the parent on the float32 weights it chose."""
    C, W1, b1, W2, b2 = (torch.tensor(p) for p in params)
    block_size = W1.shape[0] // C.shape[1]
    names = []
    for _ in range(n):
        context, name = [0] * block_size, ""
        while len(name) < longest:
            h = torch.tanh(C[torch.tensor([context])].view(1, -1) @ W1 + b1)
            probs = F.softmax(h @ W2 + b2, dim=1)
            ix = int(torch.multinomial(probs, num_samples=1, generator=g))
            context = context[1:] + [ix]
            name += CHARS[ix]
            if ix == 0:
                break
        names.append(name)
    return names


@check("mlp.sample")
def sample(ctx: Context):
    n, longest = 8, ctx.params["longest"]
    for _ in range(ctx.params["draws"]):
        params = random_params(ctx.rng, 3, 5, 32, 0.5)
        params[4][0] += np.float32(2.0)          # '.' likely enough that names stay short
        seed = int(ctx.rng.integers(2**31))
        # the specified loop has no length limit, so the parent's copy may not cut a name short:
        # weights and seed are drawn again until every name ends within `longest` characters
        # (1 draw in 8 had a name run past 200 in a loop like 'uuuu...')
        want = sample_names(params, n, torch.Generator().manual_seed(seed), longest)
        if all(w.endswith(".") for w in want):
            break
    else:
        raise GraderBug(f"mlp.sample: no draw in {ctx.params['draws']} gave names shorter than "
                        f"{longest} characters")
    got = ctx.probe("sample", params=params, n=n, seed=seed)
    ctx.ensure(type(got) is list and len(got) == n, f"sample(params, {n}, g): expected {n} names")
    for i, name in enumerate(got):
        ctx.ensure(name.endswith(".") and "." not in name[:-1] and set(name) <= set(CHARS),
                   f"sample {i} is {name!r}: a name is made of a..z and ends with one '.'")
    for i, (g, w) in enumerate(zip(got, want)):
        ctx.ensure(g == w, f"sample {i} with torch.Generator().manual_seed({seed}): expected "
                   f"{w!r}, got {g!r} (one torch.multinomial(F.softmax(logits, dim=1), "
                   "num_samples=1, generator=g) per character, context starting at [0] * "
                   "block_size)")


# -- training -------------------------------------------------------------------------------
def batches(seed: int, n: int, steps: int, batch_size: int) -> torch.Tensor:
    """The minibatch indices of every step, drawn as the specified loop draws them."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, n, (batch_size,), generator=g) for _ in range(steps)])


def replay_segments(starts, X, Y, idx: torch.Tensor, lrs: np.ndarray):
    """The specified loop in float32 like the lecture, every segment at once: segment s starts
    from the parameters `starts[s]` (five arrays), takes the minibatches idx[s] (steps × batch)
    with the learning rates lrs[s]. Batched over segments, so replaying a whole run costs as
    many torch calls as one segment. Returns the losses (segments × steps) and the end
    parameters."""
    ps = [torch.tensor(np.stack([st[i] for st in starts])).to(DTYPE).requires_grad_(True)
          for i in range(5)]
    C, W1, b1, W2, b2 = ps
    S, L, B = idx.shape
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    rows = torch.arange(S).view(S, 1, 1)
    lr = torch.as_tensor(lrs, dtype=DTYPE)
    losses = torch.empty(S, L, dtype=DTYPE)
    for t in range(L):
        ix = idx[:, t]
        emb = C[rows, Xt[ix]]                                   # S × B × block × n_embd
        h = torch.tanh(emb.reshape(S, B, -1) @ W1 + b1[:, None])
        logits = h @ W2 + b2[:, None]
        loss = F.cross_entropy(logits.reshape(S * B, -1), Yt[ix].reshape(-1),
                               reduction="none").view(S, B).mean(1)
        grads = torch.autograd.grad(loss.sum(), ps)
        with torch.no_grad():
            for q, g in zip(ps, grads):
                q -= lr[:, t].view(S, *[1] * (q.dim() - 1)) * g
        losses[:, t] = loss.detach()
    return losses.numpy(), [q.detach().numpy() for q in ps]


def _excess(got: np.ndarray, want: np.ndarray, tol) -> np.ndarray:
    """How far each value is outside the tolerance (> 0: outside; NaN counts as infinitely far)."""
    err = np.abs(got - want) - (tol.atol + tol.rtol * np.abs(want))
    return np.where(np.isnan(err), np.inf, err)


def _g(x) -> str:
    return f"{float(x):.3g}"


@check("mlp.train")
def train(ctx: Context):
    p = ctx.params
    steps, seg, bs = p["steps"], p["segment"], p["batch_size"]
    words = names_sample(ctx.rng, p["train_words"] + p["dev_words"])
    Xtr, Ytr = build_dataset(words[:p["train_words"]], 3)
    Xdev, Ydev = build_dataset(words[p["train_words"]:], 3)
    params = random_params(ctx.rng, 3, p["n_embd"], p["n_hidden"], 0.01)
    params[4][:] = 0
    seed = int(ctx.rng.integers(2**31))
    # the schedule changes inside the verified run, at a step the worker cannot guess
    decay_at = int(ctx.rng.integers(*p["decay_range"]))
    decay_at += decay_at % seg == 0     # inside a segment: a loop reading lr once per call fails
    lr, lr_after = p["lr"], p["lr_after"]
    got = ctx.mapping(ctx.probe("train", params=params, X=Xtr, Y=Ytr, steps=steps, segment=seg,
                                batch_size=bs, lr=lr, decay_at=decay_at, lr_after=lr_after,
                                seed=seed), "train", ("losses", "checkpoints"))
    losses = ctx.numbers(got["losses"], "the returned losses", steps)
    n_seg = steps // seg
    cps = got["checkpoints"]
    ctx.ensure(type(cps) is list and len(cps) == n_seg, f"expected the parameters after each of "
               f"the {n_seg} segments")
    shapes = [q.shape for q in params]
    cps = [_params_reply(ctx, c, shapes, f"parameters after step {(k + 1) * seg}")
           for k, c in enumerate(cps)]
    # replay every segment from the parameters it started from: the first from the parent's
    # own initial weights, each next one from the checkpoint before it; so every step of the
    # run, and the final weights, are tied to the run the parent asked for
    idx = batches(seed, len(Ytr), steps, bs).view(n_seg, seg, bs)
    lrs = np.where(np.arange(steps) < decay_at, lr, lr_after).reshape(n_seg, seg)
    want, ends = replay_segments([params] + cps[:-1], Xtr, Ytr, idx, lrs)
    want = want.reshape(-1)
    tol = ctx.tol
    loss_ex = _excess(losses, want, tol)
    cp_ex = np.array([max(_excess(c[i].astype(np.float64), ends[i][k], tol).max()
                          for i in range(5)) for k, c in enumerate(cps)])
    bad_steps = np.flatnonzero(loss_ex > 0)
    bad_cps = np.flatnonzero(cp_ex > 0)
    if bad_steps.size or bad_cps.size:
        first_step = int(bad_steps[0]) if bad_steps.size else steps
        first_cp = int(bad_cps[0]) if bad_cps.size else n_seg
        sched = (f"lr {lr:g} for steps 0..{decay_at - 1}, {lr_after:g} from step {decay_at} "
                 "on: use lr(i) at step i")
        if first_step < (first_cp + 1) * seg:
            i = first_step
            start = i // seg * seg
            origin = ("the initial weights" if start == 0
                      else f"your parameters after step {start}")
            cause = (f"; so the update of step {i - 1} or the loss of step {i} is wrong"
                     if i > start else "")
            head = (f"step {i}: minibatch loss {_g(losses[i])}, expected {_g(want[i])} "
                    f"(replayed from {origin}{cause})")
        else:
            k = first_cp
            worst = max(range(5), key=lambda j: _excess(cps[k][j].astype(np.float64),
                                                        ends[j][k], tol).max())
            ex = _excess(cps[k][worst].astype(np.float64), ends[worst][k], tol)
            at = int(np.argmax(ex))
            where = np.unravel_index(at, ex.shape)
            head = (f"parameters after step {(k + 1) * seg}: {NAMES[worst]}"
                    f"{list(map(int, where))} is {_g(cps[k][worst].ravel()[at])}, expected "
                    f"{_g(ends[worst][k].ravel()[at])} (the last step's update)")
            i = None
        w = int(np.argmax(loss_ex))
        worst_txt = (f"; worst at step {w}: {_g(losses[w])} vs {_g(want[w])} (abs err "
                     f"{_g(abs(losses[w] - want[w]))})" if bad_steps.size and w != i else "")
        if i is not None and i >= decay_at and not (bad_steps < decay_at).any():
            hint = (f" Every step before the learning rate drops at step {decay_at} matches: "
                    "the schedule is not followed.")
        else:
            hint = ""
        band = tol.atol + tol.rtol * np.abs(want)
        ctx.figure("loss", replay_curves(losses, want, band, f"tolerance ({tol})", decay_at,
                                         first_step if bad_steps.size else None,
                                         salt="zth-mlp-train"))
        raise CheckFailed(
            f"train: the run diverges from the specified one ({tol}); first at {head}"
            f"{worst_txt}. "
            f"{bad_steps.size} of {steps} steps and {bad_cps.size} of {n_seg} checkpoints "
            f"outside tolerance (batches: torch.randint(0, X.shape[0], (batch_size,), "
            f"generator=generator); {sched}).{hint}")
    final = [q[-1] for q in ends]           # the parent's own replay of the last segment
    dev = loss64(final, Xdev, Ydev)
    ctx.ensure(dev < p["max_dev_loss"],
               f"after {steps} steps the dev loss is {dev:.3f}; it must be below "
               f"{p['max_dev_loss']} (the counting bigram model's level)")
    return f"dev loss {dev:.3f} (bound {p['max_dev_loss']})"


@check("mlp.e02_init")
def e02_init(ctx: Context):
    V = int(ctx.rng.integers(5, 100))
    got = ctx.numbers(ctx.probe("uniform_loss", sizes=[27, V]), "uniform_loss", 2)
    ctx.close(got, [math.log(27), math.log(V)], "uniform_loss(V) = -ln(1/V)",
              lambda i: f"V={[27, V][i]}")
    seed = int(ctx.rng.integers(2**31))
    sizes = {"block_size": 3, "n_embd": 10, "n_hidden": 200, "vocab_size": 27}
    shapes = [(27, 10), (30, 200), (200,), (200, 27), (27,)]
    got = ctx.mapping(ctx.probe("init", seed=seed, sizes=sizes, calibrated=True),
                      "init_params(..., calibrated=True)", ("params",))
    ps = _params_reply(ctx, got["params"], shapes, "init_params(..., calibrated=True)")
    ctx.ensure(np.abs(ps[3]).max() > 0, "init_params(..., calibrated=True): W2 is all zeros: "
               "every hidden unit then gets the same gradient; keep W2 small but random")
    X, Y = build_dataset(names_sample(ctx.rng, ctx.params["words"]), 3)
    start = loss64(ps, X, Y)
    gap = ctx.params["max_gap"]
    ctx.ensure(abs(start - math.log(27)) < gap,
               f"init_params(..., calibrated=True): the loss at initialisation is {start:.3f}; "
               f"expected within {gap} of the uniform loss ln 27 = {math.log(27):.4f}")
    return f"initial loss {start:.3f} (uniform {math.log(27):.3f})"
