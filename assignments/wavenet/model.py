"""The hierarchical model: instead of crushing all 8 characters of context into one layer, fuse
them slowly, like a WaveNet's dilated convolutions: pairs of characters, then pairs of pairs,
then pairs of those. Each level is FlattenConsecutive(2) -> Linear -> BatchNorm1d -> Tanh, and
log2(block_size) levels bring (B, 8, n_embd) down to (B, n_hidden).

The lecture's configuration: block_size 8, n_embd 24, n_hidden 128: 76,579 parameters, trained
200,000 steps (lr 0.1, then 0.01 after 150,000) to train 1.769 / val 1.993.

`build_model` returns a `Sequential`; its `.layers` may nest Sequentials (one per level, say):
the grader walks into them in order. To grade it, the grader sets its own weights on the
layers' `weight`, `bias`, `gamma` and `beta` attributes, trains with its own batches and
learning rates (the lecture's loop), and replays every step itself.

Exercise ids: wavenet.shapes, wavenet.torch_equiv, wavenet.eval_mode, wavenet.train.
"""
import math

import torch
import torch.nn.functional as F

from .nn import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh


def build_model(vocab_size, block_size=8, n_embd=24, n_hidden=128):
    """The hierarchical WaveNet-style MLP; every parameter requires grad."""
    # YOUR CODE HERE
    raise NotImplementedError()
    for p in model.parameters():
        p.requires_grad = True
    return model


def set_training(model, training):
    for layer in model.layers:
        if hasattr(layer, "training"):
            layer.training = training


@torch.no_grad()
def split_loss(model, X, Y):
    set_training(model, False)
    loss = F.cross_entropy(model(X), Y).item()
    set_training(model, True)
    return loss


def train(model, Xtr, Ytr, max_steps=200_000, batch_size=32, lr_drop=None, on_step=None,
          generator=None):
    """The lecture's loop: SGD with lr 0.1, then 0.01 from step `lr_drop` (3/4 of the way)."""
    lr_drop = int(max_steps * 0.75) if lr_drop is None else lr_drop
    params = model.parameters()
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=generator)
        loss = F.cross_entropy(model(Xtr[ix]), Ytr[ix])
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < lr_drop else 0.01
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        lossi.append(loss.item())
        if on_step is not None:
            on_step(i, loss.item(), lr)
    return lossi


@torch.no_grad()
def sample(model, itos, block_size=8, n=20, generator=None):
    set_training(model, False)
    names = []
    for _ in range(n):
        out, context = [], [0] * block_size
        while True:
            probs = F.softmax(model(torch.tensor([context])), dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=generator).item()
            context = context[1:] + [ix]
            if ix == 0:
                break
            out.append(ix)
        names.append("".join(itos[i] for i in out))
    set_training(model, True)
    return names
