"""Probes for lecture 4 (activations, gradients, BatchNorm). Everything runs in float64."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from zth_worker.probes import attr, module, probe
from zth_worker.probes._tensors import array, double, plain, tensor


def _nn(pkg):
    return module(pkg, "nn")


@probe
def linear(pkg, fan_in, fan_out, weight, bias, x):
    nn = _nn(pkg)
    Linear, Tanh = attr(nn, "Linear"), attr(nn, "Tanh")
    init = Linear(fan_in, fan_out)
    nobias = Linear(fan_in, fan_out, bias=False)
    layer = Linear(weight.shape[0], weight.shape[1])
    layer.weight, layer.bias = tensor(weight), tensor(bias)
    out = layer(tensor(x))
    tanh = Tanh()
    t = tanh(tensor(x))
    return {"init_weight": array(attr(init, "weight", "Linear.weight"), "Linear.weight"),
            "init_bias": array(attr(init, "bias", "Linear.bias"), "Linear.bias"),
            "nobias_is_none": attr(nobias, "bias", "Linear.bias") is None,
            "n_params": [len(init.parameters()), len(nobias.parameters()),
                         len(tanh.parameters())],
            "out": array(out, "Linear(x)"), "out_attr": array(layer.out, "Linear.out"),
            "tanh": array(t, "Tanh(x)"), "tanh_attr": array(tanh.out, "Tanh.out")}


@probe
def bn_run(pkg, dim, gamma, beta, batches, eval_x, eps=None, momentum=None):
    """Train-mode forwards over `batches`, then one eval-mode forward; stats after each."""
    kwargs = {k: v for k, v in (("eps", eps), ("momentum", momentum)) if v is not None}
    bn = double(attr(_nn(pkg), "BatchNorm1d")(dim, **kwargs))
    # gamma and beta require grad, as in training: the running statistics must not join the graph
    bn.gamma, bn.beta = tensor(gamma).requires_grad_(), tensor(beta).requires_grad_()
    outs, means, vars_, in_graph = [], [], [], []
    for x in batches:
        outs.append(array(bn(tensor(x).requires_grad_()), "BatchNorm1d(x)"))
        rm = attr(bn, "running_mean", "BatchNorm1d.running_mean")
        rv = attr(bn, "running_var", "BatchNorm1d.running_var")
        means.append(array(rm, "running_mean").reshape(-1))
        vars_.append(array(rv, "running_var").reshape(-1))
        in_graph.append([k for k, t in (("running_mean", rm), ("running_var", rv))
                         if isinstance(t, torch.Tensor) and (t.requires_grad
                                                             or t.grad_fn is not None)])
    bn.training = False
    eval_out = array(bn(tensor(eval_x)), "BatchNorm1d(x) in eval mode")
    return {"outs": outs, "running_mean": means, "running_var": vars_, "eval_out": eval_out,
            "in_graph": in_graph,
            "eval_mean": array(bn.running_mean, "running_mean").reshape(-1),
            "eval_var": array(bn.running_var, "running_var").reshape(-1),
            "n_params": len(bn.parameters())}


@probe
def bn_backward(pkg, dim, gamma, beta, batches, grads):
    """Backpropagate a given upstream gradient through training-mode forwards: the gradients
    that reach the input, gamma and beta (None where none arrived)."""
    out = []
    for x, g in zip(batches, grads):
        bn = double(attr(_nn(pkg), "BatchNorm1d")(dim))
        bn.gamma, bn.beta = tensor(gamma).requires_grad_(), tensor(beta).requires_grad_()
        xt = tensor(x).requires_grad_()
        y = bn(xt)
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"BatchNorm1d(x) should return a torch.Tensor, got "
                            f"{type(y).__name__}")
        if y.requires_grad:  # else nothing is connected: every gradient below stays None
            (y * tensor(g)).sum().backward()
        out.append({k: None if t.grad is None else array(t.grad, f"{k}.grad")
                    for k, t in (("x", xt), ("gamma", bn.gamma), ("beta", bn.beta))})
    return out


@probe
def init_net(pkg, vocab_size, block_size, n_embd, n_hidden, n_layers, batchnorm, X):
    """The student's `build_mlp` at init: its parameters, and every layer's output on a batch
    (in float64, so the parent can recompute the forward from the parameters and compare)."""
    C, layers = attr(module(pkg, "model"), "build_mlp")(
        vocab_size, block_size=block_size, n_embd=n_embd, n_hidden=n_hidden,
        n_layers=n_layers, batchnorm=batchnorm)
    if not isinstance(C, torch.Tensor):
        raise TypeError(f"build_mlp should return (C, layers) with C a tensor, got "
                        f"{type(C).__name__}")
    C = C.detach().to(torch.float64)
    kinds, outs, params = [], [], []
    with torch.no_grad():
        emb = C[torch.as_tensor(X)]
        x = emb.view(emb.shape[0], -1)
        for layer in layers:
            kind = type(layer).__name__
            names = {"Linear": ("weight", "bias"), "BatchNorm1d": ("gamma", "beta")}.get(kind, ())
            double(layer)
            params.append({k: None if attr(layer, k, f"{kind}.{k}") is None
                           else array(getattr(layer, k), f"{kind}.{k}") for k in names})
            x = layer(x)
            kinds.append(kind)
            outs.append(array(x, f"output of {kind}").astype("float32"))
    return {"kinds": kinds, "outs": outs, "C": array(C, "C"), "params": params}


def _mlp(nn, C, weights):
    """[Linear, Tanh] * k + Linear from the student's classes, with the given float64 weights."""
    Linear, Tanh = attr(nn, "Linear"), attr(nn, "Tanh")
    layers = []
    for k, (W, b) in enumerate(weights):
        layer = Linear(W.shape[0], W.shape[1])
        layer.weight = tensor(W).requires_grad_()
        layer.bias = tensor(b).requires_grad_()
        layers.append(layer)
        if k < len(weights) - 1:
            layers.append(Tanh())
    params = [tensor(C).requires_grad_()] + [p for layer in layers for p in layer.parameters()]
    return params, layers


@probe
def diagnostics(pkg, C, weights, X, Y, lr):
    nn, diag = _nn(pkg), module(pkg, "diagnostics")
    params, layers = _mlp(nn, C, weights)
    emb = params[0][torch.as_tensor(X)]
    x = emb.view(emb.shape[0], -1)
    for layer in layers:
        x = layer(x)
        layer.out.retain_grad()
    F.cross_entropy(x, torch.as_tensor(Y)).backward()
    return {"activations": plain(attr(diag, "activation_stats")(layers), "activation_stats"),
            "gradients": plain(attr(diag, "gradient_stats")(layers), "gradient_stats"),
            "weights": plain(attr(diag, "weight_stats")(params), "weight_stats"),
            "updates": plain(attr(diag, "update_ratios")(params, lr), "update_ratios")}


@probe
def fold(pkg, blocks):
    """Fold each (Linear, BatchNorm1d in eval mode) pair with the student's fold_batchnorm."""
    nn = _nn(pkg)
    Linear, BatchNorm1d = attr(nn, "Linear"), attr(nn, "BatchNorm1d")
    fold_batchnorm = attr(module(pkg, "exercises"), "fold_batchnorm")
    out = []
    for b in blocks:
        fan_in, fan_out = b["weight"].shape
        lin = double(Linear(fan_in, fan_out, bias=b["bias"] is not None))
        lin.weight = tensor(b["weight"])
        if b["bias"] is not None:
            lin.bias = tensor(b["bias"])
        bn = double(BatchNorm1d(fan_out, eps=b["eps"]))
        bn.gamma, bn.beta = tensor(b["gamma"]), tensor(b["beta"])
        bn.running_mean, bn.running_var = tensor(b["mean"]), tensor(b["var"])
        bn.training = False
        folded = fold_batchnorm(lin, bn)
        bias = attr(folded, "bias", "the folded Linear's bias")
        if bias is None:
            raise TypeError("fold_batchnorm must return a Linear with a bias (got bias=None)")
        out.append({"weight": array(attr(folded, "weight", "the folded Linear's weight"),
                                    "folded weight"),
                    "bias": array(bias, "folded bias").reshape(-1)})
    return out
