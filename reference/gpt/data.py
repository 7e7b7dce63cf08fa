"""Characters to integers, a train/val split, and random batches of context windows.

The vocabulary is every character of the text, sorted (65 for tiny Shakespeare). A batch is
`batch_size` windows of `block_size` characters taken at random offsets; the targets are the
same windows shifted by one, so one window holds `block_size` training examples at once.

Exercise id: gpt.data.
"""
import torch


def build_vocab(text):
    """Return (chars, stoi, itos): the sorted characters of `text` and the two lookup tables."""
    ### BEGIN SOLUTION
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    ### END SOLUTION
    return chars, stoi, itos


def encode(s, stoi):
    """String -> list of integers."""
    ### BEGIN SOLUTION
    return [stoi[c] for c in s]
    ### END SOLUTION


def decode(ids, itos):
    """List of integers -> string."""
    ### BEGIN SOLUTION
    return ''.join(itos[i] for i in ids)
    ### END SOLUTION


def train_val_split(data, train_frac=0.9):
    """The first 90% of `data` (a 1-D tensor) for training, the rest for validation."""
    ### BEGIN SOLUTION
    n = int(train_frac * len(data))
    return data[:n], data[n:]
    ### END SOLUTION


def get_batch(data, block_size, batch_size, generator=None):
    """Inputs x and targets y, both (batch_size, block_size): random windows of `data` and the
    same windows shifted by one. Draw the offsets with `torch.randint(..., generator=generator)`
    so a seeded generator gives the same batch every time."""
    ### BEGIN SOLUTION
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    ### END SOLUTION
    return x, y
