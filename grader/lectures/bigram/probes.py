"""Probes for lecture 2 (makemore bigram). The worker has torch preloaded (course.yaml).

Every probe hands the student's functions inputs built by the parent (words, stoi, count and
weight matrices) and sends back what they return, converted to plain data: tensors become numpy
arrays with their own dtype, so the parent can check dtype and shape before comparing.
"""
from __future__ import annotations

import random

import torch
from zth_worker.probes import attr, callback, module, probe
from zth_worker.probes._makemore import array, number, tensor


def _counts(pkg):
    return module(pkg, "counts")


def _neural(pkg):
    return module(pkg, "neural")


def _ex(pkg):
    return module(pkg, "exercises")


@probe
def vocab(pkg, word_lists):
    build_vocab = attr(_counts(pkg), "build_vocab")
    out = []
    for words in word_lists:
        stoi, itos = build_vocab(list(words))
        # itos as [index, char] pairs, whatever it holds: the parent says which entry is wrong
        pairs = itos.items() if isinstance(itos, dict) else enumerate(itos)
        out.append({"stoi": dict(stoi), "itos": [[k, v] for k, v in pairs]})
    return out


@probe
def counts(pkg, word, words, stoi):
    c = _counts(pkg)
    pairs = ["".join(p) for p in attr(c, "bigrams")([word])]
    N = attr(c, "count_bigrams")(list(words), dict(stoi))
    return {"pairs": pairs, "N": array(N, "count_bigrams(...)")}


@probe
def smoothing(pkg, cases):
    probabilities = attr(_counts(pkg), "probabilities")
    return [array(probabilities(tensor(N, torch.int32), k), f"probabilities(N, k={k})")
            for N, k in cases]


@probe
def nll(pkg, cases, stoi):
    fn = attr(_counts(pkg), "nll")
    return [number(fn(list(words), tensor(P, torch.float32), dict(stoi)), "nll(...)")
            for words, P in cases]


@probe
def sample(pkg, P, itos, n, seed):
    g = torch.Generator().manual_seed(seed)
    itos = {i: s for i, s in enumerate(itos)}
    out = attr(_counts(pkg), "sample")(tensor(P, torch.float32), itos, n, g)
    if not isinstance(out, list) or not all(isinstance(s, str) for s in out):
        raise TypeError("sample(...) should return a list of strings")
    return out


# -- neural bigram ----------------------------------------------------------------------------
@probe
def dataset(pkg, words, stoi):
    xs, ys = attr(_neural(pkg), "make_dataset")(list(words), dict(stoi))
    return {"xs": array(xs, "xs"), "ys": array(ys, "ys")}


@probe
def forward(pkg, fn, xs, W):
    logits = attr(_neural(pkg), fn)(tensor(xs, torch.long), tensor(W, torch.float32))
    return array(logits, f"{fn}(xs, W)")


@probe
def losses(pkg, logits, ys, W, reg, offset):
    n = _neural(pkg)
    manual, ce = attr(n, "manual_loss"), attr(n, "cross_entropy_loss")
    ys_t = tensor(ys, torch.long)
    out = {"manual": number(manual(tensor(logits, torch.float32), ys_t), "manual_loss(...)"),
           "ce": number(ce(tensor(logits, torch.float32), ys_t), "cross_entropy_loss(...)")}
    W_t = tensor(W, torch.float32, grad=True)
    out["manual_reg"] = number(manual(tensor(logits, torch.float32), ys_t, W_t, reg),
                               "manual_loss(..., W, reg)")
    lg = tensor(logits, torch.float32, grad=True)
    loss = ce(lg, ys_t, W_t, reg)
    out["ce_reg"] = number(loss, "cross_entropy_loss(..., W, reg)")
    loss.backward()
    out["grad_logits"] = array(lg.grad, "logits.grad") if lg.grad is not None else None
    out["grad_W"] = array(W_t.grad, "W.grad") if W_t.grad is not None else None
    out["ce_large"] = number(ce(tensor(logits, torch.float32) + offset, ys_t),
                             f"cross_entropy_loss(logits + {offset}, ys)")
    return out


@probe
def gradient_descent(pkg, xs, ys, W, steps, lr, reg):
    W_t = tensor(W, torch.float32, grad=True)
    losses = attr(_neural(pkg), "gradient_descent")(tensor(xs, torch.long), tensor(ys, torch.long),
                                                    W_t, steps, lr=lr, reg=reg)
    return {"W": array(W_t, "W"), "losses": [number(v, "a loss") for v in losses]}


# -- exercises ------------------------------------------------------------------------------
@probe
def trigram(pkg, word, words, stoi, N3, k, eval_words, P3):
    e = _ex(pkg)
    stoi = dict(stoi)
    return {
        "triples": ["".join(t) for t in attr(e, "trigrams")([word])],
        "N3": array(attr(e, "trigram_counts")(list(words), stoi), "trigram_counts(...)"),
        "P3": array(attr(e, "trigram_probabilities")(tensor(N3, torch.int32), k),
                    "trigram_probabilities(...)"),
        "nll": number(attr(e, "trigram_nll")(list(eval_words), tensor(P3, torch.float32), stoi),
                      "trigram_nll(...)"),
    }


@probe
def split(pkg, words, seeds, other):
    """split_words twice with the same seed (the global random state disturbed in between) and
    once with another seed; each call gets its own copy of the list. With each split come what
    the docstring says must not change: the caller's list after the call, and the next number
    of the global `random` generator (seeded here with other + k, so the parent knows it)."""
    fn = attr(_ex(pkg), "split_words")
    out = []
    for s in seeds:
        random.seed(other + len(out))
        caller = list(words)
        parts = fn(caller, s)
        if not isinstance(parts, (tuple, list)) or len(parts) != 3:
            raise TypeError("split_words should return (train, dev, test)")
        out.append({"parts": [list(p) for p in parts], "caller": list(caller),
                    "random": random.getrandbits(62)})
    return out


@probe
def evaluate_splits(pkg, train, dev, test, k):
    res = attr(_ex(pkg), "evaluate_splits")(list(train), list(dev), list(test), k)
    return {m: {s: number(res[m][s], f"{m} {s} loss") for s in ("train", "dev", "test")}
            for m in ("bigram", "trigram")}


@probe
def sweep(pkg, train, dev, test, strengths):
    """Run the student's sweep with an `evaluate` that asks the parent: the losses, and the log
    of which split was scored with which k, live there (a rewritten log here changes nothing)."""
    def evaluate(train_words, eval_words, k):
        return callback("evaluate", train_words=[str(w) for w in train_words],
                        eval_words=[str(w) for w in eval_words], k=number(k, "k"))

    res = attr(_ex(pkg), "sweep_smoothing")(list(train), list(dev), list(test), list(strengths),
                                            evaluate)
    if not isinstance(res, dict):
        raise TypeError("sweep_smoothing should return a dict")
    return {"dev": [number(v, "a dev loss") for v in res.get("dev", [])],
            "best": number(res["best"], "best") if "best" in res else None,
            "test": number(res["test"], "test") if "test" in res else None}
