"""The lecture's exercise notebook, as functions.

Section 1: numerical derivatives. The symmetric difference (f(x+h) - f(x-h)) / 2h is far more
accurate than the one-sided (f(x+h) - f(x)) / h: its error shrinks with h**2 instead of h.
Section 2: softmax and the negative log likelihood built from `Value` ops, so that `backward()`
gives the gradient of the loss with respect to every logit.

Exercise ids: micrograd.numerical_grad, micrograd.softmax_nll.
"""
from .engine import Value


def numerical_grad(f, args, h=1e-6):
    """Symmetric-difference estimate of the gradient of f(*args) with respect to each arg."""
    # YOUR CODE HERE
    raise NotImplementedError()


def softmax(logits):
    """Softmax of a list of Values, as a list of Values."""
    # YOUR CODE HERE
    raise NotImplementedError()


def nll(logits, target):
    """Negative log likelihood of class `target` under softmax(logits), as a Value."""
    # YOUR CODE HERE
    raise NotImplementedError()


def _demo():
    logits = [Value(0.0), Value(3.0), Value(-2.0), Value(1.0)]
    loss = nll(logits, 3)
    loss.backward()
    return loss.data, [v.grad for v in logits]
