"""The neural bigram model: the same 27×27 table, learned by gradient descent.

Each input character is encoded one-hot (`F.one_hot`) and multiplied by a weight matrix W
(27×27): the result is a row of 27 "logits" (log-counts). Exponentiate and normalise (softmax) to
get the probabilities of the next character, and minimise the average negative log likelihood of
the training bigrams with gradient descent. A small regulariser, reg * mean(W**2), pulls W
towards 0 (uniform probabilities) — the neural counterpart of the count model's smoothing.

E04: multiplying a one-hot vector by W just picks a row of W, so `W[xs]` gives the same logits
without building the one-hot matrix. E05: `F.cross_entropy(logits, ys)` is the softmax + NLL in
one call, faster and numerically safe for large logits.

The lecture trains on all of names.txt with lr 50, reg 0.01 and W drawn from
`torch.Generator().manual_seed(2147483647)`: the loss ends near 2.48, just above the counting
model's 2.45 (the regulariser costs a little on the training set).

Exercise ids: bigram.dataset, bigram.onehot, bigram.e04_indexing, bigram.e05_cross_entropy,
bigram.gradient_descent.
"""
import torch
import torch.nn.functional as F

from .counts import bigrams


def make_dataset(words, stoi):
    """Inputs xs and targets ys (1-D torch.int64 tensors): one (first char, next char) pair per
    bigram of `words`, in order."""
    # YOUR CODE HERE
    raise NotImplementedError()


def forward_onehot(xs, W):
    """Logits (float32, len(xs)×V) as the lecture computes them: one-hot encode xs with
    `F.one_hot(xs, num_classes=V).float()` and multiply by W (V×V)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def forward_index(xs, W):
    """E04: the same logits without the one-hot matrix, by indexing the rows of W."""
    # YOUR CODE HERE
    raise NotImplementedError()


def manual_loss(logits, ys, W=None, reg=0.0):
    """Average NLL of the targets ys under softmax(logits), computed by hand (exp, normalise,
    pick, log, mean), plus reg * mean(W**2) when W is given. Returns a scalar tensor."""
    # YOUR CODE HERE
    raise NotImplementedError()


def cross_entropy_loss(logits, ys, W=None, reg=0.0):
    """E05: the same loss with `F.cross_entropy`, plus reg * mean(W**2) when W is given."""
    # YOUR CODE HERE
    raise NotImplementedError()


def gradient_descent(xs, ys, W, steps, lr=50.0, reg=0.01):
    """Run `steps` full-batch gradient descent steps on W (a leaf tensor with requires_grad=True),
    in place: forward, loss (with the regulariser), zero the grad, backward, W -= lr * grad.
    Returns the list of losses, one per step, each before its update."""
    # YOUR CODE HERE
    raise NotImplementedError()
