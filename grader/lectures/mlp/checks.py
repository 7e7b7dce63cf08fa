"""Checks for lecture 3 (makemore MLP, Bengio et al. 2003).

Oracles: numpy for the dataset, Python's `random` for the split, torch float64 for the forward
pass, loss and gradients, the same torch loop for the first training steps, and the reference
(`grader.oracle.reference`) for seeded sampling. Words are random names from names.txt.
"""
from __future__ import annotations

import math
import random
import string

import numpy as np
import torch
import torch.nn.functional as F

from ...check import CheckFailed, Context, check
from ...data import read_words
from ...oracle import reference
from ..bigram.checks import random_words

CHARS = "." + string.ascii_lowercase
STOI = {c: i for i, c in enumerate(CHARS)}
NAMES = ("C", "W1", "b1", "W2", "b2")


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


@check("mlp.split")
def split(ctx: Context):
    words = names_sample(ctx.rng, int(ctx.rng.integers(100, 400)))
    for seed in (42, int(ctx.rng.integers(10**6))):
        got = ctx.probe("split", words=words, seed=seed)
        want = split_words(words, seed)
        ctx.ensure(type(got) is list and len(got) == 3, "split_words: expected (train, dev, test)")
        for g, w, name in zip(got, want, ("train", "dev", "test")):
            ctx.ensure(g == w, f"split_words(words, {seed}): {name} differs from shuffling a copy "
                       f"as random.seed({seed}); random.shuffle(words) and cutting at int(0.8n), "
                       f"int(0.9n) ({len(w)} words expected, got {len(g)})")


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
        ctx.close(p, w, f"{n}: torch.randn(..., generator=g), drawn in the order C, W1, b1, W2, "
                  "b2")
    ctx.ensure(got["requires_grad"] == [True] * 5, "every parameter needs requires_grad=True, got "
               f"{dict(zip(NAMES, got['requires_grad']))}")


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


@check("mlp.sample")
def sample(ctx: Context):
    params = random_params(ctx.rng, 3, 5, 32, 0.5)
    params[4][0] += np.float32(2.0)          # '.' likely enough that names stay short
    seed, n = int(ctx.rng.integers(2**31)), 8
    got = ctx.probe("sample", params=params, n=n, seed=seed)
    ctx.ensure(type(got) is list and len(got) == n, f"sample(params, {n}, g): expected {n} names")
    for i, name in enumerate(got):
        ctx.ensure(name.endswith(".") and "." not in name[:-1] and set(name) <= set(CHARS),
                   f"sample {i} is {name!r}: a name is made of a..z and ends with one '.'")
    ref = reference("mlp", "model")
    want = ref.sample([torch.tensor(p) for p in params], n, torch.Generator().manual_seed(seed))
    for i, (g, w) in enumerate(zip(got, want)):
        ctx.ensure(g == w, f"sample {i} with torch.Generator().manual_seed({seed}): expected "
                   f"{w!r}, got {g!r} (one torch.multinomial(F.softmax(logits, dim=1), "
                   "num_samples=1, generator=g) per character, context starting at [0] * "
                   "block_size)")


# -- training -------------------------------------------------------------------------------
def replay(params, X, Y, steps: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """The first `steps` steps of the specified loop, in torch float32."""
    ps = [torch.tensor(p).requires_grad_(True) for p in params]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        ix = torch.randint(0, Xt.shape[0], (batch_size,), generator=g)
        C, W1, b1, W2, b2 = ps
        emb = C[Xt[ix]]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Yt[ix])
        for p in ps:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


@check("mlp.train")
def train(ctx: Context):
    p = ctx.params
    words = names_sample(ctx.rng, p["train_words"] + p["dev_words"])
    Xtr, Ytr = build_dataset(words[:p["train_words"]], 3)
    Xdev, Ydev = build_dataset(words[p["train_words"]:], 3)
    params = random_params(ctx.rng, 3, p["n_embd"], p["n_hidden"], 0.01)
    params[4][:] = 0
    seed = int(ctx.rng.integers(2**31))
    got = ctx.mapping(ctx.probe("train", params=params, X=Xtr, Y=Ytr, steps=p["steps"],
                                batch_size=p["batch_size"], lr=p["lr"], decay_at=p["decay_at"],
                                lr_after=p["lr_after"], seed=seed), "train", ("params", "losses"))
    losses = ctx.numbers(got["losses"], "the returned losses", p["steps"])
    k = p["replay"]
    ctx.close(losses[:k], replay(params, Xtr, Ytr, k, p["batch_size"], p["lr"], seed),
              f"minibatch loss of the first {k} steps (batches drawn with torch.randint(0, "
              "X.shape[0], (batch_size,), generator=g), update p.data += -lr * p.grad)",
              lambda i: f"step {i}")
    trained = _params_reply(ctx, got["params"], [q.shape for q in params], "trained parameters")
    ctx.ensure(all(np.isfinite(q).all() for q in trained), "training produced NaN or inf weights")
    dev = loss64(trained, Xdev, Ydev)
    ctx.ensure(dev < p["max_dev_loss"],
               f"after {p['steps']} steps the dev loss is {dev:.3f}; it must be below "
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
    ctx.ensure(np.abs(ps[3]).max() > 0, "W2 is all zeros: every hidden unit then gets the same "
               "gradient; keep W2 small but random")
    X, Y = build_dataset(names_sample(ctx.rng, ctx.params["words"]), 3)
    start = loss64(ps, X, Y)
    gap = ctx.params["max_gap"]
    ctx.ensure(abs(start - math.log(27)) < gap,
               f"the loss at initialisation is {start:.3f}; it should be within {gap} of the "
               f"uniform loss ln 27 = {math.log(27):.4f}")
    return f"initial loss {start:.3f} (uniform {math.log(27):.3f})"
