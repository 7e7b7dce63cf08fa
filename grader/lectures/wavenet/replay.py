"""The parent's own WaveNet, written functionally with a leading "run" dimension R, so that many
independent copies of the model (the segments of a training run, each from its own checkpoint)
train side by side in one batched computation. Trusted, parent-side: it never sees student code,
only parameters (plain arrays) the worker returned or the parent chose.

A state is a list of float64 tensors in the model's layer order, the layout the probes use:
Embedding.weight (V, E); per level: Linear.weight (in, H), BatchNorm1d gamma, beta,
running_mean, running_var (H each); last Linear.weight (H, V), bias (V). Each tensor here has
a leading R dimension.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

EPS, MOMENTUM = 1e-5, 0.1


def layout(cfg) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, shape, trainable) of each state tensor, in order."""
    V, E, H = cfg["vocab_size"], cfg["n_embd"], cfg["n_hidden"]
    out = [("Embedding.weight", (V, E), True)]
    width = E
    for lv in range(int(math.log2(cfg["block_size"]))):
        out += [(f"level {lv} Linear.weight", (2 * width, H), True),
                (f"level {lv} BatchNorm1d.gamma", (H,), True),
                (f"level {lv} BatchNorm1d.beta", (H,), True),
                (f"level {lv} BatchNorm1d.running_mean", (H,), False),
                (f"level {lv} BatchNorm1d.running_var", (H,), False)]
        width = H
    return out + [("last Linear.weight", (H, V), True), ("last Linear.bias", (V,), True)]


def from_weights(cfg, weights) -> list[np.ndarray]:
    """A state from the checks' per-layer weight dicts (running statistics at their init)."""
    it = iter(weights)
    out = [next(it)["weight"]]
    for _ in range(int(math.log2(cfg["block_size"]))):
        out.append(next(it)["weight"])
        bn = next(it)
        out += [bn["gamma"], bn["beta"], np.zeros(cfg["n_hidden"]), np.ones(cfg["n_hidden"])]
    last = next(it)
    return out + [last["weight"], last["bias"]]


def forward(state: list[torch.Tensor], X: torch.Tensor, training: bool, convention: str):
    """Logits (R, B, V) for contexts X (R, B, T); in training mode the running statistics in
    `state` are updated in place (no grad). `convention`: the variance the output normalises
    with in training mode ("lecture": unbiased, "torch": biased); running_var tracks the
    unbiased one either way."""
    R = X.shape[0]
    x = state[0][torch.arange(R)[:, None, None], X]            # (R, B, T, E)
    k = 1
    while x.dim() == 4:
        Rr, B, T, C = x.shape
        x = x.reshape(Rr, B, T // 2, C * 2)
        if x.shape[2] == 1:
            x = x[:, :, 0]                                      # (R, B, 2C)
        W, gamma, beta, rm, rv = state[k:k + 5]
        k += 5
        x = (x.reshape(R, -1, x.shape[-1]) @ W).reshape(*x.shape[:-1], W.shape[-1])
        dims = (1, 2) if x.dim() == 4 else (1,)
        shape = (R,) + (1,) * (x.dim() - 2) + (x.shape[-1],)
        if training:
            mean = x.mean(dims, keepdim=True)
            var_u = x.var(dims, keepdim=True)
            var = var_u if convention == "lecture" else x.var(dims, keepdim=True, unbiased=False)
            with torch.no_grad():
                rm.mul_(1 - MOMENTUM).add_(MOMENTUM * mean.reshape(R, -1))
                rv.mul_(1 - MOMENTUM).add_(MOMENTUM * var_u.reshape(R, -1))
        else:
            mean, var = rm.reshape(shape), rv.reshape(shape)
        x = gamma.reshape(shape) * (x - mean) / torch.sqrt(var + EPS) + beta.reshape(shape)
        x = torch.tanh(x)
    return x @ state[k] + state[k + 1][:, None]


def train(cfg, starts: list[list[np.ndarray]], X: np.ndarray, Y: np.ndarray, lrs: np.ndarray,
          convention: str, dtype=torch.float32):
    """Train R copies side by side: copy r from state starts[r] on batches X[r, i], Y[r, i]
    with learning rate lrs[r, i], in `dtype` (the lecture's float32 by default). Returns
    (losses (R, steps), final states as float64 numpy)."""
    trainable = [t for _, _, t in layout(cfg)]
    state = [torch.tensor(np.stack([s[j] for s in starts]), dtype=dtype)
             for j in range(len(trainable))]
    params = [p.requires_grad_() for p, t in zip(state, trainable) if t]
    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    lrs = torch.as_tensor(lrs, dtype=dtype)
    R, steps, B = Y.shape
    losses = torch.zeros(R, steps, dtype=torch.float64)
    for step in range(steps):
        logits = forward(state, X[:, step], True, convention)
        loss = F.cross_entropy(logits.reshape(R * B, -1), Y[:, step].reshape(-1),
                               reduction="none").view(R, B).mean(1)
        for p in params:
            p.grad = None
        loss.sum().backward()     # the copies are independent: each gets its own gradient
        with torch.no_grad():
            for p in params:
                p -= lrs[:, step].reshape((R,) + (1,) * (p.dim() - 1)) * p.grad
        losses[:, step] = loss.detach()
    return losses.numpy(), [[t[r].detach().double().numpy() for t in state] for r in range(R)]


def loss(cfg, state: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Eval-mode (running statistics) cross-entropy of one state on (X, Y)."""
    st = [torch.tensor(s, dtype=torch.float64)[None] for s in state]
    with torch.no_grad():
        logits = forward(st, torch.as_tensor(X)[None], False, "lecture")[0]
        return F.cross_entropy(logits, torch.as_tensor(Y)).item()
