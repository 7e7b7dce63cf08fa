"""The makemore data set: every name becomes (context of `block_size` characters -> next one).

Characters map to integers 1..26 in sorted order and '.' (start and end of a name) to 0. The
names are shuffled with `random.seed(42)` and split 80/10/10 into train, dev and test, as in the
lecture, so numbers here can be compared with the notebook's.
"""
import random

import torch


def build_vocab(words):
    """stoi, itos: '.' is 0, the other characters 1.. in sorted order."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


def build_dataset(words, stoi, block_size=8):
    """X: (N, block_size) contexts of character ids, Y: (N,) the character that follows."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def split(words, stoi, block_size=8, seed=42):
    """The lecture's shuffled 80/10/10 split: (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)."""
    words = list(words)
    random.Random(seed).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return (build_dataset(words[:n1], stoi, block_size),
            build_dataset(words[n1:n2], stoi, block_size),
            build_dataset(words[n2:], stoi, block_size))
