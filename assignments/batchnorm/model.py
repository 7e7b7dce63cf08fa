"""The lecture's deep MLP: an embedding table C, then n_layers x [Linear, (BatchNorm1d), Tanh],
then a Linear to the vocabulary (and a BatchNorm1d when `batchnorm`).

Initialisation is what the lecture is about. The tanh gain 5/3 on every Linear that feeds a
tanh keeps the pre-activations' std near 1 all the way down a deep stack (without it the
activations shrink layer by layer; without the 1/sqrt(fan_in) they saturate). The last layer is
scaled down (its weight by 0.1, or the last BatchNorm's gamma by 0.1) so the network starts out
unsure: every character about equally likely, a loss near -ln(1/27) = 3.2958 instead of a
"confidently wrong" hockey stick. Linear layers followed by a BatchNorm need no bias (the
BatchNorm's beta does its job).

Exercise ids: batchnorm.init_stats, batchnorm.init_loss.
"""
import itertools

import torch
import torch.nn.functional as F

from .nn import BatchNorm1d, Linear, Tanh


def build_mlp(vocab_size, block_size=3, n_embd=10, n_hidden=100, n_layers=5, batchnorm=True,
              generator=None):
    """Return (C, layers) initialised as in the lecture; every parameter requires grad."""
    C = torch.randn((vocab_size, n_embd), generator=generator)
    sizes = [n_embd * block_size] + [n_hidden] * n_layers
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers.append(Linear(fan_in, fan_out, bias=not batchnorm, generator=generator))
        if batchnorm:
            layers.append(BatchNorm1d(fan_out))
        layers.append(Tanh())
    layers.append(Linear(n_hidden, vocab_size, bias=not batchnorm, generator=generator))
    if batchnorm:
        layers.append(BatchNorm1d(vocab_size))
    with torch.no_grad():
        # YOUR CODE HERE
        raise NotImplementedError()
    for p in parameters(C, layers):
        p.requires_grad = True
    return C, layers


def parameters(C, layers):
    return [C] + [p for layer in layers for p in layer.parameters()]


def forward(C, layers, X):
    """Logits for a batch of contexts X (N, block_size)."""
    emb = C[X]
    x = emb.view(emb.shape[0], -1)
    for layer in layers:
        x = layer(x)
    return x


def set_training(layers, training):
    for layer in layers:
        if hasattr(layer, "training"):
            layer.training = training


@torch.no_grad()
def split_loss(C, layers, X, Y):
    """Mean cross-entropy on a whole split, in eval mode (BatchNorm uses its running stats)."""
    set_training(layers, False)
    loss = F.cross_entropy(forward(C, layers, X), Y).item()
    set_training(layers, True)
    return loss


def train(C, layers, Xtr, Ytr, max_steps=200_000, batch_size=32, generator=None,
          on_step=None):
    """The lecture's loop: minibatch SGD, lr 0.1, then 0.01 after half of the steps.

    `on_step(i, loss, lr)` is called after every update (progress bars, diagnostics).
    Returns the training loss of every step.
    """
    params = parameters(C, layers)
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=generator)
        loss = F.cross_entropy(forward(C, layers, Xtr[ix]), Ytr[ix])
        for layer in layers:
            layer.out.retain_grad()  # for the gradient diagnostics
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < max_steps // 2 else 0.01
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        lossi.append(loss.item())
        if on_step is not None:
            on_step(i, loss.item(), lr)
    return lossi
