"""Exercise 1: backprop through the whole network by hand, one intermediate at a time.

Walk the forward pass of `model.forward` backwards. For every intermediate `x`, `dx` is the
gradient of the loss with respect to it, the same shape as `x`. Each step is the chain rule:
the local derivative of the op times the gradient flowing in from above. Two rules cover every
broadcast: a tensor that was broadcast (replicated) in the forward pass gets its gradients
*summed* over the replicated dimension; a tensor used in two places gets the *sum* of both
contributions (`+=`, as in micrograd).

The work is split into four stages, each given the true gradient flowing into it, so one mistake
does not hide the rest. Each returns a dict of gradients named as in the lecture:
- `backward_loss`:        dlogprobs dprobs dcounts_sum_inv dcounts_sum dcounts dnorm_logits
                          dlogit_maxes dlogits
- `backward_output`:      dh dW2 db2 dhpreact
- `backward_batchnorm`:   dbngain dbnbias dbnraw dbnvar_inv dbnvar dbndiff2 dbndiff dbnmeani
                          dhprebn
- `backward_first_layer`: dembcat dW1 db1 demb dC
Autograd is off limits here: no `.backward()`, no `torch.autograd` (the grader enforces it).

Exercise ids, one per gradient: backprop.dlogprobs, backprop.dprobs, backprop.dcounts_sum_inv,
backprop.dcounts_sum, backprop.dcounts, backprop.dnorm_logits, backprop.dlogit_maxes,
backprop.dlogits, backprop.dh, backprop.dW2, backprop.db2, backprop.dhpreact, backprop.dbngain,
backprop.dbnbias, backprop.dbnraw, backprop.dbnvar_inv, backprop.dbnvar, backprop.dbndiff2,
backprop.dbndiff, backprop.dbnmeani, backprop.dhprebn, backprop.dembcat, backprop.dW1,
backprop.db1, backprop.demb, backprop.dC.
"""
import torch
import torch.nn.functional as F


def backward_loss(Yb, logits, logit_maxes, counts, counts_sum, counts_sum_inv, probs):
    """From loss = -logprobs[range(n), Yb].mean() back to the logits.

    Returns {"dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts", "dnorm_logits",
    "dlogit_maxes", "dlogits"}: each the gradient of the loss w.r.t. that tensor.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def backward_output(dlogits, h, W2):
    """Through logits = h @ W2 + b2 and h = tanh(hpreact).

    Returns {"dh", "dW2", "db2", "dhpreact"}.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def backward_batchnorm(dhpreact, bngain, bnraw, bndiff, bndiff2, bnvar, bnvar_inv):
    """Through the BatchNorm, step by step: hpreact = bngain * bnraw + bnbias, ...

    Returns {"dbngain", "dbnbias", "dbnraw", "dbnvar_inv", "dbnvar", "dbndiff2", "dbndiff",
    "dbnmeani", "dhprebn"}.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def backward_first_layer(dhprebn, Xb, C, emb, embcat, W1):
    """Through hprebn = embcat @ W1 + b1, embcat = emb.view(n, -1) and emb = C[Xb].

    Returns {"dembcat", "dW1", "db1", "demb", "dC"}.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def manual_backward(p, t, Xb, Yb):
    """Every gradient, chaining the four stages: p are the parameters, t the intermediates."""
    d = backward_loss(Yb, t["logits"], t["logit_maxes"], t["counts"], t["counts_sum"],
                      t["counts_sum_inv"], t["probs"])
    d.update(backward_output(d["dlogits"], t["h"], p["W2"]))
    d.update(backward_batchnorm(d["dhpreact"], p["bngain"], t["bnraw"], t["bndiff"],
                                t["bndiff2"], t["bnvar"], t["bnvar_inv"]))
    d.update(backward_first_layer(d["dhprebn"], Xb, p["C"], t["emb"], t["embcat"], p["W1"]))
    return d


def cmp(s, dt, t):
    """The lecture's comparison of a manual gradient `dt` with autograd's `t.grad`."""
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad)
    maxdiff = (dt - t.grad).abs().max().item()
    print(f"{s:15s} | exact: {ex!s:5s} | approximate: {app!s:5s} | maxdiff: {maxdiff}")
