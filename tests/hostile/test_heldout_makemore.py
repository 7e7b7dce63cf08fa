"""Held-out makemore submissions (bigram, mlp, batchnorm, backprop): correct code written
differently from the reference must get full marks on the checks it touches, and a few more
plausible mistakes (beyond those in tests/test_<lecture>.py) must fail the right check.

Each lecture's submissions are graded in one batch (two jobs), only on the checks they touch.
"""
from __future__ import annotations

import shutil

import pytest
from conftest import mutant

from grader.config import load_course
from grader.runner import grade

# lecture: {variant name: (edits, checks it touches)}
VARIANTS = {
    "bigram": {
        "loop_counting_and_dict_vocab": ({"counts.py": [
            ("    itos = {i: s for s, i in stoi.items()}\n",
             "    itos = dict(enumerate(['.'] + chars))\n"),
            ("    N.index_put_((pairs[:, 0], pairs[:, 1]), torch.ones(len(pairs), "
             "dtype=torch.int32),\n                 accumulate=True)\n",
             "    N.zero_()\n"
             "    for ch1, ch2 in bigrams(words):\n"
             "        N[stoi[ch1], stoi[ch2]] += 1\n")]},
            {"bigram.vocab", "bigram.counts", "bigram.smoothing", "bigram.nll",
             "bigram.e01_trigram", "bigram.pipeline"}),
        "bincount_and_vectorised_nll": ({"counts.py": [
            ("    N = torch.zeros((V, V), dtype=torch.int32)\n",
             "    flat = pairs[:, 0] * V + pairs[:, 1]\n"
             "    N = torch.bincount(flat, minlength=V * V).view(V, V).to(torch.int32)\n"),
            ("    N.index_put_((pairs[:, 0], pairs[:, 1]), torch.ones(len(pairs), "
             "dtype=torch.int32),\n                 accumulate=True)\n", ""),
            ("    P = (N + k).float()\n    P /= P.sum(1, keepdim=True)\n    return P\n",
             "    P = N.float() + k\n    return P / P.sum(dim=1, keepdims=True)\n"),
            ("    log_likelihood = 0.0\n    n = 0\n    for ch1, ch2 in bigrams(words):\n"
             "        prob = P[stoi[ch1], stoi[ch2]]\n"
             "        log_likelihood += torch.log(prob)\n        n += 1\n"
             "    return (-log_likelihood / n).item()\n",
             "    ix = torch.tensor([[stoi[a], stoi[b]] for a, b in bigrams(words)])\n"
             "    return -P[ix[:, 0], ix[:, 1]].log().mean().item()\n")]},
            {"bigram.counts", "bigram.smoothing", "bigram.nll", "bigram.sample",
             "bigram.e01_trigram", "bigram.e02_split", "bigram.e03_sweep", "bigram.pipeline"}),
        "eye_rows_onehot_and_log_softmax_loss": ({"neural.py": [
            ("    xenc = F.one_hot(xs, num_classes=W.shape[0]).float()\n    return xenc @ W\n",
             "    return torch.eye(W.shape[0])[xs] @ W\n"),
            ("    return W[xs]\n", "    return torch.index_select(W, 0, xs)\n"),
            ("    counts = logits.exp()\n    probs = counts / counts.sum(1, keepdim=True)\n"
             "    loss = -probs[torch.arange(len(ys)), ys].log().mean()\n",
             "    logp = logits - logits.logsumexp(dim=1, keepdim=True)\n"
             "    loss = -logp.gather(1, ys.view(-1, 1)).mean()\n"),
            ("        loss = loss + reg * (W**2).mean()\n    return loss\n    ### END SOLUTION\n\n"
             "\ndef cross_entropy_loss",
             "        loss = loss + reg * W.pow(2).sum() / W.numel()\n    return loss\n"
             "    ### END SOLUTION\n\n\ndef cross_entropy_loss")]},
            {"bigram.onehot", "bigram.e04_indexing", "bigram.e05_cross_entropy"}),
        "one_hot_descent_with_no_grad_update": ({"neural.py": [
            ("    xs, ys = [], []\n    for ch1, ch2 in bigrams(words):\n"
             "        xs.append(stoi[ch1])\n        ys.append(stoi[ch2])\n"
             "    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)\n",
             "    pairs = torch.tensor([[stoi[a], stoi[b]] for a, b in bigrams(words)])\n"
             "    return pairs[:, 0].clone(), pairs[:, 1].clone()\n"),
            ("        logits = forward_index(xs, W)\n"
             "        loss = cross_entropy_loss(logits, ys, W, reg)\n"
             "        W.grad = None\n        loss.backward()\n        W.data += -lr * W.grad\n",
             "        logits = forward_onehot(xs, W)\n"
             "        loss = manual_loss(logits, ys, W, reg)\n"
             "        if W.grad is not None:\n            W.grad.zero_()\n"
             "        loss.backward()\n"
             "        with torch.no_grad():\n            W -= lr * W.grad\n")]},
            {"bigram.dataset", "bigram.gradient_descent"}),
    },
    "mlp": {
        # the lecture's global random.seed + random.shuffle, with the caller's state put back
        "padded_window_dataset_and_global_shuffle_restored": ({"data.py": [
            ("    for w in words:\n        context = [0] * block_size\n"
             "        for ch in w + '.':\n            ix = stoi[ch]\n"
             "            X.append(context)\n            Y.append(ix)\n"
             "            context = context[1:] + [ix]  # crop and append\n",
             "    for w in words:\n"
             "        ixs = [0] * block_size + [stoi[ch] for ch in w] + [0]\n"
             "        for i in range(len(w) + 1):\n"
             "            X.append(ixs[i:i + block_size])\n"
             "            Y.append(ixs[i + block_size])\n"),
            ("    words = list(words)\n"
             "    random.Random(seed).shuffle(words)  # same permutation as random.seed(seed); "
             "random.shuffle\n",
             "    words = words[:]\n    state = random.getstate()\n    random.seed(seed)\n"
             "    random.shuffle(words)\n    random.setstate(state)\n")]},
            {"mlp.dataset", "mlp.split", "mlp.pipeline"}),
        "cat_unbind_hidden_and_log_softmax_loss": ({"model.py": [
            ("    return torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)\n",
             "    embcat = torch.cat(torch.unbind(emb, 1), 1)\n"
             "    return (embcat @ W1 + b1).tanh()\n"),
            ("    return F.cross_entropy(logits, Y)\n",
             "    logp = F.log_softmax(logits, dim=1)\n"
             "    return -logp[torch.arange(logits.shape[0]), Y].mean()\n")]},
            {"mlp.forward", "mlp.loss", "mlp.grads", "mlp.train"}),
        # gradients zeroed in place, the update as add_, the losses returned as a tensor
        "zeroed_grads_add_update_and_loss_tensor": ({"train.py": [
            ("        for p in parameters:\n            p.grad = None\n",
             "        for p in parameters:\n            if p.grad is not None:\n"
             "                p.grad.zero_()\n"),
            ("            p.data += -lr(i) * p.grad\n",
             "            p.data.add_(p.grad, alpha=-lr(i))\n"),
            ("    return lossi\n", "    return torch.tensor(lossi)\n")]},
            {"mlp.train"}),
        "one_hot_embedding_and_addmm": ({"model.py": [
            ("    return C[X]\n", "    return F.one_hot(X, C.shape[0]).to(C.dtype) @ C\n"),
            ("    return h @ W2 + b2\n", "    return torch.addmm(b2, h, W2)\n"),
            ("    return -math.log(1 / vocab_size)\n", "    return math.log(vocab_size)\n")]},
            {"mlp.forward", "mlp.loss", "mlp.grads", "mlp.sample", "mlp.e02_init"}),
    },
    "batchnorm": {
        "manual_moments_and_rsqrt": ({"nn.py": [
            ("            xmean = x.mean(0, keepdim=True)  # batch mean\n"
             "            xvar = x.var(0, keepdim=True)    # batch variance (unbiased, as in the "
             "lecture)\n",
             "            n = x.shape[0]\n"
             "            xmean = x.sum(0, keepdim=True) / n\n"
             "            xvar = ((x - xmean) ** 2).sum(0, keepdim=True) / (n - 1)\n"),
            ("        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)",
             "        xhat = (x - xmean) * torch.rsqrt(xvar + self.eps)"),
            ("                self.running_mean = (1 - self.momentum) * self.running_mean + "
             "self.momentum * xmean\n",
             "                self.running_mean = torch.lerp(self.running_mean, xmean, "
             "self.momentum)\n")]},
            {"batchnorm.bn_train", "batchnorm.bn_running", "batchnorm.bn_eval",
             "batchnorm.bn_momentum", "batchnorm.bn_backward", "batchnorm.fold"}),
        "multiplied_init_addmm_and_broadcast_fold": ({"nn.py": [
            ("/ fan_in**0.5\n", "* fan_in**-0.5\n"),
            ("        self.out = x @ self.weight\n        if self.bias is not None:\n"
             "            self.out = self.out + self.bias\n",
             "        if self.bias is None:\n            self.out = x @ self.weight\n"
             "        else:\n            self.out = torch.addmm(self.bias, x, self.weight)\n"),
            ("        self.out = torch.tanh(x)\n", "        self.out = x.tanh()\n")],
            "exercises.py": [
            ("    scale = bn.gamma / torch.sqrt(bn.running_var + bn.eps)\n",
             "    scale = (bn.gamma * (bn.running_var + bn.eps) ** -0.5).reshape(-1)\n"),
            ("    folded.weight = linear.weight * scale.reshape(1, -1)\n",
             "    folded.weight = linear.weight * scale\n")]},
            {"batchnorm.linear", "batchnorm.init_stats", "batchnorm.init_loss",
             "batchnorm.activation_stats", "batchnorm.grad_stats", "batchnorm.fold"}),
    },
    "backprop": {
        "one_hot_dlogprobs_and_equality_max_routing": ({"ninja.py": [
            ("    dlogprobs = torch.zeros_like(probs)\n    dlogprobs[range(n), Yb] = -1.0 / n\n",
             "    dlogprobs = -F.one_hot(Yb, probs.shape[1]).to(probs.dtype) / n\n"),
            ("    dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv\n",
             "    dcounts_sum = -(counts_sum_inv**2) * dcounts_sum_inv\n"),
            ("    dcounts += torch.ones_like(counts) * dcounts_sum",
             "    dcounts = dcounts + dcounts_sum"),
            ("    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * "
             "dlogit_maxes\n",
             "    dlogits = dlogits + (logits == logit_maxes).to(logits.dtype) * dlogit_maxes\n")]},
            {"backprop.dlogprobs", "backprop.dprobs", "backprop.dcounts_sum_inv",
             "backprop.dcounts_sum", "backprop.dcounts", "backprop.dnorm_logits",
             "backprop.dlogit_maxes", "backprop.dlogits", "backprop.train_manual",
             "backprop.other_shapes"}),
        "transposed_products_and_bnvar_inv_cubed": ({"ninja.py": [
            ("    dh = dlogits @ W2.T\n    dW2 = h.T @ dlogits\n",
             "    dh = (W2 @ dlogits.T).T\n    dW2 = (dlogits.T @ h).T\n"),
            ("    dhpreact = (1.0 - h**2) * dh\n", "    dhpreact = dh - h * h * dh\n"),
            ("    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv\n",
             "    dbnvar = -0.5 * bnvar_inv**3 * dbnvar_inv\n"),
            ("    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar\n",
             "    dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)\n"),
            ("    dhprebn = dbndiff.clone()\n"
             "    dhprebn += 1.0 / n * (torch.ones_like(dbndiff) * dbnmeani)\n",
             "    dhprebn = dbndiff + dbnmeani / n\n")]},
            {"backprop.dh", "backprop.dW2", "backprop.db2", "backprop.dhpreact",
             "backprop.dbngain", "backprop.dbnbias", "backprop.dbnraw", "backprop.dbnvar_inv",
             "backprop.dbnvar", "backprop.dbndiff2", "backprop.dbndiff", "backprop.dbnmeani",
             "backprop.dhprebn", "backprop.train_manual", "backprop.other_shapes"}),
        "looped_dC_and_one_expression_fused": ({"ninja.py": [
            ("    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))",
             "    for k in range(Xb.shape[0]):\n"
             "        for j in range(Xb.shape[1]):\n"
             "            dC[Xb[k, j]] += demb[k, j]\n"
             "    pass"),
            ("    demb = dembcat.view(emb.shape)\n", "    demb = dembcat.reshape(*emb.shape)\n")],
            "fused.py": [
            ("    dlogits = F.softmax(logits, 1)\n    dlogits[range(n), Yb] -= 1\n"
             "    dlogits /= n\n    return dlogits\n",
             "    return (F.softmax(logits, 1) - F.one_hot(Yb, logits.shape[1])) / n\n"),
            ("    return bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)\n"
             "                                     - n / (n - 1) * bnraw * (dhpreact * bnraw)"
             ".sum(0))\n",
             "    dxhat = bngain * dhpreact\n"
             "    return bnvar_inv * (dxhat - dxhat.mean(0)\n"
             "                        - bnraw * (dxhat * bnraw).sum(0) / (n - 1))\n")]},
            {"backprop.dembcat", "backprop.dW1", "backprop.db1", "backprop.demb", "backprop.dC",
             "backprop.dlogits_fused", "backprop.dhprebn_fused", "backprop.train_manual",
             "backprop.other_shapes"}),
    },
}

# extra plausible mistakes for backprop, whose own test file has the fewest (5)
BUGS = {
    "backprop": {
        "dC_assigned_not_accumulated": ({"ninja.py": [
            ("    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))",
             "    dC[Xb.view(-1)] = demb.view(-1, C.shape[1])")]}, "backprop.dC"),
        "dbndiff2_biased_divisor": ({"ninja.py": [
            ("    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar\n",
             "    dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar\n")]},
            "backprop.dbndiff2"),
        "dhpreact_uses_tanh_not_its_derivative": ({"ninja.py": [
            ("    dhpreact = (1.0 - h**2) * dh\n", "    dhpreact = h * dh\n")]},
            "backprop.dhpreact"),
    },
}

LECTURES = sorted(VARIANTS)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = {}
    for lecture in LECTURES:
        tmp = tmp_path_factory.mktemp(f"heldout-{lecture}")
        batch = tmp / "batch"
        batch.mkdir()
        only = set()
        subs = {**VARIANTS[lecture], **BUGS.get(lecture, {})}
        for name, (edits, checks) in subs.items():
            only |= {checks} if isinstance(checks, str) else checks
            sub = mutant(tmp / name, lecture, edits)
            shutil.move(str(sub), str(batch / name))
        run = grade(load_course(), batch, [lecture], 99, batch=True, jobs=2, only=only)
        out[lecture] = {s.student: {c.id: c for c in s.lectures[0].checks}
                        for s in run.submissions}
    return out


@pytest.mark.parametrize(("lecture", "variant"),
                         [(lec, v) for lec in LECTURES for v in sorted(VARIANTS[lec])])
def test_correct_but_differently_written_gets_full_marks(graded, lecture, variant):
    touched = VARIANTS[lecture][variant][1]
    results = graded[lecture][variant]
    failed = {k: results[k].message for k in touched if not results[k].passed}
    assert not failed


@pytest.mark.parametrize(("lecture", "bug"),
                         [(lec, b) for lec in sorted(BUGS) for b in sorted(BUGS[lec])])
def test_plausible_mistake_fails_the_right_check(graded, lecture, bug):
    results = graded[lecture][bug]
    target = BUGS[lecture][bug][1]
    assert results[target].status == "failed" and results[target].points == 0, \
        results[target].message
    assert sum(r.points for r in results.values()) < sum(r.max_points for r in results.values())
