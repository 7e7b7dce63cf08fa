"""The bigram language model of the lecture's first half.

Each token reads the logits for the next token straight off a row of an embedding table
(vocab_size x vocab_size). `forward(idx, targets=None)` returns `(logits, loss)`: logits are
(B, T, vocab_size) and loss is None without targets; with targets, the lecture reshapes the
logits to (B*T, vocab_size) for `F.cross_entropy`. `generate` samples one token at a time from
the softmax of the last position's logits and appends it.

Exercise id: gpt.bigram.
"""
import torch
from torch import nn
from torch.nn import functional as F


class BigramLanguageModel(nn.Module):

    def __init__(self, vocab_size):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, idx, targets=None):
        # YOUR CODE HERE
        raise NotImplementedError()
        return logits, loss

    def generate(self, idx, max_new_tokens):
        # idx is (B, T) array of indices in the current context
        # YOUR CODE HERE
        raise NotImplementedError()
        return idx
