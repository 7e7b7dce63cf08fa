"""The exercise's network: embedding C -> Linear (W1, b1) -> BatchNorm (bngain, bnbias) -> tanh
-> Linear (W2, b2) -> cross-entropy, with the forward pass spelled out one small step at a time
so that every intermediate can be backpropagated through by hand.

The lecture's configuration is the default: n_embd 10, n_hidden 64, block_size 3, 27 characters,
4,137 parameters. Parameters are initialised in deliberately non-standard ways (b1 random,
bngain near 1, ...) so that a wrong backward pass cannot hide behind zeros. Like the notebook,
`bngain` and `bnbias` come from torch's global generator (seed it with `torch.manual_seed` for a
repeatable run); the notebook's unseeded draw gave a first-batch loss of 3.3377.
"""
import torch

PARAMETERS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


def init_params(vocab_size=27, n_embd=10, n_hidden=64, block_size=3, generator=None):
    g = generator
    p = {
        "C": torch.randn((vocab_size, n_embd), generator=g),
        # Layer 1
        "W1": torch.randn((n_embd * block_size, n_hidden), generator=g)
        * (5 / 3) / (n_embd * block_size) ** 0.5,
        "b1": torch.randn(n_hidden, generator=g) * 0.1,  # useless because of BN, just for fun
        # Layer 2
        "W2": torch.randn((n_hidden, vocab_size), generator=g) * 0.1,
        "b2": torch.randn(vocab_size, generator=g) * 0.1,
        # BatchNorm parameters
        # as in the notebook, these two come from torch's global generator
        "bngain": torch.randn((1, n_hidden)) * 0.1 + 1.0,
        "bnbias": torch.randn((1, n_hidden)) * 0.1,
    }
    for t in p.values():
        t.requires_grad = True
    return p


def forward(p, Xb, Yb):
    """The forward pass "chunkated" into small steps; returns every intermediate by name."""
    C, W1, b1, W2, b2, bngain, bnbias = (p[k] for k in PARAMETERS)
    n = Xb.shape[0]
    emb = C[Xb]  # embed the characters into vectors
    embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
    # Linear layer 1
    hprebn = embcat @ W1 + b1  # hidden layer pre-activation
    # BatchNorm layer
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # Bessel's correction: n - 1
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    # Non-linearity
    h = torch.tanh(hpreact)  # hidden layer
    # Linear layer 2
    logits = h @ W2 + b2  # output layer
    # cross entropy loss (same as F.cross_entropy(logits, Yb))
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract max for numerical stability
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdim=True)
    counts_sum_inv = counts_sum**-1  # (1.0 / counts_sum) would not give an exact backprop
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    return {"emb": emb, "embcat": embcat, "hprebn": hprebn, "bnmeani": bnmeani,
            "bndiff": bndiff, "bndiff2": bndiff2, "bnvar": bnvar, "bnvar_inv": bnvar_inv,
            "bnraw": bnraw, "hpreact": hpreact, "h": h, "logits": logits,
            "logit_maxes": logit_maxes, "norm_logits": norm_logits, "counts": counts,
            "counts_sum": counts_sum, "counts_sum_inv": counts_sum_inv, "probs": probs,
            "logprobs": logprobs, "loss": loss}
