"""BPE training speed: the reference's incremental pair counts vs the lecture's naive loop.

The naive loop (Karpathy's lecture and minbpe) recounts every pair of the whole text before each
merge. The reference counts each distinct regex chunk once, weighted by its count, and after a
merge updates only the counts around the replaced pairs. Both must give identical merges, ties
included (the lecture breaks a tie by the pair seen first in the text).

Target (issue 5): RegexTokenizer, vocab 512 on taylorswift.txt, >= 10x faster.
Usage: python benchmarks/bpe_train.py [--vocab-size 512] [--basic]
"""
from __future__ import annotations

import argparse
import itertools
import time

import regex

from grader.data import read_text
from grader.oracle import reference


def naive_train(text: str, vocab_size: int, pattern: str | None) -> dict:
    """The lecture's loop: a fresh count of every pair (in text order) before each merge."""
    pieces = regex.findall(pattern, text) if pattern else [text]
    ids = [list(p.encode("utf-8")) for p in pieces]
    merges = {}
    for i in range(vocab_size - 256):
        stats = {}
        for chunk in ids:
            for pair in itertools.pairwise(chunk):
                stats[pair] = stats.get(pair, 0) + 1
        pair = max(stats, key=stats.get)   # the first most frequent pair in insertion order
        idx = 256 + i
        ids = [_merge(chunk, pair, idx) for chunk in ids]
        merges[pair] = idx
    return merges


def _merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def bench(kind: str, text: str, vocab_size: int) -> float:
    tok = (reference("minbpe", "basic").BasicTokenizer() if kind == "basic"
           else reference("minbpe", "regex").RegexTokenizer())
    t0 = time.perf_counter()
    tok.train(text, vocab_size)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow_merges = naive_train(text, vocab_size, tok.pattern or None)
    slow = time.perf_counter() - t0
    same = list(tok.merges.items()) == list(slow_merges.items())
    print(f"{kind:5s} vocab {vocab_size}: naive {slow:6.2f} s, reference {fast:5.2f} s, "
          f"ratio {slow / fast:5.1f}x, identical merges: {same}")
    if not same:
        raise SystemExit("the merges differ: the reference is not the lecture's algorithm")
    return slow / fast


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab-size", type=int, default=512)
    ap.add_argument("--basic", action="store_true", help="also time BasicTokenizer (no regex)")
    args = ap.parse_args()
    text = read_text("taylorswift.txt")
    print(f"taylorswift.txt: {len(text)} characters")
    ratio = bench("regex", text, args.vocab_size)
    if args.basic:
        bench("basic", text, args.vocab_size)
    return 0 if ratio >= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
