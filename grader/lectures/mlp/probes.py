"""Probes for lecture 3 (makemore MLP). The worker has torch preloaded (course.yaml).

Parameters travel as numpy arrays [C, W1, b1, W2, b2] and become float32 leaf tensors with
requires_grad=True before the student's code sees them.
"""
from __future__ import annotations

import random

import torch
from zth_worker.probes import attr, expect, module, probe
from zth_worker.probes._makemore import array, number, tensor

NAMES = ("C", "W1", "b1", "W2", "b2")


def _params(arrays) -> list[torch.Tensor]:
    return [tensor(a, torch.float32, grad=True) for a in arrays]


def _param_list(ps, what: str) -> list:
    if not isinstance(ps, (list, tuple)) or len(ps) != 5:
        raise TypeError(f"{what} should return [C, W1, b1, W2, b2]")
    return [array(p, f"{what}[{i}] ({n})") for i, (p, n) in enumerate(zip(ps, NAMES))]


@probe
def dataset(pkg, cases):
    fn = attr(module(pkg, "data"), "build_dataset")
    out = []
    for words, block_size in cases:
        X, Y = fn(list(words), block_size=block_size)
        out.append({"X": array(X, "X"), "Y": array(Y, "Y")})
    return out


@probe
def split(pkg, words, seed):
    """split_words on a list the probe keeps, then what the contract says must not change: the
    caller's list, and the next number of the global `random` and torch generators (the worker
    seeded both, so the parent knows what they must draw)."""
    caller = list(words)
    parts = attr(module(pkg, "data"), "split_words")(caller, seed)
    if not isinstance(parts, (tuple, list)) or len(parts) != 3:
        raise TypeError("split_words should return (train, dev, test)")
    return {"parts": [list(p) for p in parts], "caller": list(caller),
            "random": random.getrandbits(62),
            "torch": int(torch.randint(0, 2**62, (1,)).item())}


@probe
def init(pkg, seed, sizes, calibrated):
    g = torch.Generator().manual_seed(seed)
    ps = attr(module(pkg, "model"), "init_params")(g, calibrated=calibrated, **sizes)
    arrays = _param_list(ps, "init_params(...)")
    return {"params": arrays, "requires_grad": [bool(getattr(p, "requires_grad", False))
                                                for p in ps]}


@probe
def uniform_loss(pkg, sizes):
    fn = attr(module(pkg, "model"), "uniform_loss")
    return [number(fn(v), f"uniform_loss({v})") for v in sizes]


@probe
def forward(pkg, params, X, emb):
    m = module(pkg, "model")
    C, W1, b1, W2, b2 = _params(params)
    X_t = tensor(X, torch.long)
    return {"emb": array(attr(m, "embed")(C, X_t), "embed(C, X)"),
            "h": array(attr(m, "hidden")(tensor(emb, torch.float32), W1, b1), "hidden(...)"),
            "logits": array(attr(m, "forward")([C, W1, b1, W2, b2], X_t), "forward(...)")}


@probe
def loss(pkg, cases):
    fn = attr(module(pkg, "model"), "loss_fn")
    return [number(fn(tensor(logits, torch.float32), tensor(Y, torch.long)), "loss_fn(...)")
            for logits, Y in cases]


@probe
def grads(pkg, params, X, Y):
    m = module(pkg, "model")
    ps = _params(params)
    loss = attr(m, "loss_fn")(attr(m, "forward")(ps, tensor(X, torch.long)), tensor(Y, torch.long))
    # a float here would fail below as our AttributeError: say what was expected instead
    expect(loss, torch.Tensor, "loss_fn(forward(params, X), Y)", "a tensor (so that "
           ".backward() reaches the parameters)").backward()
    return {"loss": number(loss, "loss"),
            "grads": [None if p.grad is None else array(p.grad, f"{n}.grad")
                      for p, n in zip(ps, NAMES)]}


@probe
def train(pkg, params, X, Y, steps, segment, batch_size, lr, decay_at, lr_after, seed):
    """The student's `train` on the parent's initial weights, generator seed and learning-rate
    schedule, called once per segment of `segment` steps (the generator carries on from call to
    call; segment k gets `lr(i)` of step k * segment + i). Returns every minibatch loss and the
    parameters after each segment: the parent replays each segment from them."""
    fn = attr(module(pkg, "train"), "train")
    ps = _params(params)
    g = torch.Generator().manual_seed(seed)
    X_t, Y_t = tensor(X, torch.long), tensor(Y, torch.long)
    losses, checkpoints = [], []
    for start in range(0, steps, segment):
        out = fn(ps, X_t, Y_t, segment, batch_size=batch_size, generator=g,
                 lr=lambda i, start=start: lr if start + i < decay_at else lr_after)
        out = out.tolist() if isinstance(out, torch.Tensor) else out
        out = list(out) if isinstance(out, (list, tuple)) or hasattr(out, "__array__") else out
        if not isinstance(out, list) or len(out) != segment:
            raise TypeError(f"train(parameters, X, Y, steps={segment}, ...) should return the "
                            f"{segment} minibatch losses as a list")
        losses += [number(v, "a loss") for v in out]
        checkpoints.append([array(p, n) for p, n in zip(ps, NAMES)])
    return {"losses": losses, "checkpoints": checkpoints}


@probe
def sample(pkg, params, n, seed):
    g = torch.Generator().manual_seed(seed)
    out = attr(module(pkg, "model"), "sample")(_params(params), n, g)
    if not isinstance(out, list) or not all(isinstance(s, str) for s in out):
        raise TypeError("sample(...) should return a list of strings")
    return out
