"""Probes for lecture 6 (WaveNet). Layers get float64 weights so comparisons can be tight."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from zth_worker.probes import attr, module, probe
from zth_worker.probes._tensors import array, double, tensor


def _nn(pkg):
    return module(pkg, "nn")


def _ix(a) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.long)


@probe
def embedding(pkg, weight, IX):
    emb = attr(_nn(pkg), "Embedding")(*weight.shape)
    emb.weight = tensor(weight)
    out = emb(_ix(IX))
    params = emb.parameters()
    return {"out": array(out, "Embedding(IX)"), "out_attr": array(emb.out, "Embedding.out"),
            "n_params": len(params), "is_weight": len(params) == 1 and params[0] is emb.weight}


@probe
def flatten(pkg, x, n):
    f = attr(_nn(pkg), "FlattenConsecutive")(n)
    out = f(tensor(x))
    return {"out": array(out, f"FlattenConsecutive({n})(x)"),
            "out_attr": array(attr(f, "out", "FlattenConsecutive.out"), "FlattenConsecutive.out"),
            "n_params": len(f.parameters())}


@probe
def sequential(pkg, emb, w1, w2, b2, IX):
    nn = _nn(pkg)
    layers = [attr(nn, "Embedding")(*emb.shape), attr(nn, "Linear")(*w1.shape, bias=False),
              attr(nn, "Tanh")(), attr(nn, "Linear")(*w2.shape)]
    layers[0].weight, layers[1].weight = tensor(emb), tensor(w1)
    layers[3].weight, layers[3].bias = tensor(w2), tensor(b2)
    model = attr(nn, "Sequential")(layers)
    out = model(_ix(IX))
    expected = [layers[0].weight, layers[1].weight, layers[3].weight, layers[3].bias]
    order = [next((i for i, e in enumerate(expected) if e is p), -1)
             for p in model.parameters()]
    return {"out": array(out, "Sequential(...)(IX)"),
            "out_attr": array(attr(model, "out", "Sequential.out"), "Sequential.out"),
            "order": order}


def _in_graph(t) -> bool:
    return isinstance(t, torch.Tensor) and (t.requires_grad or t.grad_fn is not None)


@probe
def bn_run(pkg, dim, gamma, beta, batches, eval_x):
    """Training-mode forwards (gamma, beta and x require grad, as in training), then one in
    eval mode; the running statistics after each, and whether they joined autograd's graph."""
    bn = double(attr(_nn(pkg), "BatchNorm1d")(dim))
    bn.gamma, bn.beta = tensor(gamma).requires_grad_(), tensor(beta).requires_grad_()
    outs, means, vars_, in_graph = [], [], [], []
    for x in batches:
        outs.append(array(bn(tensor(x).requires_grad_()),
                          f"BatchNorm1d(x) for x of shape {x.shape}"))
        rm = attr(bn, "running_mean", "BatchNorm1d.running_mean")
        rv = attr(bn, "running_var", "BatchNorm1d.running_var")
        means.append(array(rm, "running_mean").reshape(-1))
        vars_.append(array(rv, "running_var").reshape(-1))
        in_graph.append([name for name, t in (("running_mean", rm), ("running_var", rv))
                         if _in_graph(t)])
    bn.training = False
    return {"outs": outs, "running_mean": means, "running_var": vars_, "in_graph": in_graph,
            "eval_out": array(bn(tensor(eval_x)), "BatchNorm1d(x) in eval mode")}


def _build(pkg, cfg):
    return attr(module(pkg, "model"), "build_model")(
        cfg["vocab_size"], block_size=cfg["block_size"], n_embd=cfg["n_embd"],
        n_hidden=cfg["n_hidden"])


def _leaves(model, depth: int = 0) -> list:
    """The model's layers in call order, walking into nested Sequentials (anything with its
    own `.layers`)."""
    layers = attr(model, "layers", "Sequential.layers")
    if depth > 8 or not isinstance(layers, (list, tuple)):
        raise TypeError("Sequential.layers should be a list of layers")
    out = []
    for layer in layers:
        out += _leaves(layer, depth + 1) if hasattr(layer, "layers") else [layer]
    return out


@probe
def shapes(pkg, cfg, IX):
    """The shape walk on the grader's batch, with the first layer's weight and output (the
    grader checks that output is weight[IX] for its IX)."""
    model = _build(pkg, cfg)
    layers = _leaves(model)
    with torch.no_grad():
        out = model(_ix(IX))
    first = layers[0] if layers else None
    return {"layers": [[type(layer).__name__, list(layer.out.shape)] for layer in layers],
            "out": list(out.shape), "n_params": sum(p.nelement() for p in model.parameters()),
            "emb_weight": array(attr(first, "weight", "Embedding.weight"), "Embedding.weight"),
            "emb_out": array(attr(first, "out", "Embedding.out"), "Embedding.out"),
            "logits": array(out, "model(X) at initialisation")}


def _set_training(model, training):
    for layer in _leaves(model):
        if hasattr(layer, "training"):
            layer.training = training


@probe
def forward(pkg, cfg, weights, X, Y, eval_X):
    """The student's model with the given float64 weights: train-mode logits for each batch,
    the gradients after the first one, then eval-mode logits (whole batch and one row)."""
    model = _build(pkg, cfg)
    _load(model, weights)
    params = model.parameters()
    logits, grads = [], []
    for k, (Xb, Yb) in enumerate(zip(X, Y)):
        out = model(_ix(Xb))
        logits.append(array(out, "model(X) in training mode"))
        if k == 0:
            F.cross_entropy(out, _ix(Yb)).backward()
            grads = [array(p.grad, "a parameter's grad") if p.grad is not None else None
                     for p in params]
    _set_training(model, False)
    with torch.no_grad():
        eval_logits = array(model(_ix(eval_X)), "model(X) in eval mode")
        one = array(model(_ix(eval_X[:1])), "model(X[:1]) in eval mode")
    return {"logits": logits, "grads": grads, "eval": eval_logits, "eval_one": one}


def _state(layers) -> list:
    """The model's parameters and BatchNorm buffers as float64 arrays, in layer order (the
    layout of the grader's replay: Embedding weight; Linear weight, bias if any; BatchNorm1d
    gamma, beta, running_mean, running_var)."""
    names = {"Embedding": ("weight",), "Linear": ("weight", "bias"),
             "BatchNorm1d": ("gamma", "beta", "running_mean", "running_var")}
    out = []
    for layer in layers:
        kind = type(layer).__name__
        for k in names.get(kind, ()):
            v = attr(layer, k, f"{kind}.{k}")
            if v is not None:
                out.append(array(v, f"{kind}.{k}"))
    return out


def _load(model, weights, dtype=torch.float64):
    """Set the grader's weights on the model's layers, in order, in `dtype` (float64 turns the
    layers' other tensors to float64 too); every parameter requires grad."""
    layers = _leaves(model)
    it = iter(weights)
    for layer in layers:
        if type(layer).__name__ in ("Embedding", "Linear", "BatchNorm1d"):
            if dtype == torch.float64:
                double(layer)
            for k, v in next(it).items():
                if v is not None:
                    setattr(layer, k, tensor(v, dtype).requires_grad_())
    return layers


@probe
def train(pkg, cfg, weights, X, Y, lrs, segment):
    """The lecture's SGD loop (float32, as in the lecture) on the student's model from the
    grader's initial weights, on the grader's batches and learning rates; the state after every
    `segment` steps comes back (the grader replays each segment from the one before and
    evaluates the last itself)."""
    model = _build(pkg, cfg)
    layers = _load(model, weights, torch.float32)
    params = model.parameters()
    losses, checkpoints = [], []
    for i, (Xb, Yb, lr) in enumerate(zip(X, Y, lrs)):
        loss = F.cross_entropy(model(_ix(Xb)), _ix(Yb))
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
        if (i + 1) % segment == 0:
            checkpoints.append(_state(layers))
    return {"losses": losses, "checkpoints": checkpoints}
