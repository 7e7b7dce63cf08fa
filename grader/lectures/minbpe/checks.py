"""Checks for lecture 8 (minBPE): get_stats/merge, training replayed merge by merge, encoding
replayed with the tokenizer's own merges, unicode and invalid UTF-8, special tokens, save/load,
and GPT4Tokenizer against tiktoken's cl100k_base.

Every oracle here is the parent's own few lines of BPE (or tiktoken): training is accepted when
each merge is *a* most frequent pair at its step (any tie-break), and every encoding is compared
with what the student's own merges give, so wrapping tiktoken gains nothing. Save/load is judged
by what comes back: the saved .model file read here as minbpe's load() reads it, and the
student's load() of that file and of one written here, then decoding and encoding inputs drawn
here. Verify, don't trust: no reply passes unless it follows from texts, merges and ids the worker
could not predict.
"""
from __future__ import annotations

import itertools
from collections import Counter
from functools import cache

import numpy as np
import regex

from ... import tiktoken_offline
from ...check import CheckFailed, Context, check
from ...data import read_text

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
            "<|endofprompt|>"]


@cache
def cl100k():
    return tiktoken_offline.cl100k_base()


@cache
def pattern(name: str) -> str:
    """The split patterns as tiktoken defines them (possessive forms, same splits)."""
    if name == "gpt2":
        from tiktoken_ext.openai_public import r50k_pat_str
        return r50k_pat_str
    return cl100k()._pat_str


# -- the parent's BPE ------------------------------------------------------------------------
def merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def chunks_of(text: str, pat: str | None) -> Counter:
    """Distinct chunks (as byte-id tuples) with their counts; the whole text when no pattern."""
    pieces = regex.findall(pattern(pat), text) if pat else [text]
    return Counter(tuple(p.encode("utf-8")) for p in pieces)


def pair_counts(chunks: Counter) -> Counter:
    stats = Counter()
    for ids, n in chunks.items():
        for pair in itertools.pairwise(ids):
            stats[pair] += n
    return stats


def merge_all(chunks: Counter, pair, idx) -> Counter:
    out = Counter()
    for ids, n in chunks.items():
        out[tuple(merge(list(ids), pair, idx))] += n
    return out


def train(text: str, pat: str | None, num_merges: int) -> list[list[int]]:
    """Merges for the encode checks (ties to the smallest pair: any rule would do)."""
    chunks, merges = chunks_of(text, pat), []
    for k in range(num_merges):
        stats = pair_counts(chunks)
        if not stats:
            break
        best = max(stats.values())
        pair = min(p for p, c in stats.items() if c == best)
        merges.append([pair[0], pair[1], 256 + k])
        chunks = merge_all(chunks, pair, 256 + k)
    return merges


def bpe(ids: list[int], ranks: dict) -> list[int]:
    """Encode one chunk: merge the pair with the lowest new id until none applies."""
    while len(ids) >= 2:
        found = [(ranks[p], p) for p in itertools.pairwise(ids) if p in ranks]
        if not found:
            break
        idx, pair = min(found)
        ids = merge(ids, pair, idx)
    return ids


def encode(text: str, merges, pat: str | None, shuffle: list[int] | None = None) -> list[int]:
    """`merges`: (a, b, id) triples, or the {(a, b): id} dict made of them once (cl100k's 100k
    merges take ~30 ms to index: build it once for many texts)."""
    ranks = merges if isinstance(merges, dict) else {(int(a), int(b)): int(i)
                                                     for a, b, i in merges}
    pieces = regex.findall(pattern(pat), text) if pat else [text]
    seen: dict[str, list[int]] = {}
    out = []
    for piece in pieces:
        if piece not in seen:
            raw = list(piece.encode("utf-8"))
            seen[piece] = bpe([shuffle[b] for b in raw] if shuffle else raw, ranks)
        out += seen[piece]
    return out


def vocab_of(merges) -> dict[int, bytes]:
    vocab = {i: bytes([i]) for i in range(256)}
    for a, b, i in sorted(merges, key=lambda m: m[2]):
        vocab[i] = vocab[a] + vocab[b]
    return vocab


def order_matters(merges) -> str | None:
    """A word whose encoding depends on applying the merges lowest id first rather than most
    frequent pair first: 'abc' + 'bc' * 4 where (a, b) is merged before (b, c), both letters'
    merges, and (c, b) is no merge. Random text alone leaves that bug unseen at some seeds."""
    ranks = {(int(a), int(b)): int(i) for a, b, i in merges}
    letters = set(range(ord("a"), ord("z") + 1))
    for (a, b), i in sorted(ranks.items(), key=lambda m: m[1]):
        for (b2, c), j in ranks.items():
            if b2 == b and j > i and {a, b, c} <= letters and (c, b) not in ranks:
                return bytes([a, b, c] + [b, c] * 4).decode()
    return None


# -- inputs ----------------------------------------------------------------------------------
POOLS = [
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ 0123456789 .,;:!?'\"-()[]{}<>/\\|",
    "".join(chr(c) for c in range(0xAC00, 0xAC00 + 400)),      # Korean syllables
    "".join(chr(c) for c in range(0x1F600, 0x1F650)) + "🤗🚀👍🏽❤️",  # emoji (incl. modifiers)
    "".join(chr(c) for c in range(0x4E00, 0x4E00 + 300)),      # CJK
    "éèêëàâäöüßñçÉÀÖÜ",                                         # Latin-1
    "\x00\x01\x07\x08\x1b\x7f\t\r\n\u200b\u200d\u00a0\u3000",   # control and odd spaces
    "\u0301\u0308\u0327",                                        # combining marks
    "    \n\n  ",
]


def random_unicode(rng: np.random.Generator, n: int) -> str:
    pools = rng.choice(len(POOLS), n, p=[0.45, 0.12, 0.1, 0.08, 0.08, 0.07, 0.03, 0.07])
    text = "".join(POOLS[k][int(rng.integers(len(POOLS[k])))] for k in pools)
    return text.rstrip() + "x"   # tiktoken's "\s++$" and minbpe's pattern differ only at the end


def corpus(rng: np.random.Generator, name: str, n: int) -> str:
    """A random slice of a shipped text, not ending in whitespace."""
    text = read_text(name)
    start = int(rng.integers(0, len(text) - n - 1))
    return text[start:start + n].rstrip() + "."


def random_code(rng: np.random.Generator, lines: int) -> str:
    """Python-looking code: indentation, identifiers, numbers, operators, strings, comments."""
    names = ["x", "total", "self", "idx", "_cache", "Value", "i", "data"]
    out = []
    for _ in range(lines):
        indent = " " * int(4 * rng.integers(0, 3)) if rng.random() < 0.9 else "\t"
        a, b = (names[int(k)] for k in rng.integers(0, len(names), 2))
        num = int(rng.integers(0, 100000))
        out.append(rng.choice([
            f"{indent}def f_{num}({a}, {b}=None):",
            f"{indent}{a} = {b}[{num % 7}] ** 2 + {num} # update {a}",
            f"{indent}if {a} >= {b} and not {a}: return {{'k': {num}}}",
            f"{indent}print(f\"{{{a}!r}}: {num:.2e}\")" if num % 2 else f"{indent}pass",
        ]))
    return "\n".join(out) + "\nend"


# -- reply validation ------------------------------------------------------------------------
def _triples(ctx: Context, value, what: str) -> list[list[int]]:
    if type(value) is np.ndarray:
        value = ctx.array(value, what, kinds="iu").tolist()
    if type(value) is not list or any(type(m) is not list or len(m) != 3 or
                                      any(type(v) is not int for v in m) for m in value):
        raise CheckFailed(f"{what}: expected a dict {{(int, int): int}}")
    return value


def _ids(ctx: Context, value, what: str) -> list[int]:
    if type(value) is np.ndarray:
        return ctx.array(value, what, kinds="iu").tolist()
    if type(value) is not list or any(type(v) is not int for v in value):
        raise CheckFailed(f"{what}: expected a list of ints")
    return value


def _show(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "...")


def _first_diff(a, b) -> int:
    """The first index where two sequences differ (the shorter one's length if one is the
    other's start)."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _same_ids(ctx: Context, got, want: list[int], what: str) -> None:
    got = _ids(ctx, got, what)
    if got == want:
        return
    k = _first_diff(got, want)
    raise CheckFailed(f"{what}: {len(got)} ids, expected {len(want)}; first difference at "
                      f"position {k}: got {got[k:k + 5]}, expected {want[k:k + 5]}")


def replay(ctx: Context, text: str, pat: str | None, merges, vocab_size: int, what: str) -> None:
    """Every merge must be the lecture's at its step: a most frequent pair, ties to the pair seen
    first in the text (the lecture's `max(stats, key=stats.get)` over a fresh count, which
    Karpathy's minbpe and the reference's train_bpe both give); ids 256, 257, ... in order."""
    merges = sorted(_triples(ctx, merges, f"{what}: merges"), key=lambda m: m[2])
    ctx.equal([m[2] for m in merges], list(range(256, vocab_size)),
              f"{what}: new token ids (expected 256, 257, ..., {vocab_size - 1})")
    chunks = chunks_of(text, pat)
    vocab = vocab_of(merges)
    for a, b, idx in merges:
        stats = pair_counts(chunks)        # pairs in the order the text first shows them
        ctx.ensure(bool(stats), f"{what}: merge {idx - 256} (id {idx}) is the pair ({a}, {b}), "
                   "but every chunk is a single token by then: expected no more merges")
        best = max(stats.values())
        top = max(stats, key=stats.get)    # the first of the most frequent: the lecture's tie
        if (a, b) != top:
            n_tied = sum(c == best for c in stats.values())
            raise CheckFailed(
                f"{what}: merge {idx - 256} (id {idx}) is the pair ({a}, {b}) = "
                f"{vocab[a] + vocab[b]!r}, which occurs {stats.get((a, b), 0)} times; expected "
                + ("the most frequent pair at that step, " if stats.get((a, b), 0) != best else
                   f"of the {n_tied} pairs that occur {best} times the one seen first in the "
                   "text (the lecture's max over a fresh count), ")
                + f"({top[0]}, {top[1]}) = {vocab[top[0]] + vocab[top[1]]!r}, which occurs "
                f"{best} times" + (" (pairs never span two regex chunks)" if pat else ""))
        chunks = merge_all(chunks, (a, b), idx)


def tie_text(rng: np.random.Generator, words: int | None = None) -> str:
    """A short text from a few letters (`words` short words with a pattern, else 120 letters):
    most pair counts tie, late ones are 1, so its merges test the tie rule and the last merges."""
    if words is None:
        return "".join(str(c) for c in rng.choice(list("abcdefghijkl"), 120))
    return " ".join("".join(str(c) for c in rng.choice(list("abcdefgh"), int(rng.integers(1, 5))))
                    for _ in range(words))


def mergeable(text: str, pat: str | None, most: int) -> int:
    """How many of the lecture's merges `text` allows, up to `most` (a text of one-token chunks
    has none left: the lecture's loop would fail on an empty count)."""
    chunks = chunks_of(text, pat)
    for k in range(most):
        stats = pair_counts(chunks)
        if not stats:
            return k
        chunks = merge_all(chunks, max(stats, key=stats.get), 256 + k)
    return most


def _check_vocab(ctx: Context, got, merges, what: str) -> None:
    ctx.ensure(type(got) is dict, f"{what}: vocab should be a dict {{int: bytes}}")
    for i, token in vocab_of(merges).items():
        ctx.ensure(got.get(str(i)) == token.hex(),
                   f"{what}: vocab[{i}] should be {token!r} (vocab[a] + vocab[b] of its merge), "
                   f"got {bytes.fromhex(got[str(i)]) if str(i) in got else 'nothing'!r}")


# -- get_stats, merge ------------------------------------------------------------------------
@check("minbpe.get_stats")
def get_stats(ctx: Context):
    cases = []
    for n in (0, 1, 2, 17, 40, 64):
        k = int(ctx.rng.integers(2, 6))
        cases.append([ctx.rng.integers(0, k, n).tolist(),
                      ctx.rng.integers(0, k + 2, int(ctx.rng.integers(0, 30))).tolist()])
    got = ctx.probe("get_stats", cases=cases)
    ctx.ensure(type(got) is list and len(got) == len(cases), "expected one result per case")
    for (first, second), g in zip(cases, got):
        g = ctx.mapping(g, "get_stats", ("single", "summed"))
        for key, want in (("single", Counter(itertools.pairwise(first))),
                          ("summed", Counter(itertools.pairwise(first)) +
                           Counter(itertools.pairwise(second)))):
            triples = _triples(ctx, g[key], "get_stats result")
            have = {(a, b): n for a, b, n in triples}
            if have != dict(want):
                diff = sorted(set(have.items()) ^ set(want.items()))[:3]
                call = (f"get_stats({first})" if key == "single" else
                        f"get_stats({second}, counts=get_stats({first}))")
                raise CheckFailed(f"{call}: expected {dict(want)}, got {have} (differs at "
                                  f"{diff})")


@check("minbpe.merge")
def merge_check(ctx: Context):
    cases = [[[5, 5, 5], [5, 5], 256], [[5, 5, 5, 5], [5, 5], 256], [[], [1, 2], 256],
             [[1], [1, 2], 256], [[1, 2], [1, 2], 300]]
    for _ in range(8):
        ids = ctx.rng.integers(0, 3, int(ctx.rng.integers(5, 40))).tolist()
        a = int(ctx.rng.integers(0, 3))
        b = a if ctx.rng.random() < 0.4 else int(ctx.rng.integers(0, 3))
        cases.append([ids, [a, b], int(ctx.rng.integers(256, 1000))])
    got = ctx.probe("merge", cases=cases)
    ctx.ensure(type(got) is list and len(got) == len(cases), "expected one result per case")
    for (ids, pair, idx), g in zip(cases, got):
        want = merge(ids, tuple(pair), idx)
        ctx.ensure(_ids(ctx, g, "merge result") == want,
                   f"merge({ids}, {tuple(pair)}, {idx}): expected {want} (left to right, "
                   f"occurrences never overlap), got {g}")


# -- training --------------------------------------------------------------------------------
@check("minbpe.basic_train")
def basic_train(ctx: Context):
    text = corpus(ctx.rng, "taylorswift.txt", ctx.params["chars"]) + random_unicode(ctx.rng, 200)
    vocab_size = 256 + int(ctx.rng.integers(*ctx.params["merges"]))
    got = ctx.mapping(ctx.probe("train", kind="basic", text=text, vocab_size=vocab_size),
                      "BasicTokenizer after train", ("merges", "vocab"))
    # the scaffold's train() leaves the merging to train_bpe: name both
    replay(ctx, text, None, got["merges"], vocab_size, "BasicTokenizer.train (train_bpe)")
    _check_vocab(ctx, got["vocab"], got["merges"], "BasicTokenizer.train")
    ties = tie_text(ctx.rng)
    vocab_size = 256 + mergeable(ties, None, 30)
    got = ctx.mapping(ctx.probe("train", kind="basic", text=ties, vocab_size=vocab_size),
                      "BasicTokenizer after train", ("merges", "vocab"))
    replay(ctx, ties, None, got["merges"], vocab_size, "BasicTokenizer.train (train_bpe)")


@check("minbpe.regex_train")
def regex_train(ctx: Context):
    texts = [corpus(ctx.rng, "tinyshakespeare.txt", 300), random_unicode(ctx.rng, 300),
             random_code(ctx.rng, 8)]
    got = ctx.mapping(ctx.probe("patterns", texts=texts), "split patterns",
                      ("GPT2_SPLIT_PATTERN", "GPT4_SPLIT_PATTERN", "default"))
    for name, pat in (("GPT2_SPLIT_PATTERN", "gpt2"), ("GPT4_SPLIT_PATTERN", "gpt4"),
                      ("default", "gpt4")):
        for text, chunks in zip(texts, got[name]):
            want = regex.findall(pattern(pat), text)
            if chunks != want:
                k = _first_diff(chunks, want)
                label = "RegexTokenizer().pattern" if name == "default" else name
                raise CheckFailed(f"{label} splits {_show(text)} differently from "
                                  f"{'GPT-2' if pat == 'gpt2' else 'GPT-4'}'s pattern: chunk {k} "
                                  f"is {chunks[k:k + 3]}, expected {want[k:k + 3]}")
    for pat, chars, lo_hi in (("gpt4", ctx.params["chars"], ctx.params["merges"]),
                              ("gpt2", ctx.params["chars"] // 3, [20, 40])):
        text = corpus(ctx.rng, "taylorswift.txt", chars) + random_unicode(ctx.rng, 200)
        vocab_size = 256 + int(ctx.rng.integers(*lo_hi))
        what = f"RegexTokenizer({'' if pat == 'gpt4' else 'GPT2_SPLIT_PATTERN'}).train"
        got = ctx.mapping(ctx.probe("train", kind="regex", text=text, vocab_size=vocab_size,
                                    pattern=None if pat == "gpt4" else pattern("gpt2")),
                          what, ("merges", "vocab"))
        replay(ctx, text, pat, got["merges"], vocab_size, f"{what} (train_bpe)")
        _check_vocab(ctx, got["vocab"], got["merges"], what)
    for _ in range(2):      # ties across many short chunks: the first seen wins
        ties = tie_text(ctx.rng, words=40)
        vocab_size = 256 + mergeable(ties, "gpt4", 30)
        got = ctx.mapping(ctx.probe("train", kind="regex", text=ties, vocab_size=vocab_size,
                                    pattern=None), "RegexTokenizer().train", ("merges", "vocab"))
        replay(ctx, ties, "gpt4", got["merges"], vocab_size, "RegexTokenizer().train (train_bpe)")


# -- encoding --------------------------------------------------------------------------------
INVALID_UTF8 = [[0xFF], [0xE2, 0x82], [0x80, 0x41], [0xF0, 0x9F, 0x98], [0xC3, 0x28, 0x61]]


def _encode_check(ctx: Context, kind: str, texts: list[str], train_text: str,
                  invalid_utf8: bool = False) -> None:
    pat = None if kind == "basic" else "gpt4"
    merges = train(train_text, pat, ctx.params["merges"])
    word = order_matters(merges)
    # the shortest texts too: none, one character, and the two letters of a merge
    pair = next((bytes([a, b]).decode() for a, b, _ in merges if a < 128 and b < 128), "ab")
    texts = texts + ([word] if word else []) + ["", texts[0][:1], pair]
    decode = [[int(i) for i in ctx.rng.integers(0, 256 + len(merges), 12)]]
    if invalid_utf8:
        decode += INVALID_UTF8 + [[0x41, int(ctx.rng.integers(0x80, 0x100)), 0x42]]
    got = ctx.mapping(ctx.probe("encode", kind=kind, merges=merges, texts=texts,
                                ids_to_decode=decode), "encode", ("encode", "roundtrip", "decode"))
    name = "BasicTokenizer" if kind == "basic" else "RegexTokenizer"
    methods = ["encode"] + (["encode_ordinary"] if kind == "regex" else [])
    # RegexTokenizer merges each regex chunk on its own, in _encode_chunk
    how = "applied lowest merge id first" + (", chunk by chunk in _encode_chunk"
                                             if kind == "regex" else "")
    for k, text in enumerate(texts):
        want = encode(text, merges, pat)
        for m in methods:
            _same_ids(ctx, got[m][k], want, f"{name}.{m}({_show(text)}) with {len(merges)} "
                      f"given merges ({how})")
        ctx.ensure(got["roundtrip"][k] == text,
                   f"{name}.decode(encode(text)) should give the text back for {_show(text)}, "
                   f"got {_show(str(got['roundtrip'][k]))}")
    vocab = vocab_of(merges)
    for ids, text in zip(decode, got["decode"]):
        want = b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
        ctx.ensure(text == want, f"{name}.decode({ids}) should be {want!r}, got {text!r} "
                   "(bytes that are not valid UTF-8 become U+FFFD, the replacement character, "
                   "instead of raising)")


@check("minbpe.basic_encode")
def basic_encode(ctx: Context):
    train_text = corpus(ctx.rng, "taylorswift.txt", 2000) + random_unicode(ctx.rng, 300)
    texts = [corpus(ctx.rng, "taylorswift.txt", 600), random_unicode(ctx.rng, 100)]
    _encode_check(ctx, "basic", texts, train_text)


@check("minbpe.regex_encode")
def regex_encode(ctx: Context):
    train_text = corpus(ctx.rng, "taylorswift.txt", 3000) + random_unicode(ctx.rng, 300)
    texts = [corpus(ctx.rng, "taylorswift.txt", 1000), random_unicode(ctx.rng, 100),
             random_code(ctx.rng, 10)]
    _encode_check(ctx, "regex", texts, train_text)


@check("minbpe.unicode")
def unicode(ctx: Context):
    train_text = random_unicode(ctx.rng, 1500)
    texts = [random_unicode(ctx.rng, 150) for _ in range(3)]
    for kind in ("basic", "regex"):
        _encode_check(ctx, kind, texts, train_text, invalid_utf8=True)


@check("minbpe.special")
def special(ctx: Context):
    train_text = corpus(ctx.rng, "taylorswift.txt", 2000)
    merges = train(train_text, "gpt4", 40)
    names = [str(s) for s in ctx.rng.permutation(SPECIALS)[:3]]
    base = 256 + len(merges) + int(ctx.rng.integers(0, 1000))
    specials = {name: base + k for k, name in enumerate(names)}
    parts = [corpus(ctx.rng, "taylorswift.txt", 80) for _ in range(4)]
    text = parts[0] + names[0] + parts[1] + names[1] + parts[2] + names[0] + parts[3] + names[2]
    plain = "".join(parts)
    cases = [[text, "all"], [text, "none"], [text, [names[1]]], [text, "none_raise"],
             [plain, "none_raise"]]
    all_ids = _with_specials(text, merges, specials)
    got = ctx.mapping(ctx.probe("special", merges=merges, specials=specials, cases=cases,
                                ids_to_decode=[all_ids]), "special", ("encode", "decode"))
    enc = got["encode"]
    ctx.ensure(type(enc) is list and len(enc) == len(cases), "expected one result per case")
    label = f"RegexTokenizer.encode(text with {', '.join(names)})"
    ctx.ensure(type(enc[3]) is dict and "raised" in enc[3],
               f"{label} with allowed_special='none_raise' returned ids: expected it to raise "
               "an error (the text holds special tokens none of which is allowed)",
               hint="with 'none_raise', a special token's name anywhere in the text is an "
               "error: look for each one before encoding")
    _same_ids(ctx, enc[0], all_ids, f"{label}, allowed_special='all' (split the special tokens "
              "out first, BPE the parts between them)")
    _same_ids(ctx, enc[1], encode(text, merges, "gpt4"),
              f"{label}, allowed_special='none' (special tokens are ordinary text)")
    _same_ids(ctx, enc[2], _with_specials(text, merges, {names[1]: specials[names[1]]}),
              f"{label}, allowed_special={{{names[1]!r}}} (only that one is special)")
    _same_ids(ctx, enc[4], encode(plain, merges, "gpt4"),
              "RegexTokenizer.encode(text without special tokens), "
              "allowed_special='none_raise'")
    back = str(got["decode"][0] if type(got["decode"]) is list and got["decode"] else
               got["decode"])
    k = _first_diff(back, text)
    ctx.ensure(got["decode"] == [text], "RegexTokenizer.decode(ids with special token ids) "
               f"differs from the text at character {k}: gave {_show(back[k:], 30)}, expected "
               f"{_show(text[k:], 30)} (the special tokens in place)",
               hint="decode looks each id up in the vocabulary or, failing that, in the inverse "
               "of the special tokens, and joins the bytes")


def _with_specials(text: str, merges, specials: dict[str, int]) -> list[int]:
    split = "(" + "|".join(regex.escape(s) for s in specials) + ")"
    ids = []
    for part in regex.split(split, text):
        ids += [specials[part]] if part in specials else encode(part, merges, "gpt4")
    return ids


def parse_model(text: str) -> tuple[str, dict[str, int], list[tuple[int, int]]]:
    """A .model file read as minbpe's `load()` reads it: version line, pattern, the number of
    special tokens, one "name id" line each, then one "id1 id2" line per merge (the final newline
    is optional, as it is for `load()`). Raises ValueError naming the line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    def line(k: int) -> str:
        if k >= len(lines):
            raise ValueError(f"line {k + 1}: the file ends early")
        return lines[k].strip()
    if line(0) != "minbpe v1":
        raise ValueError(f"line 1: {line(0)[:40]!r}, expected 'minbpe v1'")
    pattern = line(1)
    try:
        n = int(line(2))
    except ValueError:
        raise ValueError(f"line 3: {line(2)[:40]!r}, expected the number of special tokens") \
            from None
    specials = {}
    for k in range(3, 3 + n):
        parts = line(k).split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"line {k + 1}: {line(k)[:40]!r}, expected 'name id'")
        specials[parts[0]] = int(parts[1])
    merges = []
    for k in range(3 + n, len(lines)):
        parts = line(k).split()
        if len(parts) != 2 or not all(x.isdigit() for x in parts):
            raise ValueError(f"line {k + 1}: {line(k)[:40]!r}, expected 'id1 id2' (a merge)")
        merges.append((int(parts[0]), int(parts[1])))
    return pattern, specials, merges


def model_text(pattern: str, specials: dict[str, int], merges, newline: bool) -> str:
    text = ("minbpe v1\n" + f"{pattern}\n{len(specials)}\n"
            + "".join(f"{s} {i}\n" for s, i in specials.items())
            + "".join(f"{a} {b}\n" for a, b, _ in merges))
    return text if newline else text[:-1]


def _raised(value) -> str | None:
    return value["raised"] if type(value) is dict and type(value.get("raised")) is str else None


@check("minbpe.save_load")
def save_load(ctx: Context):
    train_text = corpus(ctx.rng, "taylorswift.txt", 1500) + random_unicode(ctx.rng, 100)
    text = corpus(ctx.rng, "taylorswift.txt", 300) + random_unicode(ctx.rng, 40)
    for kind in ("basic", "regex"):
        pat = None if kind == "basic" else "gpt4"
        pat_str = "" if kind == "basic" else pattern("gpt4")
        merges = train(train_text, pat, int(ctx.rng.integers(20, 40)))
        specials = {} if kind == "basic" else {
            name: 256 + len(merges) + int(ctx.rng.integers(0, 50000)) + k
            for k, name in enumerate(ctx.rng.permutation(SPECIALS)[:2].tolist())}
        # ids to decode after loading: many merged tokens (a load that never rebuilds the vocab
        # cannot decode them); special ids are not asked (minbpe's load leaves them undecodable)
        ids = [int(i) for i in ctx.rng.integers(200, 256 + len(merges), 40)]
        # the file the parent writes for the student's load(): with or without the last newline
        canonical = model_text(pat_str, specials, merges, newline=bool(ctx.rng.integers(2)))
        got = ctx.mapping(ctx.probe("save_load", kind=kind, merges=merges, specials=specials,
                                    text=text, ids=ids, canonical=canonical), "save/load",
                          ("model", "vocab_lines", "loaded", "saved_pattern"))
        name = "BasicTokenizer" if kind == "basic" else "RegexTokenizer"
        own = got["saved_pattern"]   # RegexTokenizer's own (GPT-4) pattern: regex_train checks it
        ctx.ensure(type(own) is str and (own == "" if kind == "basic" else own != ""),
                   f"{name}().pattern should be {'empty' if kind == 'basic' else 'a pattern'}, "
                   f"got {str(own)[:60]!r}")
        # save: read back here the way minbpe's load() reads a .model file
        ctx.ensure(type(got["model"]) is str, f"{name}.save should write a text .model file")
        try:
            saved = parse_model(got["model"])
        except ValueError as e:
            raise CheckFailed(f"{name}.save: the .model file is not in the minbpe v1 format: "
                              f"{e}") from None
        for what, have, want in (("pattern", saved[0], own),
                                 ("special tokens", saved[1], specials),
                                 ("merges", saved[2], [(a, b) for a, b, _ in merges])):
            ctx.ensure(have == want, f"{name}.save: the .model file holds other {what} than the "
                       f"tokenizer's (read back: {str(have)[:80]}, expected {str(want)[:80]})")
        ctx.ensure(type(got["vocab_lines"]) is int and got["vocab_lines"] >= 256 + len(merges),
                   f"{name}.save should also write a .vocab file with one line per token")
        # load: of the file it saved and of the file written here, then decode and encode
        want_dec = b"".join(vocab_of(merges)[i] for i in ids).decode("utf-8", errors="replace")
        want_enc = encode(text, merges, pat)
        loaded = got["loaded"]
        ctx.ensure(type(loaded) is list and len(loaded) == 2, "expected two loaded tokenizers")
        sources = (("the .model file it saved", own),
                   ("a minbpe v1 .model file written by the grader" + (
                       "" if canonical.endswith("\n") else " (no newline after the last merge)"),
                    pat_str))
        for (source, want_pat), lt in zip(sources, loaded):
            what = f"{name}.load({source})"
            lt = ctx.mapping(lt, what, ("merges", "special_tokens", "pattern", "decode", "encode"))
            ctx.ensure(_triples(ctx, lt["merges"], f"{what}: merges") == merges,
                       f"{what}: the merges read back differ from the ones saved")
            ctx.ensure(lt["special_tokens"] == specials,
                       f"{what}: special tokens read back as {lt['special_tokens']}, expected "
                       f"{specials}")
            ctx.ensure(lt["pattern"] == want_pat,
                       f"{what}: pattern read back as {str(lt['pattern'])[:60]!r}, expected "
                       f"{want_pat[:60]!r}")
            err = _raised(lt["decode"])
            ctx.ensure(err is None and lt["decode"] == want_dec,
                       f"{what}, then decode({ids[:6]}...): "
                       + (f"raised {err}" if err else f"got {_show(str(lt['decode']))}")
                       + f", expected {_show(want_dec)}: load() must also rebuild the vocab "
                       "from the merges (and special tokens)")
            err = _raised(lt["encode"])
            if err:
                raise CheckFailed(f"{what}, then encode({_show(text)}) raised {err}")
            _same_ids(ctx, lt["encode"], want_enc, f"{what}, then encode({_show(text)})")


# -- GPT-4 -----------------------------------------------------------------------------------
def _gpt4_texts(ctx: Context) -> list[str]:
    n = ctx.params["chars"]
    return [corpus(ctx.rng, "taylorswift.txt", n), corpus(ctx.rng, "tinyshakespeare.txt", n),
            random_unicode(ctx.rng, n // 5), random_code(ctx.rng, n // 60)]


def _gpt4_check(ctx: Context, texts: list[str], allowed: str) -> None:
    enc = cl100k()
    want = [enc.encode(t, allowed_special=allowed if allowed == "all" else set()) for t in texts]
    # decoding special ids is not asked of GPT4Tokenizer (the public minbpe's cannot)
    decode = [] if allowed == "all" else want
    got = ctx.mapping(ctx.probe("gpt4", texts=texts, ids_to_decode=decode,
                                allowed_special=allowed),
                      "GPT4Tokenizer", ("merges", "byte_shuffle", "encode", "decode"))
    for k, text in enumerate(texts):
        _same_ids(ctx, got["encode"][k], want[k],
                  f"GPT4Tokenizer().encode({_show(text)}"
                  f"{', allowed_special=' + repr(allowed) if allowed == 'all' else ''})"
                  f" vs tiktoken cl100k_base")
        if decode:
            ctx.ensure(got["decode"][k] == text,
                       f"GPT4Tokenizer().decode(tiktoken's ids for {_show(text)}) should give the "
                       f"text back, got {_show(str(got['decode'][k]))}")
    # the merges alone, replayed here, must give the same ids: wrapping tiktoken does not
    merges = _triples(ctx, got["merges"], "GPT4Tokenizer.merges")
    ranks = {(a, b): i for a, b, i in merges}
    shuffle = _ids(ctx, got["byte_shuffle"], "GPT4Tokenizer.byte_shuffle")
    ctx.ensure(len(shuffle) == 256, "byte_shuffle should map each of the 256 bytes to its rank")
    specials = dict(enc._special_tokens) if allowed == "all" else {}
    for k, text in enumerate(texts):
        parts = regex.split("(" + "|".join(map(regex.escape, specials)) + ")",
                            text) if specials else [text]
        ids = []
        for part in parts:
            ids += [specials[part]] if part in specials else encode(part, ranks, "gpt4",
                                                                      shuffle)
        _same_ids(ctx, ids, want[k], f"{_show(text)} encoded here with GPT4Tokenizer.merges and "
                  "byte_shuffle (the merges themselves must reproduce cl100k_base)")


@check("minbpe.gpt4")
def gpt4(ctx: Context):
    _gpt4_check(ctx, _gpt4_texts(ctx), "none_raise")
    return f"{len(cl100k()._mergeable_ranks) - 256} merges reproduce cl100k_base"
