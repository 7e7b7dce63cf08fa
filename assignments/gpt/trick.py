"""The mathematical trick in self-attention: averaging the past, three ways.

For x of shape (B, T, C), `xbow[b, t] = mean(x[b, :t+1])`: each token sees the average of
itself and the tokens before it, never the future.
  1. `xbow_loop`: two for-loops, the definition.
  2. `xbow_matmul`: one matrix multiply with a lower-triangular weight matrix whose rows sum
     to 1 (`torch.tril(torch.ones(T, T))`, normalised).
  3. `xbow_softmax`: start from zero affinities, set the future to -inf with `masked_fill`,
     softmax each row; this is the form self-attention uses, where the affinities become
     data-dependent.
All three must agree.

Exercise id: gpt.trick.
"""
import torch
from torch.nn import functional as F


def xbow_loop(x):
    B, T, C = x.shape
    xbow = torch.zeros((B, T, C), dtype=x.dtype)
    # YOUR CODE HERE
    raise NotImplementedError()
    return xbow


def xbow_matmul(x):
    T = x.shape[1]
    # YOUR CODE HERE
    raise NotImplementedError()
    return xbow


def xbow_softmax(x):
    T = x.shape[1]
    # YOUR CODE HERE
    raise NotImplementedError()
    return xbow
