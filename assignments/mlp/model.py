"""The MLP of Bengio et al. (2003), character level.

Each of the block_size context characters is looked up in an embedding table C (vocab_size ×
n_embd); the embeddings are concatenated (a `.view`, no copy) into one vector of
block_size * n_embd numbers, fed through a tanh hidden layer (W1, b1) and an output layer
(W2, b2) that gives one logit per character. The loss is the cross entropy between
softmax(logits) and the next character: `F.cross_entropy`, which is faster than the manual
exp / normalise / log and does not overflow for large logits.

E02: a network that predicts the uniform distribution over 27 characters has loss
-ln(1/27) = ln 27 = 3.2958. The lecture's init (all parameters ~ N(0, 1)) starts far above that
(confidently wrong logits). An init whose logits start out nearly equal starts near ln 27, and no
training steps are wasted squashing the logits.

Exercise ids: mlp.init, mlp.forward, mlp.loss, mlp.grads, mlp.sample, mlp.e02_init.
"""
import math

import torch
import torch.nn.functional as F

from .data import itos, vocab_size


def init_params(generator, block_size=3, n_embd=10, n_hidden=200, vocab_size=vocab_size,
                calibrated=False):
    """[C, W1, b1, W2, b2], each drawn with torch.randn(shape, generator=generator) in that order
    (C: vocab_size×n_embd, W1: block_size*n_embd×n_hidden, b1: n_hidden, W2: n_hidden×vocab_size,
    b2: vocab_size), every one with requires_grad=True.

    E02: with calibrated=True, return random parameters of the same shapes whose loss at
    initialisation is close to the uniform loss ln(vocab_size) (within 0.05 on names.txt).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def embed(C, X):
    """Embeddings of every context character: C[X], shape (n, block_size, n_embd)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def hidden(emb, W1, b1):
    """The hidden layer: concatenate each example's embeddings (emb.view(n, -1)), then
    tanh(· @ W1 + b1), shape (n, n_hidden)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def forward(parameters, X):
    """Logits (n, vocab_size) of the MLP for contexts X."""
    # YOUR CODE HERE
    raise NotImplementedError()


def loss_fn(logits, Y):
    """Mean cross entropy of the targets Y under softmax(logits), as a scalar tensor; it must
    stay finite for large logits (e.g. every logit + 100)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def uniform_loss(vocab_size=vocab_size):
    """E02: the loss when every character gets probability 1/vocab_size, as a float."""
    # YOUR CODE HERE
    raise NotImplementedError()


@torch.no_grad()
def sample(parameters, n, generator):
    """Sample `n` names, each ending with '.'. Start from a context of block_size zeros; at
    every step take probs = F.softmax(logits, dim=1) for the (1, block_size) context, draw
    ix = torch.multinomial(probs, num_samples=1, generator=generator).item(), append it, slide
    the context, and stop after ix == 0. block_size = W1.shape[0] // C.shape[1]."""
    # YOUR CODE HERE
    raise NotImplementedError()
