"""Checks for lecture 7 (GPT): data, the averaging trick, attention vs PyTorch's
`scaled_dot_product_attention`, Block/model equality with a float64 oracle given the same weights,
causality, init loss, generation with block_size cropping, and a short training run.

The oracle is a functional float64 re-implementation here (torch ops only), fed the very weights
the worker copies into the student's modules by the lecture's parameter names.

Verify, don't trust: every verdict rests on what this process computes from inputs the worker
could not predict. The modules run on weights and inputs drawn here and their outputs are
compared with the oracle on the same weights (causality too: a pair of made-up outputs that agree
up to t is not enough); the init loss must be the loss of the model's own reported initial
weights on tokens drawn here; the training run starts from weights drawn here, on batches and a
learning-rate schedule drawn here, and every one of its steps is replayed here from the AdamW
state the worker reports before each segment, so the final weights are those of the run asked
for. What the worker reports beyond that (forward-hook records of each submodule) only words a
failure, never decides one.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.nn import functional as F

from ...check import CheckFailed, Context, check
from ...data import read_text
from ...figures import replay_curves


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
    for s, pair in zip(seeds, batches):
        ctx.ensure(type(pair) is list and len(pair) == 2, "get_batch should return (x, y)")
        x = ctx.array(pair[0], "get_batch x", shape=(batch_size, block_size), kinds="iu")
        y = ctx.array(pair[1], "get_batch y", shape=(batch_size, block_size), kinds="iu")
        for row in range(batch_size):
            ok = any(x[row].tolist() == want_ids[i:i + block_size]
                     and y[row].tolist() == want_ids[i + 1:i + block_size + 1]
                     for i in range(n - block_size))
            ctx.ensure(ok, f"get_batch: row {row} of x is not a window of the train data with y "
                       "the same window shifted by one character")
        # the offsets are the generator's draws: replayed here, every window is known
        g = torch.Generator().manual_seed(s)
        offsets = torch.randint(n - block_size, (batch_size,), generator=g).tolist()
        for row, i in enumerate(offsets):
            if x[row].tolist() != want_ids[i:i + block_size]:
                got_at = next(j for j in range(n - block_size)
                              if x[row].tolist() == want_ids[j:j + block_size])
                raise CheckFailed(
                    f"get_batch(train, {block_size}, {batch_size}, generator seeded {s}): row "
                    f"{row} is the window at offset {got_at}, expected offset {i}: draw {row} of "
                    "torch.randint(len(data) - block_size, (batch_size,), generator=generator), "
                    "so that every start from 0 to len(data) - block_size - 1 is possible")
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
    _bigram_draws(ctx, V)


def _bigram_draws(ctx: Context, V: int, rows: int = 2048, T0: int = 3, steps: int = 3,
                  starts: int = 4) -> None:
    """generate() on `rows` contexts at once: each drawn token must follow softmax over the
    vocabulary of the table row of the token before it (whatever the sampler: multinomial,
    Categorical, ...). A softmax over the batch, a row other than the last position's, or an
    argmax instead of a draw fails a chi-square test by hundreds of standard deviations; the
    contexts end in a few tokens repeated `rows / starts` times each, so every one of those
    has hundreds of draws. The table is drawn here, so the draws cannot be made up."""
    W = ctx.rng.normal(0, 1.5, (V, V)).astype(np.float32)
    idx = ctx.rng.integers(0, V, (rows, T0))
    idx[:, -1] = ctx.rng.permutation(np.repeat(ctx.rng.choice(V, starts, replace=False),
                                               rows // starts))
    what = f"BigramLanguageModel.generate(idx of shape {idx.shape}, {steps})"
    gen = ctx.array(ctx.probe("bigram_sample", vocab_size=V,
                              weights={"token_embedding_table.weight": W}, idx=idx,
                              max_new_tokens=steps), what, shape=(rows, T0 + steps), kinds="iu")
    ctx.equal(gen[:, :T0], idx, f"{what} must return the context followed by the new tokens",
              lambda i: f"row {i // T0}, position {i % T0}")
    ctx.ensure(((gen >= 0) & (gen < V)).all(), f"{what} returned ids outside the vocabulary")
    P = torch.softmax(_t(W), dim=-1).numpy()
    _draws_fit(ctx, gen[:, T0 - 1:-1].ravel(), gen[:, T0:].ravel(), P, what)


def _draws_fit(ctx: Context, prev: np.ndarray, nxt: np.ndarray, P: np.ndarray,
               what: str, name=lambda t: f"token {t}") -> None:
    """Chi-square goodness of fit of the drawn tokens `nxt` to the rows P[prev], for each
    previous token with at least 50 draws (cells expecting fewer than 5 draws pooled). Fails when
    the smallest p-value times the number of tokens tested (Bonferroni) is below the check's
    `sample_alpha` (course.yaml): a correct sampler fails that often, at most."""
    alpha = float(ctx.params.get("sample_alpha", 1e-9))
    tests = []
    for t in np.unique(prev):
        sel = prev == t
        n = int(sel.sum())
        if n < 50:
            continue
        seen = np.bincount(nxt[sel], minlength=P.shape[1]).astype(np.float64)
        want = n * P[t]
        small = want < 5
        o = np.append(seen[~small], seen[small].sum())
        e = np.append(want[~small], want[small].sum())
        if e[-1] == 0:
            o, e = o[:-1], e[:-1]
        dof = len(e) - 1
        if dof < 1:
            continue
        chi2 = float(((o - e) ** 2 / e).sum())
        p = float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                          torch.tensor(chi2 / 2, dtype=torch.float64)))
        worst = int(np.argmax(np.abs(seen - want) / np.sqrt(np.maximum(want, 1e-12))))
        tests.append((p, int(t), n, chi2, dof, worst, int(seen[worst]), float(want[worst])))
    ctx.ensure(bool(tests), f"{what}: no previous token was followed by 50 draws or more")
    p, t, n, chi2, dof, worst, count, want = min(tests)
    ctx.ensure(p * len(tests) >= alpha,
               f"{what}: expected draws from softmax(logits[:, -1, :], dim=-1), and the new "
               f"tokens are not (chi-square goodness of fit, {len(tests)} contexts "
               f"tested): worst after {name(t)} ({n} draws), chi-square {chi2:.3g} on {dof} "
               "degrees of freedom, "
               + ("p < 1e-300 < tolerance " if p == 0 else
                  f"p = {p:.3g}, times {len(tests)} = {p * len(tests):.3g} < tolerance ")
               + f"sample_alpha = {alpha:.3g}; token {worst} was drawn {count} times there, "
                 f"expected {want:.3g}")


# -- attention -------------------------------------------------------------------------------
def _attn_sizes(ctx: Context) -> tuple[int, int, int, int]:
    """(B, T, n_embd, head_size) with head_size != n_embd, T <= block_size, and T != head_size
    (so scaling by T instead of head_size, or the transposes confused, cannot pass)."""
    return 2, int(ctx.rng.choice([5, 6, 7, 9, 10, 11])), 24, 8


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
    C, nh, hs = cfg["n_embd"], cfg["n_head"], cfg["head_size"]
    # the grader's weights, so the outputs are tied to the inputs it chose (a pair of made-up
    # arrays that agree up to t would be "causal" too)
    kinds = {"Head": (head_spec("", C, hs), lambda W, v: o_head(W, "", _t(v))),
             "MultiHeadAttention": (mha_spec("", nh, hs, C), lambda W, v: o_mha(W, "", _t(v), nh)),
             "Block": (block_spec("", C, nh), lambda W, v: o_block(W, "", _t(v), nh)),
             "GPTLanguageModel": (gpt_spec(cfg), lambda W, v: o_gpt(W, v, cfg))}
    for kind, (spec, oracle) in kinds.items():
        W = make_weights(ctx.rng, spec)
        if kind == "GPTLanguageModel":
            a = _tokens(ctx, cfg, B)
            b = a.copy()
            b[:, t + 1:] = (a[:, t + 1:] + 1 + ctx.rng.integers(0, 60, a[:, t + 1:].shape)) % 65
        else:
            a = _x(ctx, B, T, cfg["n_embd"])
            b = a.copy()
            b[:, t + 1:] = _x(ctx, B, T - t - 1, cfg["n_embd"])
        got = ctx.probe("causal", kind=kind, cfg=cfg, weights=W, a=a, b=b)
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
        for v, out in ((a, out_a), (b, out_b)):
            _compare(ctx, out, oracle(W, v), f"{kind} is causal, but its output is not the "
                     f"lecture's {kind} for the grader's weights (the checks of {kind} say where)")


# -- feed-forward, block, model --------------------------------------------------------------
@check("gpt.feedforward")
def feedforward(ctx: Context):
    C = 16
    W = make_weights(ctx.rng, ffwd_spec("", C))
    x = _x(ctx, 2, 5, C)
    got = ctx.probe("feedforward", n_embd=C, weights=W, x=x)
    _compare(ctx, got, o_ffwd(W, "", _t(x)),
             "FeedForward output: Linear(n_embd, 4 n_embd) -> ReLU -> Linear(4 n_embd, n_embd)")


# -- first divergence by component -------------------------------------------------------------
# A forward that is wrong somewhere is judged on its final output; to say *where*, the probe also
# records what each submodule received and returned (forward hooks). Each component is then
# recomputed here from the input it received, in data-flow order, children before their parent:
# the first one whose output is not what the lecture's component gives on that input holds the
# bug. The record is the worker's word, so it only ever words a failure, never decides one.
def block_parts(p: str, n_head: int) -> list[tuple[str, str, object]]:
    """(module name, what it is, oracle on its input) of one Block, children first."""
    return ([(f"{p}ln1", "LayerNorm ln1", lambda W, x: o_ln(W, p + "ln1", x))]
            + [(f"{p}sa.heads.{h}", "Head", lambda W, x, h=h: o_head(W, f"{p}sa.heads.{h}.", x))
               for h in range(n_head)]
            + [(f"{p}sa.proj", "the Linear proj", lambda W, x: o_linear(W, p + "sa.proj", x)),
               (f"{p}sa", "MultiHeadAttention", lambda W, x: o_mha(W, p + "sa.", x, n_head)),
               (f"{p}ln2", "LayerNorm ln2", lambda W, x: o_ln(W, p + "ln2", x)),
               (f"{p}ffwd", "FeedForward", lambda W, x: o_ffwd(W, p + "ffwd.", x)),
               (p[:-1], "how Block.forward joins its parts: residuals, pre-norm",
                lambda W, x: o_block(W, p, x, n_head))])


def model_parts(cfg: dict) -> list[tuple[str, str, object]]:
    parts = [("token_embedding_table", "the token embedding",
              lambda W, i: _t(W["token_embedding_table.weight"])[torch.as_tensor(i).long()]),
             ("position_embedding_table", "the position embedding",
              lambda W, i: _t(W["position_embedding_table.weight"])[torch.as_tensor(i).long()])]
    for layer in range(cfg["n_layer"]):
        parts += block_parts(f"blocks.{layer}.", cfg["n_head"])
    return parts + [("ln_f", "the final LayerNorm ln_f", lambda W, x: o_ln(W, "ln_f", x)),
                    ("lm_head", "lm_head", lambda W, x: o_linear(W, "lm_head", x))]


def first_divergence(ctx: Context, W: dict, trace, parts, feeds: dict) -> str:
    """The first component, in data-flow order, whose recorded output is not the lecture's on
    its recorded input, or that is fed something else than it should be (`feeds`: name ->
    (the array it must get, or the module whose output it must get; in words))."""
    if type(trace) is not dict:
        return ""
    def rec(name):
        r = trace.get(name)
        ok = (type(r) is list and len(r) == 2
              and all(type(a) is np.ndarray and not a.dtype.hasobject for a in r))
        return r if ok else None

    seen = []
    for name, what, oracle in parts:
        label = name or "the Block itself"
        r = rec(name)
        if name in feeds:
            source, words = feeds[name]
            if r is None:
                return f"first divergence: {label} ({what}) is never called"
            want_in = rec(source)[1] if isinstance(source, str) and rec(source) else source
            if isinstance(want_in, np.ndarray) and (want_in.shape != r[0].shape or not np.allclose(
                    r[0], want_in, rtol=ctx.tol.rtol, atol=ctx.tol.atol)):
                return f"first divergence: the input of {label} ({what}) is not {words}"
        if r is None:
            continue
        x, y = r
        try:
            want = oracle(W, _t(x) if x.dtype.kind == "f" else x).numpy()
        except (RuntimeError, IndexError, ValueError, TypeError):
            continue
        if want.shape != y.shape:
            return (f"first divergence at {label} ({what}): output shape {y.shape}, expected "
                    f"{want.shape}")
        ok = np.isclose(y, want, rtol=ctx.tol.rtol, atol=ctx.tol.atol)
        if not ok.all():
            at = int(np.argmax(np.where(ok, -np.inf, np.abs(y - want))))
            where = _where_btc(want.shape)(at) if want.ndim == 3 else str(at)
            after = f" ({', '.join(seen[-2:])} before it match)" if seen else ""
            return (f"first divergence at {label} ({what}): given the input it received, "
                    f"{int((~ok).sum())} of {ok.size} output values are off ({ctx.tol}); worst "
                    f"at {where}: got {y.ravel()[at]:.3g}, expected {want.ravel()[at]:.3g}"
                    f"{after}")
        seen.append(label)
    return ""


def _compare_traced(ctx: Context, got, want: torch.Tensor, what: str, W: dict, trace, parts,
                    feeds: dict, last: str = "") -> None:
    try:
        _compare(ctx, got, want, what)
    except CheckFailed as e:
        first = first_divergence(ctx, W, trace, parts, feeds)
        if not first and last and type(trace) is dict and type(trace.get(last)) is list \
                and type(got) is np.ndarray and not np.allclose(trace[last][1], got):
            first = f"first divergence: the output is not what {last} returns"
        raise CheckFailed(f"{first}\n{e}" if first else str(e)) from None


@check("gpt.block")
def block(ctx: Context):
    B, T, C, nh = 2, int(ctx.rng.integers(5, 12)), 24, 3
    W = make_weights(ctx.rng, block_spec("", C, nh))
    x = _x(ctx, B, T, C)
    got = ctx.mapping(ctx.probe("block", n_embd=C, n_head=nh, block_size=16, weights=W, x=x),
                      "Block", ("out", "trace"))
    parts = [(n[2:] if n.startswith("b.") else "", w,
              lambda W, x, f=f: f({"b." + k: v for k, v in W.items()}, x))
             for n, w, f in block_parts("b.", nh)]
    _compare_traced(ctx, got["out"], o_block(W, "", _t(x), nh),
                    f"Block({C}, {nh}) output: x + sa(ln1(x)), then + ffwd(ln2(.)) (pre-norm)",
                    W, got["trace"], parts, {"ln1": (x, "the Block's input x")})


@check("gpt.model")
def model(ctx: Context):
    cfg = _cfg(ctx)
    W = make_weights(ctx.rng, gpt_spec(cfg))
    B, T = 3, int(ctx.rng.integers(cfg["block_size"] // 2, cfg["block_size"] + 1))
    idx, targets = _tokens(ctx, cfg, B, T), _tokens(ctx, cfg, B, T)
    got = ctx.mapping(ctx.probe("model", cfg=cfg, weights=W, idx=idx, targets=targets),
                      "GPTLanguageModel", ("logits", "loss_none", "loss", "trace"))
    want = o_gpt(W, idx, cfg)
    emb = (_t(W["token_embedding_table.weight"])[torch.as_tensor(idx)]
           + _t(W["position_embedding_table.weight"])[:T]).numpy()
    L = cfg["n_layer"]
    feeds = {"blocks.0.ln1": (emb, "token_embedding_table(idx) + position_embedding_table("
                              "arange(T)), the sum of the two embeddings"),
             **{f"blocks.{i}.ln1": (f"blocks.{i - 1}", f"the output of blocks.{i - 1}")
                for i in range(1, L)},
             "ln_f": (f"blocks.{L - 1}", f"the output of the last block, blocks.{L - 1}"),
             "lm_head": ("ln_f", "the output of ln_f")}
    _compare_traced(ctx, got["logits"], want, "GPTLanguageModel logits", W, got["trace"],
                    model_parts(cfg), feeds, last="lm_head")
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
    # and a draw, not an argmax: 1024 rows of 4 contexts, the first new token of each tested
    # against the softmax of the grader's logits for its context (unscaled weights)
    W = make_weights(ctx.rng, gpt_spec(cfg))
    contexts = _tokens(ctx, cfg, 4, 5)
    which = ctx.rng.permutation(np.repeat(np.arange(4), 256))
    idx = contexts[which]
    what = f"GPTLanguageModel.generate(idx of shape {idx.shape}, 1)"
    got = ctx.array(ctx.probe("generate", cfg=cfg, weights=W, idx=idx, max_new_tokens=1),
                    what, shape=(len(idx), 6), kinds="iu")
    ctx.equal(got[:, :5], idx, f"{what} must return the context followed by the new token")
    ctx.ensure(((got >= 0) & (got < cfg["vocab_size"])).all(),
               f"{what} returned ids outside the vocabulary")
    P = torch.softmax(o_gpt(W, contexts, cfg)[:, -1], dim=-1).numpy()
    _draws_fit(ctx, which, got[:, 5], P, what, lambda k: f"context {k} {contexts[k].tolist()}")


def _greedy(W: dict, idx: np.ndarray, cfg: dict, n_new: int) -> tuple[np.ndarray, float]:
    """Argmax continuation cropped to block_size, and the smallest top-2 logit gap seen."""
    seq, gap = idx.copy(), np.inf
    for _ in range(n_new):
        logits = o_gpt(W, seq[:, -cfg["block_size"]:], cfg)[:, -1].numpy()
        top = np.sort(logits, axis=1)
        gap = min(gap, float((top[:, -1] - top[:, -2]).min()))
        seq = np.concatenate([seq, logits.argmax(1)[:, None]], axis=1)
    return seq, gap


# -- a short training run, every step verified ------------------------------------------------
# torch.optim.AdamW's defaults, which the lecture's loop uses
BETA1, BETA2, EPS, WEIGHT_DECAY = 0.9, 0.999, 1e-8, 0.01
# |exp_avg| <= ADAM_BOUND * sqrt(exp_avg_sq) holds for every AdamW state (Cauchy-Schwarz on the
# two moving averages: (1 - b1) / sqrt(1 - b2) / sqrt(1 - b1^2 / b2) = 7.2703); a reported state
# outside it would make one replayed step jump anywhere
ADAM_BOUND = 7.2704


def init_weights(rng: np.random.Generator, spec: dict) -> dict[str, np.ndarray]:
    """The lecture's initialisation (`_init_weights`): normal(0, 0.02) weights and embeddings,
    zero biases, LayerNorm gains 1. Drawn by the parent, so the run starts where it says."""
    out = {}
    for name, (kind, shape) in spec.items():
        if kind in ("linear", "embedding"):
            w = rng.normal(0, 0.02, shape)
        else:
            w = np.ones(shape) if kind == "ln_weight" else np.zeros(shape)
        out[name] = w.astype(np.float32)
    return out


class Flat:
    """All of a model's parameters as one row of a (segments, n) tensor, and back by name."""

    def __init__(self, spec: dict):
        self.names = list(spec)
        self.shapes = [tuple(spec[k][1]) for k in self.names]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.cumsum([0, *self.sizes])

    def pack(self, per_name: dict) -> np.ndarray:
        """{name: (K, *shape)} -> (K, n)."""
        return np.concatenate([np.asarray(per_name[k]).reshape(len(per_name[k]), -1)
                               for k in self.names], axis=1)

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: flat[:, a:a + n].view(flat.shape[0], *s)
                for k, a, n, s in zip(self.names, self.offsets, self.sizes, self.shapes)}

    def where(self, i: int) -> tuple[str, tuple]:
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.names[k], tuple(int(j) for j in np.unravel_index(i - self.offsets[k],
                                                                      self.shapes[k]))


def _seg_linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None):
    y = torch.bmm(x, w.transpose(1, 2))
    return y if b is None else y + b[:, None, :]


def _seg_ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(b[:, None, :], F.layer_norm(x, x.shape[-1:]), w[:, None, :])


def segments_forward(P: dict, idx: torch.Tensor, cfg: dict) -> torch.Tensor:
    """The GPT forward of K models at once (P: name -> (K, *shape), idx: (K, B, T)): the same
    function as `o_gpt`, with all heads of a layer in one matmul. Returns (K, B*T, vocab)."""
    K, B, T = idx.shape
    C, nh, V = cfg["n_embd"], cfg["n_head"], cfg["vocab_size"]
    hs = C // nh
    rows = (torch.arange(K) * V).view(K, 1, 1)
    tok = F.embedding(idx + rows, P["token_embedding_table.weight"].reshape(K * V, C))
    x = (tok + P["position_embedding_table.weight"][:, None, :T]).reshape(K, B * T, C)
    for layer in range(cfg["n_layer"]):
        p = f"blocks.{layer}."
        qkv = torch.cat([P[f"{p}sa.heads.{h}.{n}.weight"] for n in ("query", "key", "value")
                         for h in range(nh)], dim=1)
        h = _seg_ln(x, P[p + "ln1.weight"], P[p + "ln1.bias"])
        q, k, v = _seg_linear(h, qkv).view(K * B, T, 3, nh, hs).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        att = att.transpose(1, 2).reshape(K, B * T, C)
        x = x + _seg_linear(att, P[p + "sa.proj.weight"], P[p + "sa.proj.bias"])
        h = _seg_ln(x, P[p + "ln2.weight"], P[p + "ln2.bias"])
        h = torch.relu(_seg_linear(h, P[p + "ffwd.net.0.weight"], P[p + "ffwd.net.0.bias"]))
        x = x + _seg_linear(h, P[p + "ffwd.net.2.weight"], P[p + "ffwd.net.2.bias"])
    x = _seg_ln(x, P["ln_f.weight"], P["ln_f.bias"])
    return _seg_linear(x, P["lm_head.weight"], P["lm_head.bias"])


def replay_segments(flat: Flat, cfg: dict, start: tuple, windows: np.ndarray, lrs: np.ndarray,
                    first_step: np.ndarray):
    """The lecture's AdamW loop, every segment at once. Segment k starts from the state
    start = (weights, exp_avg, exp_avg_sq), each (K, n), takes the windows[k] (steps × batch ×
    block_size+1) with learning rates lrs[k], its step count starting at first_step[k].
    float32 like the student's run. Returns the losses (K × steps) and the end state."""
    W, m, v = (torch.tensor(a, dtype=torch.float32) for a in start)
    W.requires_grad_(True)
    win = torch.as_tensor(windows.astype(np.int64))
    K, S = lrs.shape
    losses = np.empty((K, S))
    lr_all = torch.as_tensor(lrs, dtype=torch.float32)
    for j in range(S):
        x, y = win[:, j, :, :-1], win[:, j, :, 1:]
        logits = segments_forward(flat.views(W), x, cfg)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                               reduction="none").view(K, -1).mean(1)
        (g,) = torch.autograd.grad(loss.sum(), W)
        losses[:, j] = loss.detach().numpy()
        with torch.no_grad():   # torch.optim.AdamW's update, per segment
            t = torch.as_tensor(first_step + j + 1, dtype=torch.float64)
            lr = lr_all[:, j:j + 1]
            W.mul_(1 - lr * WEIGHT_DECAY)
            m.mul_(BETA1).add_(g, alpha=1 - BETA1)
            v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
            step = (lr / (1 - BETA1 ** t).to(torch.float32)[:, None])
            denom = (v / (1 - BETA2 ** t).to(torch.float32)[:, None]).sqrt_().add_(EPS)
            W.sub_(step * m / denom)
    return losses, (W.detach().numpy(), m.numpy(), v.numpy())


def _state_reply(ctx: Context, value, key: str, spec: dict, K: int, seg: int) -> dict:
    what = f"the {key} after every {seg} steps"
    ctx.ensure(type(value) is dict and set(value) == set(spec),
               f"{what}: expected one entry per parameter of the lecture's model, by name")
    out = {}
    for name, (_, shape) in spec.items():
        a = ctx.array(value[name], f"{what}: {name}", shape=(K, *shape), kinds="f")
        ctx.ensure(np.isfinite(a).all(), f"{what}: {name} holds NaN or infinity")
        out[name] = a
    return out


def _adam_state(ctx: Context, flat: Flat, mk: np.ndarray, vk: np.ndarray, first: int,
                seg: int) -> None:
    ctx.ensure((vk >= 0).all(), "exp_avg_sq (AdamW's second moment) cannot be negative")
    loose = np.abs(mk) > ADAM_BOUND * np.sqrt(vk) * (1 + 1e-4) + 1e-20
    if loose.any():
        k, i = np.argwhere(loose)[0]
        name, where = flat.where(int(i))
        raise CheckFailed(f"the AdamW state after step {first + (k + 1) * seg} is not one AdamW "
                          f"can reach: {name}{list(where)} has exp_avg {mk[k, i]:.3g} with "
                          f"exp_avg_sq {vk[k, i]:.3g} (|exp_avg| <= {ADAM_BOUND:.2f} "
                          "sqrt(exp_avg_sq) always)")


def _rel(got: np.ndarray, want: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per segment: |got - want| / |scale| (L2 over all parameters)."""
    den = np.linalg.norm(scale, axis=1)
    return np.linalg.norm(got - want, axis=1) / np.where(den > 0, den, 1e-30)


@check("gpt.train")
def train(ctx: Context):
    p = ctx.params
    cfg = _cfg(ctx)
    iters, seg, bs, T = p["iters"], p["segment"], p["batch_size"], cfg["block_size"]
    K = iters // seg
    text = read_text("tinyshakespeare.txt")
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    data = np.array([stoi[c] for c in text], dtype=np.uint8)
    n = int(0.9 * len(data))
    spec, flat = gpt_spec(cfg), Flat(gpt_spec(cfg))
    # the run the parent asks for: its initial weights, its batches, and a learning rate that
    # drops at a step the worker cannot guess; the worker reports the AdamW state after each
    # segment and the parent replays every step from those reports
    W0 = init_weights(ctx.rng, spec)
    ix = ctx.rng.integers(0, n - T - 1, (iters, bs))
    windows = data[ix[..., None] + np.arange(T + 1)]                 # iters × batch × (T + 1)
    decay_at = int(ctx.rng.integers(*p["decay_range"]))
    lrs = np.where(np.arange(iters) < decay_at, p["lr"], p["lr_after"])
    # the run goes to the worker in parts; each part's segments are replayed in a thread
    # while the worker trains the next part (the replay's torch ops release the GIL)
    n_parts = p["parts"]
    per = K // n_parts * seg
    W0_flat = flat.pack({k: w[None] for k, w in W0.items()})
    zeros = np.zeros_like(W0_flat)
    losses, states, replays = [], [], []
    prev = (W0_flat, zeros, zeros)
    with ThreadPoolExecutor(1) as pool:
        for part in range(n_parts):
            a, b = part * per, iters if part == n_parts - 1 else (part + 1) * per
            k = (b - a) // seg
            got = ctx.mapping(ctx.probe("train", cfg=cfg, weights=W0 if part == 0 else None,
                                        windows=windows[a:b], lrs=[float(x) for x in lrs[a:b]],
                                        segment=seg),
                              "training", ("losses", "weights", "exp_avg", "exp_avg_sq"))
            losses.append(ctx.numbers(got["losses"], f"the losses of steps {a}..{b - 1}", b - a))
            Wk, mk, vk = (flat.pack(_state_reply(ctx, got[key], key, spec, k, seg))
                          for key in ("weights", "exp_avg", "exp_avg_sq"))
            _adam_state(ctx, flat, mk, vk, a, seg)
            starts = tuple(np.concatenate([s0, s1[:-1]]) for s0, s1 in zip(prev, (Wk, mk, vk)))
            replays.append(pool.submit(replay_segments, flat, cfg, starts,
                                       windows[a:b].reshape(k, seg, bs, T + 1),
                                       lrs[a:b].reshape(k, seg), a + np.arange(k) * seg))
            states.append((Wk, mk, vk, starts[0]))
            prev = (Wk[-1:], mk[-1:], vk[-1:])
        done = [f.result() for f in replays]
    losses = np.concatenate(losses)
    want = np.concatenate([d[0].reshape(-1) for d in done])
    Wk, mk, vk, W_start = (np.concatenate(x) for x in zip(*states))
    Wr, mr, vr = (np.concatenate(x) for x in zip(*(d[1] for d in done)))
    starts = (W_start,)
    want = want.reshape(-1)
    tol = p["replay"]
    bad_steps = np.flatnonzero(~(np.abs(losses - want) <= tol["loss"]))
    rel = {"weights": (_rel(Wk, Wr, Wk - starts[0]), tol["weights"], "of the segment's update"),
           "exp_avg": (_rel(mk, mr, mk), tol["exp_avg"], ""),
           "exp_avg_sq": (_rel(vk, vr, vk), tol["exp_avg_sq"], "")}
    bad_segs = sorted({int(k) for r, t, _ in rel.values() for k in np.flatnonzero(~(r <= t))})
    if bad_steps.size or bad_segs:
        _diverged(ctx, flat, losses, want, bad_steps, bad_segs, rel, (starts[0], Wk, Wr), seg,
                  decay_at, p, cfg)
    # the val loss: the grader's own float64 forward on the weights its replay of the last
    # segment ends with, on held-out windows drawn here
    final = {k: a[0].numpy() for k, a in flat.views(torch.from_numpy(Wr[-1:])).items()}
    val = data[n:]
    vix = ctx.rng.integers(0, len(val) - T - 1, p["eval_windows"])
    x, y = val[vix[:, None] + np.arange(T)], val[vix[:, None] + np.arange(1, T + 1)]
    with torch.no_grad():
        val_loss = o_loss(o_gpt(final, x, cfg), y)
    ctx.ensure(val_loss < p["max_val_loss"],
               f"after {iters} AdamW steps (lr {p['lr']:g}, {p['lr_after']:g} from step "
               f"{decay_at}, batch {bs}, {cfg}) the val loss is {val_loss:.3f} (measured by the "
               f"grader's own forward pass on the final weights of the replayed run, on "
               f"{p['eval_windows']} held-out windows); a working GPT gets below "
               f"{p['max_val_loss']} (a model whose attention does nothing stays near 2.5)")
    # no number in the note: the same seed must give the same report
    return (f"all {iters} steps match the grader's replay; val loss (the grader's own forward "
            f"on the replayed final weights, {p['eval_windows']} held-out windows) below "
            f"{p['max_val_loss']}")


def _diverged(ctx: Context, flat: Flat, losses, want, bad_steps, bad_segs, rel, W, seg: int,
              decay_at: int, p: dict, cfg: dict) -> None:
    """Fail naming the first step, in time order, where the run leaves the replay."""
    first_step = int(bad_steps[0]) if bad_steps.size else None
    first_seg = bad_segs[0] if bad_segs else None
    sched = (f"AdamW with lr {p['lr']:g} for steps 0..{decay_at - 1} and {p['lr_after']:g} "
             f"from step {decay_at}")
    if first_step is not None and (first_seg is None or first_step < (first_seg + 1) * seg):
        i = first_step
        start = i // seg * seg
        origin = "the grader's initial weights" if start == 0 else f"your state after step {start}"
        head = (f"step {i}: your minibatch loss {_g(losses[i])}, the replay's {_g(want[i])} "
                f"(abs err {_g(abs(losses[i] - want[i]))}, tolerance {p['replay']['loss']:g}; "
                f"replayed from {origin})")
        if i == start:
            head += ": the same weights give a different loss, so the forward pass differs"
        elif i // seg in bad_segs:       # the weights it started from differ: say which most
            steps = f"step {start}" if i - 1 == start else f"steps {start}..{i - 1}"
            head += (f"; of the updates in {steps} the one furthest off is "
                     f"{_furthest(flat, W, i // seg, cfg)}")
    else:
        k = first_seg
        key = max(rel, key=lambda q: rel[q][0][k] / rel[q][1])
        r, t, scale = rel[key]
        verb = "differ" if key == "weights" else "differs"
        head = (f"your AdamW state after step {(k + 1) * seg}: {key} {verb} from the replay of "
                f"steps {k * seg}..{(k + 1) * seg - 1} by {_g(r[k])} {scale} (relative, L2; "
                f"tolerance {t:g}); the update furthest off is {_furthest(flat, W, k, cfg)}")
    hint = ""
    if first_step is not None and first_step >= decay_at and not (bad_steps < decay_at).any() \
            and (first_seg is None or (first_seg + 1) * seg > decay_at):
        hint = (f" Every step before the learning rate drops at step {decay_at} matches: the "
                "schedule is not followed.")
    first = first_step if first_step is not None else (first_seg + 1) * seg
    tol = p["replay"]["loss"]
    ctx.figure("training", replay_curves(losses, want, tol, f"tolerance {tol:g}", decay_at, first,
                                         salt="zth-gpt-train", want_label="the grader's replay"))
    raise CheckFailed(f"training leaves the run the grader asked for ({sched}, its initial "
                      f"weights and batches); first at {head}. {bad_steps.size} of "
                      f"{len(losses)} steps and {len(bad_segs)} of {len(losses) // seg} segments "
                      f"outside tolerance.{hint}")


def _furthest(flat: Flat, W: tuple, k: int, cfg: dict) -> str:
    """The parameter whose update in segment k is furthest from the replay's, relative to its
    own update, with the module that owns it in the student's words."""
    W0, Wk, Wr = W
    parts = [(np.linalg.norm(Wk[k, a:a + n] - Wr[k, a:a + n])
              / max(np.linalg.norm(Wk[k, a:a + n] - W0[k, a:a + n]), 1e-30), name)
             for name, a, n in zip(flat.names, flat.offsets, flat.sizes)]
    off, name = max(parts)
    owner = max((m for m in model_parts(cfg) if name.startswith(m[0] + ".")),
                key=lambda m: len(m[0]), default=None)
    how = ("your run never moved it: no gradient reaches it" if off > 1e6
           else f"{_g(off)} of its own update: its gradients, or the updates, differ")
    return f"{name}'s ({owner[1] + ': ' if owner else ''}{how})"


def _g(x) -> str:
    return f"{float(x):.3g}"
