"""Probes only the hidden bigram checks call (instructor build only: never in a student release)."""
from __future__ import annotations

from zth_worker.probes import attr, probe
from zth_worker.probes._makemore import number
from zth_worker.probes.bigram import _counts


@probe
def pipeline(pkg, words, k):
    """The whole counting model on a word list: vocab, counts, probabilities, NLL."""
    c = _counts(pkg)
    stoi, _ = attr(c, "build_vocab")(list(words))
    N = attr(c, "count_bigrams")(list(words), stoi)
    P = attr(c, "probabilities")(N, k)
    return number(attr(c, "nll")(list(words), P, stoi), "nll(...)")
