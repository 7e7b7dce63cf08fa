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
    ### BEGIN SOLUTION
    grads = []
    for i in range(len(args)):
        up = list(args)
        down = list(args)
        up[i] += h
        down[i] -= h
        grads.append((f(*up) - f(*down)) / (2 * h))
    return grads
    ### END SOLUTION


def softmax(logits):
    """Softmax of a list of Values, as a list of Values."""
    ### BEGIN SOLUTION
    counts = [logit.exp() for logit in logits]
    denominator = sum(counts)
    return [c / denominator for c in counts]
    ### END SOLUTION


def nll(logits, target):
    """Negative log likelihood of class `target` under softmax(logits), as a Value."""
    ### BEGIN SOLUTION
    return -softmax(logits)[target].log()
    ### END SOLUTION


def _demo():
    logits = [Value(0.0), Value(3.0), Value(-2.0), Value(1.0)]
    loss = nll(logits, 3)
    loss.backward()
    return loss.data, [v.grad for v in logits]
