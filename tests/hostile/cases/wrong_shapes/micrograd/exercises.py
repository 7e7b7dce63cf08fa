"""Hostile test case: results of the wrong shape."""
from .engine import Value


def numerical_grad(f, args, h=1e-6):
    return [0.5]        # one number for three arguments


def softmax(logits):
    counts = [logit.exp() for logit in logits]
    total = sum(counts)
    return [[c / total for c in counts]]


def nll(logits, target):
    counts = [logit.exp() for logit in logits]
    return -(counts[target] / sum(counts)).log()
