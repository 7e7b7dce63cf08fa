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
        ### BEGIN SOLUTION
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)
        ### END SOLUTION

    def forward(self, x):
        # input (batch, time-step, channels), output (batch, time-step, head size)
        ### BEGIN SOLUTION
        T = x.shape[1]
        k = self.key(x)    # (B, T, hs)
        q = self.query(x)  # (B, T, hs)
        wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5  # (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))
        wei = F.softmax(wei, dim=-1)
        wei = self.dropout(wei)
        v = self.value(x)  # (B, T, hs)
        out = wei @ v      # (B, T, hs)
        ### END SOLUTION
        return out


class MultiHeadAttention(nn.Module):
    """Multiple heads of self-attention in parallel."""

    def __init__(self, num_heads, head_size, n_embd=n_embd, block_size=block_size,
                 dropout=dropout):
        super().__init__()
        ### BEGIN SOLUTION
        self.heads = nn.ModuleList([Head(head_size, n_embd, block_size, dropout)
                                    for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        out = self.dropout(self.proj(out))
        ### END SOLUTION
        return out


class CausalSelfAttention(nn.Module):
    """Exercise 1 (bonus): all heads in one batched op, the heads as another batch dimension.

    `c_attn` (bias-free) maps x to queries, keys and values at once: rows [0, n_embd) of its
    weight are the queries of head 0, 1, ... (head_size rows each), then the keys, then the
    values. `c_proj` is MultiHeadAttention's `proj`. Same numbers as MultiHeadAttention.
    """

    def __init__(self, n_embd=n_embd, n_head=n_head, block_size=block_size, dropout=dropout):
        super().__init__()
        ### BEGIN SOLUTION
        assert n_embd % n_head == 0
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, nh, T, hs): the heads become a batch dimension
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5  # (B, nh, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))
        wei = self.attn_dropout(F.softmax(wei, dim=-1))
        out = (wei @ v).transpose(1, 2).contiguous().view(B, T, C)  # heads side by side
        out = self.resid_dropout(self.c_proj(out))
        ### END SOLUTION
        return out


class FeedForward(nn.Module):
    """A simple linear layer followed by a non-linearity."""

    def __init__(self, n_embd=n_embd, dropout=dropout):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.ReLU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


class Block(nn.Module):
    """Transformer block: communication followed by computation."""

    def __init__(self, n_embd=n_embd, n_head=n_head, block_size=block_size, dropout=dropout):
        # n_embd: embedding dimension, n_head: the number of heads we'd like
        super().__init__()
        ### BEGIN SOLUTION
        head_size = n_embd // n_head
        self.sa = MultiHeadAttention(n_head, head_size, n_embd, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        ### END SOLUTION
        return x


class GPTLanguageModel(nn.Module):

    def __init__(self, vocab_size=vocab_size, n_embd=n_embd, n_head=n_head, n_layer=n_layer,
                 block_size=block_size, dropout=dropout):
        super().__init__()
        self.block_size = block_size
        ### BEGIN SOLUTION
        # each token directly reads off the logits for the next token from a lookup table
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout)
                                      for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)  # final layer norm
        self.lm_head = nn.Linear(n_embd, vocab_size)
        self.apply(self._init_weights)
        ### END SOLUTION

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
        ### BEGIN SOLUTION
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)  # (B, T, C)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))  # (T, C)
        x = tok_emb + pos_emb  # (B, T, C)
        x = self.blocks(x)     # (B, T, C)
        x = self.ln_f(x)       # (B, T, C)
        logits = self.lm_head(x)  # (B, T, vocab_size)
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
            idx_cond = idx[:, -self.block_size:]  # the position table only has block_size rows
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :]  # (B, C)
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)  # (B, 1)
            idx = torch.cat((idx, idx_next), dim=1)  # (B, T+1)
        ### END SOLUTION
        return idx
