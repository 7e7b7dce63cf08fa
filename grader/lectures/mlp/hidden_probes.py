"""Probes only the hidden mlp checks call (instructor build only: never in a student release)."""
from __future__ import annotations

from zth_worker.probes import attr, module, probe
from zth_worker.probes._makemore import array


@probe
def pipeline(pkg, words, seed, block_size):
    """The lecture's data preparation: split the words, build a dataset from each part."""
    d = module(pkg, "data")
    parts = attr(d, "split_words")(list(words), seed)
    out = []
    for part in parts:
        X, Y = attr(d, "build_dataset")(list(part), block_size=block_size)
        out.append({"X": array(X, "X"), "Y": array(Y, "Y")})
    return out
