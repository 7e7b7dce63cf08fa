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
        ### BEGIN SOLUTION
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)
        ### END SOLUTION

    def forward(self, idx, targets=None):
        ### BEGIN SOLUTION
        logits = self.token_embedding_table(idx)  # (B, T, C)
        if targets is None:
            loss = None
        else:
            B, T, C = logits.shape
            logits = logits.view(B * T, C)
            loss = F.cross_entropy(logits, targets.view(B * T))
        ### END SOLUTION
        return logits, loss

    def generate(self, idx, max_new_tokens):
        # idx is (B, T) array of indices in the current context
        ### BEGIN SOLUTION
        for _ in range(max_new_tokens):
            logits, _ = self(idx)
            logits = logits[:, -1, :]  # (B, C): only the last time step
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)  # (B, 1)
            idx = torch.cat((idx, idx_next), dim=1)  # (B, T+1)
        ### END SOLUTION
        return idx
