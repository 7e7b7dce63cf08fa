"""The lecture's exercises E01–E03 (E04 and E05 are in neural.py, E06 is in the notebook).

E01 — trigram model: predict a character from the two before it. Pad every word with two '.' in
front and one at the end ("emma" gives ..e .em emm mma ma.), count into a 27×27×27 table
N3[ch1, ch2, ch3], smooth, normalise over the last axis. It predicts exactly as many characters
as the bigram model (228,146 on names.txt), so the two losses compare directly: the trigram's
2.19 (2.21 with add-one) beats the bigram's 2.45.

E02 — split the words at random into 80% train, 10% dev, 10% test (the same split for the same
seed), fit the count models on train only and compare the NLL on each split.

E03 — tune the smoothing strength k of the trigram on dev: try every k, keep the one with the
lowest dev loss, and only then evaluate on test, once. (Tuning on test would make the test loss
an optimistic, useless estimate.)

Exercise ids: bigram.e01_trigram, bigram.e02_split, bigram.e03_sweep.
"""
import random

import torch

from .counts import build_vocab, count_bigrams, nll, probabilities


# -- E01: trigram -------------------------------------------------------------------------
def trigrams(words):
    """Yield every (ch1, ch2, ch3) of every word padded as '..' + word + '.'."""
    # YOUR CODE HERE
    raise NotImplementedError()


def trigram_counts(words, stoi):
    """N3 (V×V×V, torch.int32): N3[i, j, k] = how often char k follows the two chars i, j."""
    # YOUR CODE HERE
    raise NotImplementedError()


def trigram_probabilities(N3, k=1.0):
    """P3 (float32): N3 + k normalised over the last axis, P3[i, j].sum() == 1."""
    # YOUR CODE HERE
    raise NotImplementedError()


def trigram_nll(words, P3, stoi):
    """Average negative log likelihood of all trigrams of `words` under P3, as a Python float."""
    # YOUR CODE HERE
    raise NotImplementedError()


def bigram_loss(train_words, eval_words, k=1.0):
    """Fit the bigram count model (smoothing k) on train_words; its NLL on eval_words."""
    stoi, _ = build_vocab(train_words + eval_words)
    return nll(eval_words, probabilities(count_bigrams(train_words, stoi), k), stoi)


def trigram_loss(train_words, eval_words, k=1.0):
    """Fit the trigram count model (smoothing k) on train_words; its NLL on eval_words."""
    stoi, _ = build_vocab(train_words + eval_words)
    return trigram_nll(eval_words, trigram_probabilities(trigram_counts(train_words, stoi), k),
                       stoi)


# -- E02: train / dev / test ----------------------------------------------------------------
def split_words(words, seed=42):
    """Shuffle a copy of `words` with `seed` and cut it 80% / 10% / 10% into (train, dev, test)
    lists, n1 = int(0.8 * n), n2 = int(0.9 * n). The same seed gives the same split; every word
    lands in exactly one part. The caller's list and the global random state stay as they were:
    shuffle with a generator of its own, random.Random(seed)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def evaluate_splits(train, dev, test, k=1.0):
    """Fit the bigram and the trigram count models (smoothing k) on `train` only and return
    {"bigram": {"train": nll, "dev": nll, "test": nll}, "trigram": {...}}."""
    # YOUR CODE HERE
    raise NotImplementedError()


# -- E03: tune the smoothing on dev ---------------------------------------------------------
def sweep_smoothing(train, dev, test, strengths, evaluate=trigram_loss):
    """Try every smoothing strength in `strengths`; pick the best on dev; evaluate test once.

    `evaluate(train_words, eval_words, k)` fits a model on train_words with smoothing k and
    returns its NLL on eval_words (trigram_loss by default). Return
    {"train": [loss per k], "dev": [loss per k], "best": the k with the lowest dev loss,
     "test": the test loss at that k} — computed with exactly one call of evaluate on test.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
