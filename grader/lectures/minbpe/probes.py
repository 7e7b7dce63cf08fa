"""Probes for lecture 8 (minBPE), on the API of Karpathy's minbpe repo.

Merges travel as [[id0, id1, new_id], ...] in the tokenizer's dict order, token bytes as hex.
Where a check needs fixed merges, the probe sets `merges` and `vocab` (the documented state that
encode and decode use) instead of training, so encoding is graded apart from training.
"""
from __future__ import annotations

import numpy as np
from zth_worker.probes import attr, module, probe

_GPT4 = {}   # one GPT4Tokenizer per worker: building it recovers ~100k merges


def _merges_out(merges) -> list:
    return [[int(a), int(b), int(i)] for (a, b), i in merges.items()]


def _merges_in(triples) -> dict:
    return {(int(a), int(b)): int(i) for a, b, i in triples}


def _vocab_for(merges: dict) -> dict:
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), i in sorted(merges.items(), key=lambda kv: kv[1]):
        vocab[i] = vocab[a] + vocab[b]
    return vocab


def _ints(ids) -> list:
    return [int(i) for i in ids]


def _tokenizer(pkg, kind: str, pattern: str | None = None):
    if kind == "basic":
        return attr(module(pkg, "basic"), "BasicTokenizer")()
    cls = attr(module(pkg, "regex"), "RegexTokenizer")
    return cls() if pattern is None else cls(pattern)


def _with_merges(pkg, kind: str, merges, pattern: str | None = None):
    tok = _tokenizer(pkg, kind, pattern)
    tok.merges = _merges_in(merges)
    tok.vocab = _vocab_for(tok.merges)
    return tok


@probe
def get_stats(pkg, cases):
    fn = attr(module(pkg, "base"), "get_stats")
    out = []
    for first, second in cases:
        counts = fn(list(first))
        again = fn(list(second), counts)   # counts=... updates the dict in place
        out.append({"single": [[int(a), int(b), int(n)] for (a, b), n in fn(list(first)).items()],
                    "summed": [[int(a), int(b), int(n)] for (a, b), n in counts.items()],
                    "same_dict": again is counts})
    return out


@probe
def merge(pkg, cases):
    fn = attr(module(pkg, "base"), "merge")
    return [_ints(fn(list(ids), (pair[0], pair[1]), idx)) for ids, pair, idx in cases]


@probe
def train(pkg, kind, text, vocab_size, pattern=None):
    tok = _tokenizer(pkg, kind, pattern)
    tok.train(text, vocab_size)
    merges = attr(tok, "merges", f"{type(tok).__name__}.merges")
    vocab = attr(tok, "vocab", f"{type(tok).__name__}.vocab")
    return {"merges": _merges_out(merges),
            "vocab": {str(int(i)): bytes(b).hex() for i, b in vocab.items()}}


@probe
def patterns(pkg, texts):
    import regex
    mod = module(pkg, "regex")
    pats = {"GPT2_SPLIT_PATTERN": attr(mod, "GPT2_SPLIT_PATTERN"),
            "GPT4_SPLIT_PATTERN": attr(mod, "GPT4_SPLIT_PATTERN"),
            "default": attr(mod, "RegexTokenizer")().pattern}
    return {name: [regex.findall(p, t) for t in texts] for name, p in pats.items()}


@probe
def encode(pkg, kind, merges, texts, ids_to_decode):
    tok = _with_merges(pkg, kind, merges)
    out = {"encode": [_ints(tok.encode(t)) for t in texts]}
    out["roundtrip"] = [tok.decode(list(ids)) for ids in out["encode"]]
    if kind == "regex":
        out["encode_ordinary"] = [_ints(tok.encode_ordinary(t)) for t in texts]
    out["decode"] = [tok.decode(list(ids)) for ids in ids_to_decode]
    return out


@probe
def special(pkg, merges, specials, cases, ids_to_decode):
    tok = _with_merges(pkg, "regex", merges)
    tok.register_special_tokens(dict(specials))
    out = []
    for text, allowed in cases:
        allowed = set(allowed) if type(allowed) is list else allowed
        try:
            out.append(_ints(tok.encode(text, allowed_special=allowed)))
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 (any error is the expected one here)
            out.append({"raised": type(e).__name__})
    return {"encode": out, "decode": [tok.decode(list(ids)) for ids in ids_to_decode]}


def _or_raised(fn, *args):
    """fn(*args), or the error it raised as data (not implemented still propagates)."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 (the check reports any error as the student's)
        return {"raised": f"{type(e).__name__}: {e}"[:200]}


@probe
def save_load(pkg, kind, merges, specials, text, ids, canonical):
    import os
    tok = _with_merges(pkg, kind, merges)
    if specials:
        tok.register_special_tokens(dict(specials))
    saved_pattern = str(tok.pattern)
    tok.save("zth_tok")
    with open("zth_tok.model", encoding="utf-8") as f:
        model = f.read()
    vocab_lines = 0
    if os.path.exists("zth_tok.vocab"):
        with open("zth_tok.vocab", encoding="utf-8") as f:
            vocab_lines = sum(1 for _ in f)
    with open("zth_ref.model", "w", encoding="utf-8") as f:
        f.write(canonical)
    loaded = []
    for path in ("zth_tok.model", "zth_ref.model"):
        fresh = _tokenizer(pkg, kind)
        fresh.load(path)
        dec = _or_raised(fresh.decode, list(ids))
        enc = _or_raised(lambda t, f=fresh: _ints(f.encode(t)), text)
        loaded.append({"merges": _merges_out(fresh.merges),
                       "special_tokens": {str(k): int(v) for k, v in fresh.special_tokens.items()},
                       "pattern": str(fresh.pattern), "decode": dec, "encode": enc})
    return {"model": model, "vocab_lines": vocab_lines, "saved_pattern": saved_pattern,
            "loaded": loaded}


def _gpt4(pkg):
    if pkg not in _GPT4:
        _GPT4[pkg] = attr(module(pkg, "gpt4"), "GPT4Tokenizer")()
    return _GPT4[pkg]


@probe
def gpt4(pkg, texts, ids_to_decode, allowed_special="none_raise"):
    tok = _gpt4(pkg)
    merges = attr(tok, "merges", "GPT4Tokenizer.merges")
    shuffle = attr(tok, "byte_shuffle", "GPT4Tokenizer.byte_shuffle")
    return {"merges": np.array(_merges_out(merges), dtype=np.int64).reshape(-1, 3),
            "byte_shuffle": [int(shuffle[i]) for i in range(256)],
            "encode": [np.array(_ints(tok.encode(t, allowed_special=allowed_special)),
                                dtype=np.int64) for t in texts],
            "decode": [tok.decode([int(i) for i in ids]) for ids in ids_to_decode]}
