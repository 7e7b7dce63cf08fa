"""A decoder-only Transformer (GPT), in the order data flows through it.

Self-attention, one `Head`: every token emits a query ("what am I looking for"), a key ("what do
I contain") and a value ("what I will tell you"), each a linear map of its embedding without bias.
Affinities are `q @ k.T`, scaled by `head_size**-0.5` so the softmax stays diffuse at init; the
`tril` mask sets the future to -inf *before* the softmax (a decoder block: no token sees what
comes after it); the output is the affinity-weighted sum of the values.
`MultiHeadAttention` runs `num_heads` heads in parallel, concatenates them and projects back to
`n_embd`. `FeedForward` is Linear(n_embd, 4 n_embd) -> ReLU -> Linear(4 n_embd, n_embd).
A `Block` is communication then computation, each on a pre-LayerNorm'd input, each added back
to a residual stream: `x = x + sa(ln1(x)); x = x + ffwd(ln2(x))`.
`GPTLanguageModel`: token + position embeddings -> blocks -> final LayerNorm -> lm_head.

The lecture reads n_embd, block_size, dropout, ... from globals; here they are keyword
arguments with the same names, defaulting to the lecture's values, so `Head(head_size)`,
`Block(n_embd, n_head)` and `GPTLanguageModel()` still read as in the video. The attribute names
(key, query, value, tril, heads, proj, net, sa, ffwd, ln1, ln2, token_embedding_table,
position_embedding_table, blocks, ln_f, lm_head) are the lecture's: the grader loads weights by
these names.

Exercise ids: gpt.head, gpt.causal, gpt.multihead, gpt.feedforward, gpt.block, gpt.model,
gpt.generate, gpt.train, and the bonus gpt.batched_heads.
"""
import torch
from torch import nn
from torch.nn import functional as F

# the lecture's hyperparameters (the full configuration trains 10.79 M parameters)
batch_size = 64
block_size = 256
n_embd = 384
n_head = 6
n_layer = 6
dropout = 0.2
vocab_size = 65


class Head(nn.Module):
    """One head of self-attention."""

    def __init__(self, head_size, n_embd=n_embd, block_size=block_size, dropout=dropout):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # input (batch, time-step, channels), output (batch, time-step, head size)
        # YOUR CODE HERE
        raise NotImplementedError()
        return out


class MultiHeadAttention(nn.Module):
    """Multiple heads of self-attention in parallel."""

    def __init__(self, num_heads, head_size, n_embd=n_embd, block_size=block_size,
                 dropout=dropout):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()
        return out


class CausalSelfAttention(nn.Module):
    """Exercise 1 (bonus): all heads in one batched op, the heads as another batch dimension.

    `c_attn` (bias-free) maps x to queries, keys and values at once: rows [0, n_embd) of its
    weight are the queries of head 0, 1, ... (head_size rows each), then the keys, then the
    values. `c_proj` is MultiHeadAttention's `proj`. Same numbers as MultiHeadAttention.
    """

    def __init__(self, n_embd=n_embd, n_head=n_head, block_size=block_size, dropout=dropout):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()
        return out


class FeedForward(nn.Module):
    """A simple linear layer followed by a non-linearity."""

    def __init__(self, n_embd=n_embd, dropout=dropout):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()


class Block(nn.Module):
    """Transformer block: communication followed by computation."""

    def __init__(self, n_embd=n_embd, n_head=n_head, block_size=block_size, dropout=dropout):
        # n_embd: embedding dimension, n_head: the number of heads we'd like
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()
        return x


class GPTLanguageModel(nn.Module):

    def __init__(self, vocab_size=vocab_size, n_embd=n_embd, n_head=n_head, n_layer=n_layer,
                 block_size=block_size, dropout=dropout):
        super().__init__()
        self.block_size = block_size
        # YOUR CODE HERE
        raise NotImplementedError()

    def _init_weights(self, module):
        # better init than PyTorch's default: small weights, so the loss at init is ~ln(vocab)
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        # idx and targets are both (B, T) tensors of integers
        # YOUR CODE HERE
        raise NotImplementedError()
        return logits, loss

    def generate(self, idx, max_new_tokens):
        # idx is (B, T) array of indices in the current context
        # YOUR CODE HERE
        raise NotImplementedError()
        return idx
