"""mlp's buggy variants."""
from __future__ import annotations

from . import Bug

BUGS = {
    # examples only once the context is full of real characters: no '...' padding
    "dataset_without_padding_context": Bug(
        {"data.py": [("            X.append(context)\n            Y.append(ix)\n",
                      ("            if 0 not in context:\n                X.append(context)\n"
                       "                Y.append(ix)\n"))]},
        fails="dataset pipeline"),
    "dataset_without_end_token": Bug(
        {"data.py": [("for ch in w + '.':", "for ch in w:")]}, fails="dataset pipeline"),
    "split_cut_at_90_percent": Bug(
        {"data.py": [("n1, n2 = int(0.8 * len(words))", "n1, n2 = int(0.9 * len(words))")]},
        fails="split pipeline"),
    "init_draws_W1_before_C": Bug(
        {"model.py": [(("    C = torch.randn((vocab_size, n_embd), generator=g)\n"
                        "    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n"),
                       ("    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n"
                        "    C = torch.randn((vocab_size, n_embd), generator=g)\n"))]},
        fails="init"),
    "hidden_layer_without_tanh": Bug(
        {"model.py": [("return torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)",
                       "return emb.view(emb.shape[0], -1) @ W1 + b1")]},
        fails="forward grads"),
    # the manual softmax + NLL: exp overflows for large logits
    "manual_loss_overflows": Bug(
        {"model.py": [("    return F.cross_entropy(logits, Y)\n",
                       ("    counts = logits.exp()\n"
                        "    prob = counts / counts.sum(1, keepdim=True)\n"
                        "    return -prob[torch.arange(len(Y)), Y].log().mean()\n"))]},
        fails="loss"),
    "gradients_never_reset": Bug(
        {"train.py": [("        for p in parameters:\n            p.grad = None\n", "")]},
        fails="train"),
    # issue #16: the docstring says "shuffle a copy" and leaves the global random state alone
    "split_shuffles_the_callers_list_in_place": Bug(
        {"data.py": [("    words = list(words)\n    random.Random(seed).shuffle(words)",
                      "    random.Random(seed).shuffle(words)")]},
        fails="split"),
    "split_reseeds_the_global_rng": Bug(
        {"data.py": [("    random.Random(seed).shuffle(words)",
                      "    random.seed(seed)\n    random.shuffle(words)")]},
        fails="split"),
    "split_reseeds_torch": Bug(
        {"data.py": [("    random.Random(seed).shuffle(words)",
                      "    torch.manual_seed(seed)\n    random.Random(seed).shuffle(words)")]},
        fails="split"),
    # issues #15/#16: the learning-rate schedule is verified, every step of it
    "lr_never_decays": Bug(
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       "            p.data += -lr(0) * p.grad\n")]},
        fails="train"),
    "lr_decays_at_its_own_step": Bug(
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       ("            p.data += -(lr(0) if i < steps // 2 else lr(0) / 10)"
                        " * p.grad\n"))]},
        fails="train"),
    "lr_of_the_next_step": Bug(
        {"train.py": [("            p.data += -lr(i) * p.grad\n",
                       "            p.data += -lr(i + 1) * p.grad\n")]},
        fails="train"),
    "batches_without_the_generator": Bug(
        {"train.py": [("        ix = torch.randint(0, X.shape[0], (batch_size,), "
                       "generator=generator)\n",
                       "        ix = torch.randint(0, X.shape[0], (batch_size,))\n")]},
        fails="train"),
    "sample_never_slides_the_context": Bug(
        {"model.py": [("            context = context[1:] + [ix]\n", "")]}, fails="sample"),
    "init_not_calibrated": Bug(
        {"model.py": [("        W2 = W2 * 0.01\n        b2 = b2 * 0\n", "        pass\n")]},
        fails="e02_init"),
}
