"""Checks for lecture 7 (GPT): data, the averaging trick, attention vs PyTorch's
`scaled_dot_product_attention`, Block/model equality with a float64 oracle given the same weights,
causality, init loss, generation with block_size cropping, and a short training run.

The oracle is a functional float64 re-implementation here (torch ops only), fed the very weights
the worker copies into the student's modules by the lecture's parameter names.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ...check import CheckFailed, Context, check
from ...data import read_text


# -- weights by the lecture's names ----------------------------------------------------------
def _linear(spec: dict, name: str, n_in: int, n_out: int, bias: bool = True) -> None:
    spec[f"{name}.weight"] = ("linear", (n_out, n_in))
    if bias:
        spec[f"{name}.bias"] = ("bias", (n_out,))


def head_spec(p: str, n_embd: int, head_size: int) -> dict:
    spec = {}
    for name in ("key", "query", "value"):
        _linear(spec, p + name, n_embd, head_size, bias=False)
    return spec


def mha_spec(p: str, num_heads: int, head_size: int, n_embd: int) -> dict:
    spec = {}
    for h in range(num_heads):
        spec |= head_spec(f"{p}heads.{h}.", n_embd, head_size)
    _linear(spec, p + "proj", num_heads * head_size, n_embd)
    return spec


def ffwd_spec(p: str, n_embd: int) -> dict:
    spec = {}
    _linear(spec, p + "net.0", n_embd, 4 * n_embd)
    _linear(spec, p + "net.2", 4 * n_embd, n_embd)
    return spec


def _ln(spec: dict, name: str, n: int) -> None:
    spec[f"{name}.weight"] = ("ln_weight", (n,))
    spec[f"{name}.bias"] = ("bias", (n,))


def block_spec(p: str, n_embd: int, n_head: int) -> dict:
    spec = mha_spec(p + "sa.", n_head, n_embd // n_head, n_embd) | ffwd_spec(p + "ffwd.", n_embd)
    _ln(spec, p + "ln1", n_embd)
    _ln(spec, p + "ln2", n_embd)
    return spec


def gpt_spec(cfg: dict) -> dict:
    C = cfg["n_embd"]
    spec = {"token_embedding_table.weight": ("embedding", (cfg["vocab_size"], C)),
            "position_embedding_table.weight": ("embedding", (cfg["block_size"], C))}
    for layer in range(cfg["n_layer"]):
        spec |= block_spec(f"blocks.{layer}.", C, cfg["n_head"])
    _ln(spec, "ln_f", C)
    _linear(spec, "lm_head", C, cfg["vocab_size"])
    return spec


def make_weights(rng: np.random.Generator, spec: dict) -> dict[str, np.ndarray]:
    """Random float32 weights of a healthy scale (so that every term matters)."""
    out = {}
    for name, (kind, shape) in spec.items():
        if kind == "linear":
            w = rng.normal(0, shape[1] ** -0.5, shape)
        elif kind == "ln_weight":
            w = 1 + rng.normal(0, 0.2, shape)
        elif kind == "embedding":
            w = rng.normal(0, 1, shape)
        else:
            w = rng.normal(0, 0.2, shape)
        out[name] = w.astype(np.float32)
    return out


# -- the float64 oracle ----------------------------------------------------------------------
def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def o_linear(W: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    y = x @ _t(W[f"{name}.weight"]).T
    return y + _t(W[f"{name}.bias"]) if f"{name}.bias" in W else y


def o_head(W: dict, p: str, x: torch.Tensor) -> torch.Tensor:
    q, k, v = (o_linear(W, p + n, x) for n in ("query", "key", "value"))
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(head_size)


def o_mha(W: dict, p: str, x: torch.Tensor, num_heads: int) -> torch.Tensor:
    out = torch.cat([o_head(W, f"{p}heads.{h}.", x) for h in range(num_heads)], dim=-1)
    return o_linear(W, p + "proj", out)


def o_ffwd(W: dict, p: str, x: torch.Tensor) -> torch.Tensor:
    return o_linear(W, p + "net.2", torch.relu(o_linear(W, p + "net.0", x)))


def o_ln(W: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], _t(W[f"{name}.weight"]), _t(W[f"{name}.bias"]))


def o_block(W: dict, p: str, x: torch.Tensor, n_head: int) -> torch.Tensor:
    x = x + o_mha(W, p + "sa.", o_ln(W, p + "ln1", x), n_head)
    return x + o_ffwd(W, p + "ffwd.", o_ln(W, p + "ln2", x))


def o_gpt(W: dict, idx, cfg: dict) -> torch.Tensor:
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    T = idx.shape[1]
    x = _t(W["token_embedding_table.weight"])[idx] + _t(W["position_embedding_table.weight"])[:T]
    for layer in range(cfg["n_layer"]):
        x = o_block(W, f"blocks.{layer}.", x, cfg["n_head"])
    return o_linear(W, "lm_head", o_ln(W, "ln_f", x))


def o_loss(logits: torch.Tensor, targets) -> float:
    t = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1)).item()


# -- helpers ---------------------------------------------------------------------------------
def _x(ctx: Context, B: int, T: int, C: int) -> np.ndarray:
    return ctx.rng.normal(0, 1, (B, T, C)).astype(np.float32)


def _where_btc(shape):
    def where(i: int) -> str:
        b, t, c = np.unravel_index(i, shape)
        return f"batch {b}, position t={t}, channel {c}"
    return where


def _compare(ctx: Context, got, want: torch.Tensor, what: str) -> None:
    want = want.numpy()
    got = ctx.array(got, what, shape=want.shape, kinds="f")
    ctx.close(got, want, what, _where_btc(want.shape) if want.ndim == 3 else None)


def _cfg(ctx: Context, **over) -> dict:
    cfg = {"vocab_size": 65, "n_embd": 32, "n_head": 4, "n_layer": 2, "block_size": 16,
           "dropout": 0.0}
    cfg |= {k: v for k, v in ctx.params.get("model", {}).items()}
    return cfg | over


def _tokens(ctx: Context, cfg: dict, B: int, T: int | None = None) -> np.ndarray:
    return ctx.rng.integers(0, cfg["vocab_size"], (B, T or cfg["block_size"])).astype(np.int64)


# -- data ------------------------------------------------------------------------------------
@check("gpt.data")
def data(ctx: Context):
    shakespeare = read_text("tinyshakespeare.txt")
    start = int(ctx.rng.integers(0, len(shakespeare) - 3000))
    text = shakespeare[start:start + 2000]
    block_size, batch_size = int(ctx.rng.integers(4, 12)), int(ctx.rng.integers(3, 8))
    seeds = [int(s) for s in ctx.rng.integers(0, 2**31, 2)]
    seeds.insert(1, seeds[0])   # the same seed twice must give the same batch
    got = ctx.mapping(ctx.probe("data", text=text, block_size=block_size,
                                batch_size=batch_size, seeds=seeds), "data",
                      ("chars", "stoi", "itos", "ids", "decoded", "train", "val", "batches"))
    chars = sorted(set(text))
    ctx.ensure(got["chars"] == chars, f"build_vocab: expected the {len(chars)} sorted distinct "
               f"characters of the text, got {len(got['chars'])}: {''.join(got['chars'])[:80]!r}")
    ctx.ensure(got["stoi"] == {c: i for i, c in enumerate(chars)} and got["itos"] == chars,
               "build_vocab: stoi must map each character to its index in the sorted list, and "
               "itos back")
    want_ids = [chars.index(c) for c in text]
    ctx.equal(ctx.numbers(got["ids"], "encode(text)", len(text)), want_ids, "encode(text)",
              lambda i: f"character {i} ({text[i]!r})")
    ctx.ensure(got["decoded"] == text, "decode(encode(text)) should give the text back")
    n = int(0.9 * len(text))
    train = ctx.array(got["train"], "train split", kinds="iu")
    val = ctx.array(got["val"], "val split", kinds="iu")
    ctx.ensure(train.tolist() == want_ids[:n] and val.tolist() == want_ids[n:],
               f"train_val_split: expected the first {n} ids (int(0.9 * {len(text)})) for train "
               f"and the last {len(text) - n} for val, got {len(train)} and {len(val)}")
    batches = got["batches"]
    ctx.ensure(type(batches) is list and len(batches) == 3, "get_batch: expected three batches")
    for _k, pair in enumerate(batches):
        ctx.ensure(type(pair) is list and len(pair) == 2, "get_batch should return (x, y)")
        x = ctx.array(pair[0], "get_batch x", shape=(batch_size, block_size), kinds="iu")
        y = ctx.array(pair[1], "get_batch y", shape=(batch_size, block_size), kinds="iu")
        for row in range(batch_size):
            ok = any(x[row].tolist() == want_ids[i:i + block_size]
                     and y[row].tolist() == want_ids[i + 1:i + block_size + 1]
                     for i in range(n - block_size))
            ctx.ensure(ok, f"get_batch: row {row} of x is not a window of the train data with y "
                       "the same window shifted by one character")
    ctx.ensure(np.array_equal(batches[0][0], batches[1][0]),
               "get_batch: the same seeded generator must give the same batch (pass "
               "generator=generator to torch.randint)")
    ctx.ensure(not np.array_equal(batches[0][0], batches[2][0]),
               "get_batch: two different generator seeds gave the same batch")


# -- the trick -------------------------------------------------------------------------------
@check("gpt.trick")
def trick(ctx: Context):
    x = _x(ctx, 2, int(ctx.rng.integers(5, 10)), 3)
    got = ctx.mapping(ctx.probe("trick", x=x), "the trick",
                      ("xbow_loop", "xbow_matmul", "xbow_softmax"))
    xt = _t(x)
    want = (xt.cumsum(1) / torch.arange(1, x.shape[1] + 1, dtype=torch.float64)[:, None])
    for name in ("xbow_loop", "xbow_matmul", "xbow_softmax"):
        _compare(ctx, got[name], want, f"{name}(x): the mean of x[b, :t+1]")


# -- bigram ----------------------------------------------------------------------------------
@check("gpt.bigram")
def bigram(ctx: Context):
    V, B, T = 65, 4, 8
    W = {"token_embedding_table.weight": ctx.rng.normal(0, 1, (V, V)).astype(np.float32)}
    idx, targets = ctx.rng.integers(0, V, (2, B, T))
    got = ctx.mapping(ctx.probe("bigram", vocab_size=V, weights=W, idx=idx, targets=targets,
                                max_new_tokens=5),
                      "BigramLanguageModel", ("logits", "loss_none", "loss", "generated"))
    want = _t(W["token_embedding_table.weight"])[torch.as_tensor(idx)]
    _compare(ctx, got["logits"], want, "logits = token_embedding_table(idx)")
    ctx.ensure(got["loss_none"] is True, "forward(idx) without targets should return loss None")
    ctx.close(ctx.number(got["loss"], "loss"), o_loss(want, targets), "cross-entropy loss")
    gen = ctx.array(got["generated"], "generate(idx, 5)", shape=(B, 6), kinds="iu")
    ctx.equal(gen[:, :1], idx[:, :1], "generate must keep the context it was given")
    ctx.ensure(((gen >= 0) & (gen < V)).all(), "generate returned ids outside the vocabulary")


# -- attention -------------------------------------------------------------------------------
def _attn_sizes(ctx: Context) -> tuple[int, int, int, int]:
    """(B, T, n_embd, head_size) with head_size != n_embd, T <= block_size."""
    return 2, int(ctx.rng.integers(5, 12)), 24, 8


@check("gpt.head")
def head(ctx: Context):
    B, T, C, hs = _attn_sizes(ctx)
    W = make_weights(ctx.rng, head_spec("", C, hs))
    x = _x(ctx, B, T, C)
    got = ctx.probe("head", head_size=hs, n_embd=C, block_size=16, weights=W, x=x)
    _compare(ctx, got, o_head(W, "", _t(x)),
             f"Head({hs}) output vs scaled_dot_product_attention(q, k, v, is_causal=True)")


@check("gpt.multihead")
def multihead(ctx: Context):
    B, T, C, hs = _attn_sizes(ctx)
    nh = C // hs
    W = make_weights(ctx.rng, mha_spec("", nh, hs, C))
    x = _x(ctx, B, T, C)
    got = ctx.probe("multihead", num_heads=nh, head_size=hs, n_embd=C, block_size=16,
                    weights=W, x=x)
    _compare(ctx, got, o_mha(W, "", _t(x), nh),
             f"MultiHeadAttention({nh}, {hs}) output (heads concatenated, then proj)")


@check("gpt.batched_heads")
def batched_heads(ctx: Context):
    B, T, C, hs = _attn_sizes(ctx)
    nh = C // hs
    W = make_weights(ctx.rng, mha_spec("", nh, hs, C))
    qkv = np.concatenate([np.concatenate([W[f"heads.{h}.{n}.weight"] for h in range(nh)])
                          for n in ("query", "key", "value")])
    batched = {"c_attn.weight": qkv, "c_proj.weight": W["proj.weight"],
               "c_proj.bias": W["proj.bias"]}
    x = _x(ctx, B, T, C)
    got = ctx.probe("batched_heads", n_embd=C, n_head=nh, block_size=16, weights=batched, x=x)
    _compare(ctx, got, o_mha(W, "", _t(x), nh),
             f"CausalSelfAttention(n_embd={C}, n_head={nh}) vs MultiHeadAttention with the same "
             "weights")


@check("gpt.causal")
def causal(ctx: Context):
    cfg = _cfg(ctx) | {"head_size": 8}
    B, T = 2, cfg["block_size"]
    t = int(ctx.rng.integers(1, T - 2))
    for kind in ("Head", "MultiHeadAttention", "Block", "GPTLanguageModel"):
        if kind == "GPTLanguageModel":
            a = _tokens(ctx, cfg, B)
            b = a.copy()
            b[:, t + 1:] = (a[:, t + 1:] + 1 + ctx.rng.integers(0, 60, a[:, t + 1:].shape)) % 65
        else:
            a = _x(ctx, B, T, cfg["n_embd"])
            b = a.copy()
            b[:, t + 1:] = _x(ctx, B, T - t - 1, cfg["n_embd"])
        got = ctx.probe("causal", kind=kind, cfg=cfg, a=a, b=b)
        ctx.ensure(type(got) is list and len(got) == 2, f"{kind}: expected two outputs")
        out_a = ctx.array(got[0], f"{kind} output", kinds="f")
        out_b = ctx.array(got[1], f"{kind} output", shape=out_a.shape, kinds="f")
        ctx.ensure(out_a.ndim == 3 and out_a.shape[:2] == (B, T),
                   f"{kind}: expected output of shape ({B}, {T}, ...), got {out_a.shape}")
        moved = ~np.isclose(out_b[:, :t + 1], out_a[:, :t + 1], rtol=ctx.tol.rtol,
                            atol=ctx.tol.atol, equal_nan=True)
        if moved.any():
            first = int(np.flatnonzero(moved.any(axis=(0, 2)))[0])
            raise CheckFailed(f"{kind} is not causal: changing the input after position t={t} "
                              f"changed the output at position {first} <= t; mask the future "
                              "with tril before the softmax")
        ctx.ensure(not np.allclose(out_b[:, t + 1:], out_a[:, t + 1:]),
                   f"{kind}: the output after position t={t} ignores its own input")


# -- feed-forward, block, model --------------------------------------------------------------
@check("gpt.feedforward")
def feedforward(ctx: Context):
    C = 16
    W = make_weights(ctx.rng, ffwd_spec("", C))
    x = _x(ctx, 2, 5, C)
    got = ctx.probe("feedforward", n_embd=C, weights=W, x=x)
    _compare(ctx, got, o_ffwd(W, "", _t(x)),
             "FeedForward output: Linear(n_embd, 4 n_embd) -> ReLU -> Linear(4 n_embd, n_embd)")


@check("gpt.block")
def block(ctx: Context):
    B, T, C, nh = 2, int(ctx.rng.integers(5, 12)), 24, 3
    W = make_weights(ctx.rng, block_spec("", C, nh))
    x = _x(ctx, B, T, C)
    got = ctx.probe("block", n_embd=C, n_head=nh, block_size=16, weights=W, x=x)
    _compare(ctx, got, o_block(W, "", _t(x), nh),
             f"Block({C}, {nh}) output: x + sa(ln1(x)), then + ffwd(ln2(.)) (pre-norm)")


@check("gpt.model")
def model(ctx: Context):
    cfg = _cfg(ctx)
    W = make_weights(ctx.rng, gpt_spec(cfg))
    B, T = 3, int(ctx.rng.integers(cfg["block_size"] // 2, cfg["block_size"] + 1))
    idx, targets = _tokens(ctx, cfg, B, T), _tokens(ctx, cfg, B, T)
    got = ctx.mapping(ctx.probe("model", cfg=cfg, weights=W, idx=idx, targets=targets),
                      "GPTLanguageModel", ("logits", "loss_none", "loss"))
    want = o_gpt(W, idx, cfg)
    _compare(ctx, got["logits"], want, "GPTLanguageModel logits")
    ctx.ensure(got["loss_none"] is True, "forward(idx) without targets should return loss None")
    ctx.close(ctx.number(got["loss"], "loss"), o_loss(want, targets),
              "cross-entropy loss with targets")


@check("gpt.generate")
def generate(ctx: Context):
    cfg = _cfg(ctx, block_size=8)
    B, T0, n_new = 2, 11, 10   # the context is already longer than block_size
    for _ in range(20):
        W = make_weights(ctx.rng, gpt_spec(cfg))
        idx = _tokens(ctx, cfg, B, T0)
        seq, gap = _greedy(W, idx, cfg, n_new)
        if gap > 1e-3:   # float32 logits are ~1e-5 off the float64 oracle: 100x margin
            break
    # scale lm_head so the softmax is ~one-hot: sampling then gives the argmax, whatever the RNG
    scale = np.float32(40.0 / gap)
    W["lm_head.weight"] = W["lm_head.weight"] * scale
    W["lm_head.bias"] = W["lm_head.bias"] * scale
    got = ctx.array(ctx.probe("generate", cfg=cfg, weights=W, idx=idx, max_new_tokens=n_new),
                    f"generate(idx of shape {idx.shape}, {n_new})", shape=(B, T0 + n_new),
                    kinds="iu")
    ctx.equal(got[:, :T0], idx, "generate must return the context followed by the new tokens")
    ctx.equal(got, seq, "generated tokens of a model whose softmax is one-hot (each step must "
              f"see only the last block_size={cfg['block_size']} tokens)",
              lambda i: f"row {i // seq.shape[1]}, position {i % seq.shape[1]}")


def _greedy(W: dict, idx: np.ndarray, cfg: dict, n_new: int) -> tuple[np.ndarray, float]:
    """Argmax continuation cropped to block_size, and the smallest top-2 logit gap seen."""
    seq, gap = idx.copy(), np.inf
    for _ in range(n_new):
        logits = o_gpt(W, seq[:, -cfg["block_size"]:], cfg)[:, -1].numpy()
        top = np.sort(logits, axis=1)
        gap = min(gap, float((top[:, -1] - top[:, -2]).min()))
        seq = np.concatenate([seq, logits.argmax(1)[:, None]], axis=1)
    return seq, gap


# -- a short training run --------------------------------------------------------------------
@check("gpt.train")
def train(ctx: Context):
    p = ctx.params
    cfg = _cfg(ctx)
    text = read_text("tinyshakespeare.txt")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.uint8)
    n = int(0.9 * len(data))
    seed = int(ctx.rng.integers(0, 2**31))
    got = ctx.mapping(ctx.probe("train", cfg=cfg, train_data=data[:n].astype(np.uint8),
                                iters=p["iters"], batch_size=p["batch_size"], lr=p["lr"],
                                seed=seed), "training", ("losses", "weights"))
    losses = ctx.numbers(got["losses"], "losses", p["iters"])
    ctx.ensure(np.isfinite(losses).all(), "the training loss became NaN or infinite")
    spec = gpt_spec(cfg)
    W = got["weights"]
    ctx.ensure(type(W) is dict and set(W) == set(spec),
               "the trained model's parameters should have the lecture's names: "
               f"missing {sorted(set(spec) - set(W))[:3]}")
    for name, (_, shape) in spec.items():
        ctx.array(W[name], name, shape=shape, kinds="f")
    # the parent's own forward pass on the student's trained weights, on held-out text
    val = data[n:]
    T = cfg["block_size"]
    ix = ctx.rng.integers(0, len(val) - T - 1, p["eval_windows"])
    x = np.stack([val[i:i + T] for i in ix])
    y = np.stack([val[i + 1:i + T + 1] for i in ix])
    with torch.no_grad():
        val_loss = o_loss(o_gpt(W, x, cfg), y)
    ctx.ensure(val_loss < p["max_val_loss"],
               f"after {p['iters']} AdamW steps (lr {p['lr']:g}, batch {p['batch_size']}, "
               f"{cfg}) the val loss is {val_loss:.3f}; a working GPT gets below "
               f"{p['max_val_loss']} (a model whose attention does nothing stays near 2.52)")
    # no number in the note: 500 float32 steps amplify any last-bit difference, and the same
    # seed must give the same report
    return f"val loss below {p['max_val_loss']}"
