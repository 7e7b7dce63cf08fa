"""Checks for lecture 2 (makemore bigram): counting model, neural bigram, exercises E01–E05.

Oracles are numpy/torch computations in float64 on the same inputs; seeded sampling is replayed
here with the same torch.Generator over the P the parent chose; E03's `evaluate` is a callback
the parent answers and logs. Inputs are random words drawn from
`ctx.rng` over a..z with random letter frequencies, so a hard-coded answer cannot pass.
"""
from __future__ import annotations

import random
import string
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F

from ...check import CallbackRefused, CheckFailed, Context, check

LETTERS = string.ascii_lowercase
CHARS = "." + LETTERS                     # index = position: '.' 0, 'a' 1, ..., 'z' 26
STOI = {c: i for i, c in enumerate(CHARS)}


# -- inputs ---------------------------------------------------------------------------------
def random_words(rng: np.random.Generator, n: int, letters: str = LETTERS, max_len: int = 8,
                 distinct: bool = False) -> list[str]:
    """n random words with skewed letter frequencies (so every count differs)."""
    weights = rng.dirichlet(np.full(len(letters), 0.7))
    weights = 0.5 * weights + 0.5 / len(letters)      # every letter stays possible
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n:
        length = int(rng.integers(1, max_len + 1))
        w = "".join(rng.choice(list(letters), size=length, p=weights))
        if distinct and w in seen:
            continue
        seen.add(w)
        words.append(w)
    return words


def covering_words(rng: np.random.Generator, n: int) -> list[str]:
    """Random words in which every letter a..z occurs (so the vocabulary is all 27 chars)."""
    words = random_words(rng, n)
    missing = set(LETTERS) - set("".join(words))
    if missing:
        words.append("".join(sorted(missing)))
    return words


def pairs_of(words: list[str], n: int = 2) -> list[tuple[int, ...]]:
    """Index tuples of every n-gram, each word padded with n-1 '.' in front and one behind."""
    out = []
    for w in words:
        chs = ["."] * (n - 1) + list(w) + ["."]
        out += [tuple(STOI[c] for c in chs[i:i + n]) for i in range(len(chs) - n + 1)]
    return out


def count_matrix(words: list[str], n: int = 2) -> np.ndarray:
    N = np.zeros((27,) * n, dtype=np.int64)
    for t in pairs_of(words, n):
        N[t] += 1
    return N


def probs32(N: np.ndarray, k: float) -> np.ndarray:
    """The lecture's float32 probabilities (N + k) / row sums, as the student's input."""
    P = torch.tensor(N).float() + k
    return (P / P.sum(-1, keepdim=True)).numpy()


def nll64(words: list[str], P: np.ndarray, n: int = 2) -> float:
    idx = np.array(pairs_of(words, n)).T
    return float(-np.log(P[tuple(idx)].astype(np.float64)).mean())


def _label(n: int):
    def where(i: int) -> str:
        idx = np.unravel_index(i, (27,) * n)
        return "N[" + ", ".join(f"'{CHARS[j]}'" for j in idx) + "]"
    return where


# -- counting model -------------------------------------------------------------------------
@check("bigram.vocab")
def vocab(ctx: Context):
    k = int(ctx.rng.integers(5, 16))
    subset = "".join(sorted(ctx.rng.choice(list(LETTERS), size=k, replace=False)))
    lists = [covering_words(ctx.rng, 40), random_words(ctx.rng, 30, subset)]
    got = ctx.probe("vocab", word_lists=lists)
    ctx.ensure(type(got) is list and len(got) == 2, "build_vocab: expected one (stoi, itos) each")
    for words, g in zip(lists, got):
        chars = "." + "".join(sorted(set("".join(words))))
        where = f"for words made of the letters {chars[1:]!r}"
        g = ctx.mapping(g, "build_vocab", ("stoi", "itos"))
        stoi = g["stoi"]
        ctx.ensure(type(g["itos"]) is list and all(type(e) is list and len(e) == 2
                                                  and type(e[0]) is int for e in g["itos"]),
                   "build_vocab: itos should map each index (an int) to its character")
        itos = {k: v for k, v in g["itos"]}
        ctx.ensure(type(stoi) is dict and set(stoi) == set(chars),
                   f"build_vocab: stoi {where}: expected exactly the keys {chars!r}, got "
                   f"{''.join(sorted(stoi)) if type(stoi) is dict else stoi!r}")
        for i, c in enumerate(chars):
            ctx.ensure(stoi[c] == i and type(stoi[c]) is int,
                       f"build_vocab: stoi[{c!r}] {where}: expected {i} ('.' is 0, then the "
                       f"letters in sorted order from 1), got {stoi[c]!r}")
            ctx.ensure(i in itos, f"build_vocab: itos {where} has no entry {i}: expected "
                       f"itos[{i}] = {c!r}")
            ctx.ensure(itos[i] == c, f"build_vocab: itos[{i}] {where}: expected {c!r}, got "
                       f"{itos[i]!r}")


@check("bigram.counts")
def counts(ctx: Context):
    word = random_words(ctx.rng, 1, max_len=6)[0]
    words = covering_words(ctx.rng, 60)
    got = ctx.mapping(ctx.probe("counts", word=word, words=words, stoi=STOI), "counts",
                      ("pairs", "N"))
    want_pairs = ["".join(CHARS[i] for i in t) for t in pairs_of([word])]
    ctx.ensure(got["pairs"] == want_pairs,
               f"bigrams([{word!r}]): expected {want_pairs} (a '.' before the first and after "
               f"the last character), got {got['pairs']}")
    N = ctx.array(got["N"], "count_bigrams(words, stoi)", (27, 27), kinds="iu")
    ctx.equal(N, count_matrix(words), f"bigram counts of {len(words)} random words",
              _label(2))


@check("bigram.smoothing")
def smoothing(ctx: Context):
    cases = []
    for k in (0.0, 1.0, float(np.round(ctx.rng.uniform(0.05, 5), 3))):
        N = count_matrix(covering_words(ctx.rng, 150))
        N[N.sum(1) == 0, 0] = 1            # no empty rows: k = 0 must stay finite
        cases.append((N.astype(np.int32), k))
    got = ctx.probe("smoothing", cases=cases)
    ctx.ensure(type(got) is list and len(got) == len(cases), "expected one P per call")
    for (N, k), P in zip(cases, got):
        P = ctx.array(P, f"probabilities(N, k={k})", (27, 27), kinds="f")
        want = (N + k) / (N + k).sum(1, keepdims=True)
        ctx.close(P, want, f"probabilities(N, k={k}): (N + k) normalised so each row sums to 1",
                  lambda i: f"P['{CHARS[i // 27]}', '{CHARS[i % 27]}']")


@check("bigram.nll")
def nll(ctx: Context):
    cases, want = [], []
    for k in (1.0, float(np.round(ctx.rng.uniform(0.1, 3), 3))):
        P = probs32(count_matrix(covering_words(ctx.rng, 200)), k)
        words = random_words(ctx.rng, int(ctx.rng.integers(20, 60)))
        cases.append((words, P))
        want.append(nll64(words, P))
    got = ctx.numbers(ctx.probe("nll", cases=cases, stoi=STOI), "nll values", len(cases))
    ctx.close(got, want, "average negative log likelihood over every bigram (start and end '.' "
              "included)", lambda i: f"word list {i}")


def sample_words(P: torch.Tensor, n: int, g: torch.Generator, longest: int = 200) -> list[str]:
    """The lecture's sampling loop, run by the parent on the P it chose: from ix = 0, draw the
    next index from row P[ix] with the seeded generator until '.' comes back."""
    words = []
    for _ in range(n):
        ix, word = 0, ""
        while len(word) < longest:
            ix = int(torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g))
            word += CHARS[ix]
            if ix == 0:
                break
        words.append(word)
    return words


@check("bigram.sample")
def sample(ctx: Context):
    P = ctx.rng.dirichlet(np.full(27, 0.5), size=27)
    P[:, 0] += 0.15                          # '.' likely enough that words stay short
    P[0, 0] = 0.0                            # no empty words
    P = (P / P.sum(1, keepdims=True)).astype(np.float32)
    seed, n = int(ctx.rng.integers(2**31)), 8
    got = ctx.probe("sample", P=P, itos=list(CHARS), n=n, seed=seed)
    ctx.ensure(type(got) is list and len(got) == n, f"sample(P, itos, {n}, g): expected {n} "
               f"words, got {len(got) if type(got) is list else got!r}")
    want = sample_words(torch.tensor(P), n, torch.Generator().manual_seed(seed))
    for i, (g, w) in enumerate(zip(got, want)):
        ctx.ensure(g.endswith(".") and "." not in g[:-1],
                   f"sample {i} is {g!r}: every word ends with '.', and only there")
        ctx.ensure(g == w, f"sample {i} with torch.Generator().manual_seed({seed}): expected "
                   f"{w!r}, got {g!r} (draw each character with torch.multinomial(P[ix], "
                   "num_samples=1, replacement=True, generator=g), starting from ix = 0)")


# -- neural bigram --------------------------------------------------------------------------
def _xy(ctx: Context, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array(pairs_of(covering_words(ctx.rng, n_words)), dtype=np.int64)
    return idx[:, 0].copy(), idx[:, 1].copy()


def _W(ctx: Context) -> np.ndarray:
    return ctx.rng.standard_normal((27, 27)).astype(np.float32)


@check("bigram.dataset")
def dataset(ctx: Context):
    words = random_words(ctx.rng, 12)
    got = ctx.mapping(ctx.probe("dataset", words=words, stoi=STOI), "make_dataset", ("xs", "ys"))
    idx = np.array(pairs_of(words))
    n = len(idx)
    xs = ctx.array(got["xs"], "xs", (n,), kinds="iu")
    ys = ctx.array(got["ys"], "ys", (n,), kinds="iu")
    ctx.equal(xs, idx[:, 0], f"xs for {words[:3]}...", lambda i: f"bigram {i}")
    ctx.equal(ys, idx[:, 1], f"ys for {words[:3]}...", lambda i: f"bigram {i}")


def _forward(ctx: Context, fn: str, what: str):
    xs, _ = _xy(ctx, 20)
    W = _W(ctx)
    got = ctx.array(ctx.probe("forward", fn=fn, xs=xs, W=W), f"{fn}(xs, W)", (len(xs), 27),
                    kinds="f")
    ctx.close(got, W[xs].astype(np.float64), f"{fn}(xs, W) = {what}",
              lambda i: f"logits[{i // 27}, {i % 27}]")


@check("bigram.onehot")
def onehot(ctx: Context):
    _forward(ctx, "forward_onehot", "F.one_hot(xs, 27).float() @ W")


@check("bigram.e04_indexing")
def e04_indexing(ctx: Context):
    _forward(ctx, "forward_index", "W[xs] (the same logits as the one-hot product)")


@check("bigram.e05_cross_entropy")
def e05_cross_entropy(ctx: Context):
    xs, ys = _xy(ctx, 20)
    W = _W(ctx)
    reg = float(np.round(ctx.rng.uniform(0.005, 0.05), 4))
    offset = 100.0
    logits = W[xs]
    got = ctx.mapping(ctx.probe("losses", logits=logits, ys=ys, W=W, reg=reg, offset=offset),
                      "losses", ("manual", "ce", "manual_reg", "ce_reg", "ce_large",
                                 "grad_logits", "grad_W"))
    lg = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(ys)
    plain = F.cross_entropy(lg, yt)
    with_reg = plain + reg * (Wt**2).mean()
    with_reg.backward()
    for key, label, want in (
            ("manual", "manual_loss(logits, ys)", plain.item()),
            ("ce", "cross_entropy_loss(logits, ys)", plain.item()),
            ("manual_reg", f"manual_loss(logits, ys, W, reg={reg})", with_reg.item()),
            ("ce_reg", f"cross_entropy_loss(logits, ys, W, reg={reg})", with_reg.item()),
            ("ce_large", (f"cross_entropy_loss(logits + {offset:g}, ys) (large logits: exp "
             "overflows in float32, F.cross_entropy does not)"), plain.item())):
        ctx.close(ctx.number(got[key], label), want, label)
    for key, label, want in (("grad_logits", "d loss / d logits", lg.grad),
                             ("grad_W", "d loss / d W (from the regulariser)", Wt.grad)):
        if got[key] is None:
            raise CheckFailed(f"{label}: no gradient reached it (keep the loss a tensor built "
                              "from logits and W, no .item() or .data inside)")
        ctx.close(ctx.array(got[key], label, tuple(want.shape), kinds="f"), want.numpy(), label)


def descend(W: np.ndarray, xs, ys, steps: int, lr: float, reg: float):
    """The oracle: the lecture's full-batch gradient descent, in float64."""
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    xt, yt = torch.tensor(xs), torch.tensor(ys)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(Wt[xt], yt) + reg * (Wt**2).mean()
        Wt.grad = None
        loss.backward()
        with torch.no_grad():
            Wt -= lr * Wt.grad
        losses.append(loss.item())
    return Wt.detach().numpy(), np.array(losses)


@check("bigram.gradient_descent")
def gradient_descent(ctx: Context):
    p = ctx.params
    xs, ys = _xy(ctx, p["words"])
    W = _W(ctx)
    steps = int(ctx.rng.integers(p["steps"][0], p["steps"][1] + 1))
    got = ctx.mapping(ctx.probe("gradient_descent", xs=xs, ys=ys, W=W, steps=steps, lr=p["lr"],
                                reg=p["reg"]), "gradient_descent", ("W", "losses"))
    want_W, want_losses = descend(W, xs, ys, steps, p["lr"], p["reg"])
    losses = ctx.numbers(got["losses"], "losses", steps)
    bad = np.flatnonzero(~np.isclose(losses, want_losses, rtol=ctx.tol.rtol, atol=ctx.tol.atol))
    if bad.size:          # steps in time order: the first that diverges, then the worst
        i = int(bad[0])
        cause = f" (so the update of step {i - 1} or this step's loss is wrong)" if i else ""
        first = (f"gradient_descent: the loss first diverges at step {i}: got "
                 f"{losses[i]:.3g}, expected {want_losses[i]:.3g}{cause}")
        try:
            ctx.close(losses, want_losses, f"loss at each of {steps} steps (lr {p['lr']}, "
                      f"reg {p['reg']})", lambda i: f"step {i}")
        except CheckFailed as e:
            raise CheckFailed(f"{first}; {e}") from None
    Wg = ctx.array(got["W"], "W", (27, 27), kinds="f")
    ctx.ensure(not np.array_equal(Wg, W), "W is unchanged after gradient_descent: update it in "
               "place (W.data += -lr * W.grad), do not rebind the name W")
    ctx.close(Wg, want_W, f"W after {steps} steps", lambda i: f"W[{i // 27}, {i % 27}]")


# -- exercises ------------------------------------------------------------------------------
@check("bigram.e01_trigram")
def e01_trigram(ctx: Context):
    word = random_words(ctx.rng, 1, max_len=6)[0]
    words = covering_words(ctx.rng, 200)
    N3 = count_matrix(covering_words(ctx.rng, 300), 3).astype(np.int32)
    k = float(np.round(ctx.rng.uniform(0.05, 2), 3))
    P3 = probs32(count_matrix(words, 3), k)
    eval_words = random_words(ctx.rng, 40)
    got = ctx.mapping(ctx.probe("trigram", word=word, words=words, stoi=STOI, N3=N3, k=k,
                                eval_words=eval_words, P3=P3), "trigram",
                      ("triples", "N3", "P3", "nll"))
    want = ["".join(CHARS[i] for i in t) for t in pairs_of([word], 3)]
    ctx.ensure(got["triples"] == want, f"trigrams([{word!r}]) should give {want} (two '.' in "
               f"front, one at the end), got {got['triples']}")
    ctx.equal(ctx.array(got["N3"], "trigram_counts(...)", (27, 27, 27), kinds="iu"),
              count_matrix(words, 3), "trigram_counts(words, stoi): N3[ch1, ch2, ch3]",
              _label(3))
    want_P = (N3 + k) / (N3 + k).sum(2, keepdims=True)
    ctx.close(ctx.array(got["P3"], "trigram_probabilities(...)", (27, 27, 27), kinds="f"),
              want_P, f"trigram_probabilities(N3, k={k}) (normalised over the last axis)",
              lambda i: _label(3)(i).replace("N[", "P3["))
    tri = nll64(eval_words, P3, 3)
    ctx.close(ctx.number(got["nll"], "trigram_nll(...)"), tri, "trigram_nll(words, P3, stoi)")
    bi = nll64(eval_words, probs32(count_matrix(words), k))
    return f"on held-out words the trigram scores {tri:.3f} vs the bigram's {bi:.3f}"


def _partition_ok(ctx: Context, words: list[str], parts, label: str) -> list[list[str]]:
    ctx.ensure(type(parts) is list and len(parts) == 3 and
               all(type(p) is list and all(type(w) is str for w in p) for p in parts),
               f"{label}: expected (train, dev, test), three lists of words")
    n = len(words)
    ctx.ensure(Counter(parts[0]) + Counter(parts[1]) + Counter(parts[2]) == Counter(words),
               f"{label}: train, dev and test must hold every word exactly once (no word lost, "
               "duplicated or shared between splits)")
    for part, frac, name in ((parts[0], 0.8, "train"), (parts[1], 0.1, "dev")):
        ctx.ensure(abs(len(part) - frac * n) <= 1, f"{label}: {name} should hold {frac:.0%} of "
                   f"the {n} words (about {frac * n:.0f}), got {len(part)}")
    return parts


@check("bigram.e02_split")
def e02_split(ctx: Context):
    words = covering_words(ctx.rng, int(ctx.rng.integers(150, 300)))
    s1, s2 = (int(s) for s in ctx.rng.choice(10**6, 2, replace=False))
    other = int(ctx.rng.integers(10**6))
    got = ctx.probe("split", words=words, seeds=[s1, s1, s2], other=other)
    ctx.ensure(type(got) is list and len(got) == 3, "split_words: expected three results")
    for k, (g, s) in enumerate(zip(got, (s1, s1, s2))):
        g = ctx.mapping(g, f"split_words(words, seed={s})", ("parts", "caller", "random"))
        # side effects the docstring forbids: the parent knows the caller's list and the next
        # draw of the global generator (the probe seeded it with other + k before the call)
        ctx.ensure(g["caller"] == words, f"split_words(words, seed={s}) changed the caller's "
                   "list (shuffled it in place); expected it untouched: shuffle a copy, e.g. "
                   "list(words)")
        ctx.ensure(g["random"] == random.Random(other + k).getrandbits(62),
                   f"split_words(words, seed={s}) changed the global random state (random.seed "
                   "/ random.shuffle); expected it untouched: use a generator of its own, "
                   "random.Random(seed)")
    a, b, c = (_partition_ok(ctx, words, g["parts"], f"split_words(words, seed={s})")
               for g, s in zip(got, (s1, s1, s2)))
    ctx.ensure(a == b, f"split_words(words, seed={s1}) gave two different splits: it must depend "
               "only on the seed (e.g. random.Random(seed).shuffle), not on the global random "
               "state")
    ctx.ensure(a != c, f"seeds {s1} and {s2} gave the same split: shuffle with the given seed")
    ctx.ensure(a[0] != words[:len(a[0])], "train is the first 80% of the words in their "
               "original order: shuffle them first")
    # evaluation on a fixed split given by the grader, so only evaluate_splits is tested here
    train, dev, test = (covering_words(ctx.rng, n) for n in (160, 25, 25))
    k = float(np.round(ctx.rng.uniform(0.2, 2), 3))
    got = ctx.probe("evaluate_splits", train=train, dev=dev, test=test, k=k)
    ctx.ensure(type(got) is dict, "evaluate_splits: expected a dict")
    for model, n in (("bigram", 2), ("trigram", 3)):
        P = probs32(count_matrix(train, n), k)
        for split, ws in (("train", train), ("dev", dev), ("test", test)):
            ctx.close(ctx.number(got[model][split], f"{model} {split}"), nll64(ws, P, n),
                      f"evaluate_splits: {model} NLL on {split} with k={k} (fit on train only)")


@check("bigram.e03_sweep")
def e03_sweep(ctx: Context):
    train, dev, test = (random_words(ctx.rng, n, distinct=True) for n in (30, 6, 6))
    m = int(ctx.rng.integers(5, 9))
    strengths = sorted(float(np.round(v, 4)) for v in 10 ** ctx.rng.uniform(-3, 1, m))
    strengths = sorted(set(strengths))
    m = len(strengths)
    # made-up losses, kept here: the best k on dev is at a random place, test differs from dev
    table = {name: [float(np.round(v, 6)) for v in ctx.rng.uniform(2.0, 3.0, m)]
             for name in ("train", "dev", "test")}
    parts = {"train": train, "dev": dev, "test": test}

    def evaluate(train_words, eval_words, k):
        """The stand-in `evaluate` the student's sweep calls (over the wire): the parent logs
        each call in ctx.calls and answers from the table."""
        if type(eval_words) is not list or type(train_words) is not list or \
                type(k) not in (int, float):
            raise CallbackRefused("evaluate(train_words, eval_words, k) takes two lists of "
                                  "words and a number")
        split = next((n for n, ws in parts.items() if eval_words == ws), None)
        idx = strengths.index(k) if k in strengths else None
        return float("nan") if split is None or idx is None else table[split][idx]

    res = ctx.mapping(ctx.probe("sweep", train=train, dev=dev, test=test, strengths=strengths,
                                callbacks={"evaluate": evaluate}, max_calls=20 * m),
                      "sweep_smoothing", ("dev", "best", "test"))
    # the verdict rests on the parent's own log of the calls, never on the worker's account
    calls = [c["args"] for c in ctx.calls if "value" in c]
    split_of = [next((n for n, ws in parts.items() if c["eval_words"] == ws), None)
                for c in calls]
    fn = "sweep_smoothing"
    ctx.ensure(None not in split_of, f"{fn}: evaluate(train_words, eval_words, k) was called "
               "with eval_words that are not exactly the train, dev or test list")
    ctx.ensure(all(c["train_words"] == train for c in calls), f"{fn}: every model must be "
               "fitted on the train split only: evaluate's first argument must be train")
    dev_ks = sorted({c["k"] for c, s in zip(calls, split_of) if s == "dev"})
    ctx.ensure(dev_ks == strengths, f"{fn}: evaluate on dev should run for every strength "
               f"{strengths}, it ran for {dev_ks}")
    tests = [c["k"] for c, s in zip(calls, split_of) if s == "test"]
    ctx.ensure(len(tests) == 1, f"{fn}: the test set was evaluated {len(tests)} times; expected "
               "it evaluated exactly once, at the end")
    dev_losses = ctx.numbers(res["dev"], "the returned dev losses", m)
    ctx.close(dev_losses, table["dev"], f"{fn}: dev loss per strength (as returned by evaluate)",
              lambda i: f"k={strengths[i]}")
    best = strengths[int(np.argmin(table["dev"]))]
    ctx.ensure(res["best"] == best, f"{fn}: best: the strength with the lowest dev loss is "
               f"{best}, got {res['best']}")
    ctx.ensure(tests[0] == best, f"{fn}: test was evaluated with k={tests[0]}, not the best "
               f"k={best}")
    ctx.close(ctx.number(res["test"], "test"), table["test"][strengths.index(best)],
              f"{fn}: the returned test loss")
