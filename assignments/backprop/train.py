"""Exercise 4: train the network with the manual gradients only.

`manual_step` does one step of the lecture's loop: the forward pass (compact now: F.cross_entropy
for the loss value is fine), every gradient by hand (use your exercise 2 and 3 results), and the
SGD update p -= lr * grad in place. The grader replays the same steps with autograd and compares
the parameters. Around it, `train` is the lecture's loop (lr 0.1, then 0.01 for the second half),
`calibrate_batchnorm` measures the BatchNorm statistics over the training set once training is done,
and `split_loss` evaluates with them. No autograd in `manual_step`: the grader enforces it.

Exercise id: backprop.train_manual.
"""
import torch
import torch.nn.functional as F

from .fused import batchnorm_backward, cross_entropy_backward
from .model import PARAMETERS


def manual_step(p, Xb, Yb, lr):
    """One SGD step with manual gradients; updates the tensors in `p` in place, returns the loss."""
    # YOUR CODE HERE
    raise NotImplementedError()


def train(p, Xtr, Ytr, max_steps=200_000, batch_size=32, generator=None, on_step=None):
    """The lecture's loop around `manual_step`; returns the loss of every step."""
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=generator)
        lr = 0.1 if i < max_steps // 2 else 0.01
        lossi.append(manual_step(p, Xtr[ix], Ytr[ix], lr))
        if on_step is not None:
            on_step(i, lossi[-1], lr)
    return lossi


@torch.no_grad()
def calibrate_batchnorm(p, Xtr):
    """The BatchNorm's mean and variance over the whole training set, for evaluation."""
    hprebn = p["C"][Xtr].view(Xtr.shape[0], -1) @ p["W1"] + p["b1"]
    return hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=True)


@torch.no_grad()
def split_loss(p, X, Y, bnmean, bnvar):
    hprebn = p["C"][X].view(X.shape[0], -1) @ p["W1"] + p["b1"]
    hpreact = p["bngain"] * (hprebn - bnmean) * (bnvar + 1e-5) ** -0.5 + p["bnbias"]
    logits = torch.tanh(hpreact) @ p["W2"] + p["b2"]
    return F.cross_entropy(logits, Y).item()
