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
    ### BEGIN SOLUTION
    n = Yb.shape[0]
    dlogprobs = torch.zeros_like(probs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum  # second branch: counts -> counts_sum
    dnorm_logits = counts * dcounts  # d exp(x) / dx = exp(x)
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    return {"dlogprobs": dlogprobs, "dprobs": dprobs, "dcounts_sum_inv": dcounts_sum_inv,
            "dcounts_sum": dcounts_sum, "dcounts": dcounts, "dnorm_logits": dnorm_logits,
            "dlogit_maxes": dlogit_maxes, "dlogits": dlogits}
    ### END SOLUTION


def backward_output(dlogits, h, W2):
    """Through logits = h @ W2 + b2 and h = tanh(hpreact).

    Returns {"dh", "dW2", "db2", "dhpreact"}.
    """
    ### BEGIN SOLUTION
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh
    return {"dh": dh, "dW2": dW2, "db2": db2, "dhpreact": dhpreact}
    ### END SOLUTION


def backward_batchnorm(dhpreact, bngain, bnraw, bndiff, bndiff2, bnvar, bnvar_inv):
    """Through the BatchNorm, step by step: hpreact = bngain * bnraw + bnbias, ...

    Returns {"dbngain", "dbnbias", "dbnraw", "dbnvar_inv", "dbnvar", "dbndiff2", "dbndiff",
    "dbnmeani", "dhprebn"}.
    """
    ### BEGIN SOLUTION
    n = dhpreact.shape[0]
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff = bnvar_inv * dbnraw
    dbndiff += (2 * bndiff) * dbndiff2  # second branch: bndiff -> bndiff2 -> bnvar
    dbnmeani = (-dbndiff).sum(0, keepdim=True)
    dhprebn = dbndiff.clone()
    dhprebn += 1.0 / n * (torch.ones_like(dbndiff) * dbnmeani)
    return {"dbngain": dbngain, "dbnbias": dbnbias, "dbnraw": dbnraw, "dbnvar_inv": dbnvar_inv,
            "dbnvar": dbnvar, "dbndiff2": dbndiff2, "dbndiff": dbndiff, "dbnmeani": dbnmeani,
            "dhprebn": dhprebn}
    ### END SOLUTION


def backward_first_layer(dhprebn, Xb, C, emb, embcat, W1):
    """Through hprebn = embcat @ W1 + b1, embcat = emb.view(n, -1) and emb = C[Xb].

    Returns {"dembcat", "dW1", "db1", "demb", "dC"}.
    """
    ### BEGIN SOLUTION
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))  # each row used k times gets k grads
    return {"dembcat": dembcat, "dW1": dW1, "db1": db1, "demb": demb, "dC": dC}
    ### END SOLUTION


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
