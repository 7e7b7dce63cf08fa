"""Probes for lecture 7 (GPT). The worker preloads torch (one thread, deterministic algorithms).

Weights come from the parent as float32 arrays keyed by the lecture's parameter names
(`key.weight`, `heads.0.query.weight`, `blocks.1.ln2.bias`, ...) and are copied into the
student's modules, so the parent can compute the same forward pass with its own oracle.
"""
from __future__ import annotations

import numpy as np
from zth_worker.probes import Missing, attr, module, probe


def _torch():
    import torch
    return torch


def _new(pkg: str, mod: str, name: str, *args, **kwargs):
    return attr(module(pkg, mod), name)(*args, **kwargs)


def _np(t) -> np.ndarray:
    torch = _torch()
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(t).__name__}")
    return t.detach().cpu().numpy().copy()


def _load(m, weights: dict, what: str) -> None:
    """Copy the parent's weights into `m` by parameter name; every name must match."""
    torch = _torch()
    params = dict(m.named_parameters())
    for name in weights:
        if name not in params:
            raise Missing(f"{what} parameter {name!r} (the lecture's layer names are expected; "
                          f"yours has: {', '.join(params) or 'no parameters'})")
    extra = sorted(set(params) - set(weights))
    if extra:
        raise ValueError(f"{what} has parameters the lecture's {what} does not: "
                         f"{', '.join(extra)} (a bias where the lecture has bias=False?)")
    with torch.no_grad():
        for name, w in weights.items():
            p = params[name]
            if tuple(p.shape) != tuple(w.shape):
                raise ValueError(f"{what}.{name} has shape {tuple(p.shape)}, the lecture's has "
                                 f"{tuple(w.shape)}")
            p.copy_(torch.from_numpy(np.asarray(w)))


def _forward(m, x):
    torch = _torch()
    with torch.no_grad():
        return m(torch.from_numpy(np.asarray(x)))


def _state(m) -> dict:
    return {k: _np(v).astype(np.float32) for k, v in m.named_parameters()}


# -- data ------------------------------------------------------------------------------------
@probe
def data(pkg, text, block_size, batch_size, seeds):
    torch = _torch()
    d = module(pkg, "data")
    chars, stoi, itos = attr(d, "build_vocab")(text)
    ids = attr(d, "encode")(text, stoi)
    back = attr(d, "decode")(list(ids), itos)
    tensor = torch.tensor(list(ids), dtype=torch.long)
    train, val = attr(d, "train_val_split")(tensor)
    batches = []
    for s in seeds:
        x, y = attr(d, "get_batch")(train, block_size, batch_size,
                                    torch.Generator().manual_seed(s))
        batches.append([_np(x), _np(y)])
    return {"chars": [str(c) for c in chars], "stoi": {str(k): int(v) for k, v in stoi.items()},
            "itos": [str(itos[i]) for i in range(len(chars))], "ids": [int(i) for i in ids],
            "decoded": str(back), "train": _np(train), "val": _np(val), "batches": batches}


# -- the trick -------------------------------------------------------------------------------
@probe
def trick(pkg, x):
    torch = _torch()
    t = module(pkg, "trick")
    xt = torch.from_numpy(np.asarray(x))
    return {name: _np(attr(t, name)(xt.clone()))
            for name in ("xbow_loop", "xbow_matmul", "xbow_softmax")}


# -- models with the parent's weights --------------------------------------------------------
@probe
def bigram(pkg, vocab_size, weights, idx, targets, max_new_tokens):
    torch = _torch()
    m = _new(pkg, "bigram", "BigramLanguageModel", vocab_size)
    _load(m, weights, "BigramLanguageModel")
    idx_t, tgt = torch.from_numpy(idx), torch.from_numpy(targets)
    with torch.no_grad():
        logits, loss = m(idx_t)
        _, loss_t = m(idx_t, tgt)
        out = m.generate(idx_t[:, :1], max_new_tokens)
    return {"logits": _np(logits), "loss_none": loss is None, "loss": float(loss_t),
            "generated": _np(out)}


@probe
def bigram_sample(pkg, vocab_size, weights, idx, max_new_tokens):
    """generate() on many contexts at once (the parent tests the draws' distribution)."""
    torch = _torch()
    m = _new(pkg, "bigram", "BigramLanguageModel", vocab_size)
    _load(m, weights, "BigramLanguageModel")
    with torch.no_grad():
        return _np(m.generate(torch.from_numpy(idx), max_new_tokens))


@probe
def head(pkg, head_size, n_embd, block_size, weights, x):
    m = _new(pkg, "model", "Head", head_size, n_embd=n_embd, block_size=block_size, dropout=0.0)
    _load(m, weights, "Head")
    m.eval()
    return _np(_forward(m, x))


@probe
def multihead(pkg, num_heads, head_size, n_embd, block_size, weights, x):
    m = _new(pkg, "model", "MultiHeadAttention", num_heads, head_size, n_embd=n_embd,
             block_size=block_size, dropout=0.0)
    _load(m, weights, "MultiHeadAttention")
    m.eval()
    return _np(_forward(m, x))


@probe
def batched_heads(pkg, n_embd, n_head, block_size, weights, x):
    m = _new(pkg, "model", "CausalSelfAttention", n_embd=n_embd, n_head=n_head,
             block_size=block_size, dropout=0.0)
    _load(m, weights, "CausalSelfAttention")
    m.eval()
    return _np(_forward(m, x))


@probe
def feedforward(pkg, n_embd, weights, x):
    m = _new(pkg, "model", "FeedForward", n_embd, dropout=0.0)
    _load(m, weights, "FeedForward")
    m.eval()
    return _np(_forward(m, x))


def _traced(m, names):
    """Forward hooks recording [input, output] of each named submodule's first call (the
    parent uses them only to say where a wrong output first goes wrong)."""
    torch = _torch()
    trace, hooks = {}, []

    def hook(name):
        def record(mod, inputs, output):
            if name not in trace and inputs and isinstance(inputs[0], torch.Tensor) \
                    and isinstance(output, torch.Tensor):
                trace[name] = [_np(inputs[0]), _np(output)]
        return record
    for name in names:
        try:
            sub = m.get_submodule(name)
        except AttributeError:
            continue
        hooks.append(sub.register_forward_hook(hook(name)))
    return trace, hooks


_BLOCK_PARTS = ("ln1", "sa.proj", "sa", "ln2", "ffwd")


def _block_names(p: str, n_head: int) -> list[str]:
    return [p + n for n in _BLOCK_PARTS] + [f"{p}sa.heads.{h}" for h in range(n_head)]


@probe
def block(pkg, n_embd, n_head, block_size, weights, x):
    m = _new(pkg, "model", "Block", n_embd, n_head, block_size=block_size, dropout=0.0)
    _load(m, weights, "Block")
    m.eval()
    trace, hooks = _traced(m, ["", *_block_names("", n_head)])
    out = _np(_forward(m, x))
    for h in hooks:
        h.remove()
    return {"out": out, "trace": trace}


def _gpt(pkg, cfg: dict, weights: dict | None = None):
    m = _new(pkg, "model", "GPTLanguageModel", **cfg)
    if weights is not None:
        _load(m, weights, "GPTLanguageModel")
    return m


@probe
def model(pkg, cfg, weights, idx, targets):
    torch = _torch()
    m = _gpt(pkg, cfg, weights)
    m.eval()
    names = ["token_embedding_table", "position_embedding_table", "ln_f", "lm_head"]
    for layer in range(cfg["n_layer"]):
        names += [f"blocks.{layer}"] + _block_names(f"blocks.{layer}.", cfg["n_head"])
    trace, hooks = _traced(m, names)
    with torch.no_grad():
        logits, loss = m(torch.from_numpy(idx))
        for h in hooks:
            h.remove()
        _, loss_t = m(torch.from_numpy(idx), torch.from_numpy(targets))
    return {"logits": _np(logits), "loss_none": loss is None, "loss": float(loss_t),
            "trace": trace}


@probe
def generate(pkg, cfg, weights, idx, max_new_tokens):
    torch = _torch()
    m = _gpt(pkg, cfg, weights)
    m.eval()
    with torch.no_grad():
        out = m.generate(torch.from_numpy(idx), max_new_tokens)
    return _np(out)


# -- causality, with the parent's weights ----------------------------------------
@probe
def causal(pkg, kind, cfg, weights, a, b):
    torch = _torch()
    if kind == "Head":
        m = _new(pkg, "model", "Head", cfg["head_size"], n_embd=cfg["n_embd"],
                 block_size=cfg["block_size"], dropout=0.0)
    elif kind == "MultiHeadAttention":
        m = _new(pkg, "model", "MultiHeadAttention", cfg["n_head"], cfg["head_size"],
                 n_embd=cfg["n_embd"], block_size=cfg["block_size"], dropout=0.0)
    elif kind == "Block":
        m = _new(pkg, "model", "Block", cfg["n_embd"], cfg["n_head"],
                 block_size=cfg["block_size"], dropout=0.0)
    else:
        m = _gpt(pkg, {k: cfg[k] for k in ("vocab_size", "n_embd", "n_head", "n_layer",
                                          "block_size")} | {"dropout": 0.0})
    _load(m, weights, kind)
    m.eval()
    with torch.no_grad():
        outs = [m(torch.from_numpy(v)) for v in (a, b)]
    if kind == "GPTLanguageModel":
        outs = [o[0] for o in outs]
    return [_np(o) for o in outs]


# -- a short training run ----------------------------------------------------------------------
_RUN = {}   # the model and optimizer of the training run, between its parts


@probe
def train(pkg, cfg, weights, windows, lrs, segment):
    """The lecture's AdamW loop on the parent's windows (step × batch × block_size+1), with the
    parent's learning rate for each step; the first part (weights given) starts from the
    parent's weights, each later part continues the run. Returns each step's loss and the
    AdamW state (weights, exp_avg, exp_avg_sq by name) after every `segment` steps: the parent
    replays each segment from the state before it."""
    torch = _torch()
    if weights is not None:
        m = _gpt(pkg, cfg, weights)
        m.train()
        _RUN["run"] = (m, torch.optim.AdamW(m.parameters(), lr=lrs[0]))
    if "run" not in _RUN:
        raise RuntimeError("the training run's first part is gone (the worker restarted)")
    m, opt = _RUN["run"]
    params = dict(m.named_parameters())
    win = torch.from_numpy(np.asarray(windows, dtype=np.int64))
    xs, ys = win[..., :-1].contiguous(), win[..., 1:].contiguous()
    losses = []
    state = {key: {k: [] for k in params} for key in ("weights", "exp_avg", "exp_avg_sq")}
    for i, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        _, loss = m(xs[i], ys[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        if (i + 1) % segment == 0:
            for k, q in params.items():
                state["weights"][k].append(_np(q))
                for key in ("exp_avg", "exp_avg_sq"):   # no state yet: never had a gradient
                    st = opt.state[q].get(key)
                    state[key][k].append(np.zeros(tuple(q.shape), np.float32) if st is None
                                         else _np(st))
    return {"losses": losses,
            **{key: {k: np.stack(v) for k, v in d.items()} for key, d in state.items()}}
