"""Probes for lecture 1 (micrograd). Pure Python: this worker may not load torch or numpy."""
from __future__ import annotations

import math

from zth_worker.probes import attr, module, probe

BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b}
WITH_CONST = {"addc": lambda a, c: a + c, "subc": lambda a, c: a - c, "mulc": lambda a, c: a * c,
              "divc": lambda a, c: a / c, "pow": lambda a, c: a ** c,
              "radd": lambda a, c: c + a, "rsub": lambda a, c: c - a, "rmul": lambda a, c: c * a,
              "rdiv": lambda a, c: c / a}
UNARY = {"neg": lambda a: -a}
METHODS = ("tanh", "exp", "log", "relu")


def _value_class(pkg):
    return attr(module(pkg, "engine"), "Value")


def _f(x) -> float:
    return float(x)


def build(Value, dag):
    """Nodes of a DAG spec: leaves, then ops [name, i, j-or-constant] over earlier nodes."""
    nodes = [Value(x) for x in dag["leaves"]]
    for op in dag["ops"]:
        name, i = op[0], op[1]
        a = nodes[i]
        if name in BINARY:
            nodes.append(BINARY[name](a, nodes[op[2]]))
        elif name in WITH_CONST:
            nodes.append(WITH_CONST[name](a, op[2]))
        elif name in UNARY:
            nodes.append(UNARY[name](a))
        elif name in METHODS:
            nodes.append(attr(a, name, f"Value.{name}")())
        else:
            raise ValueError(f"unknown op {name}")
    return nodes


@probe
def eval_dags(pkg, dags, backward=True):
    Value = _value_class(pkg)
    out = []
    for dag in dags:
        nodes = build(Value, dag)
        if backward:
            attr(nodes[-1], "backward", "Value.backward")()
        out.append({"data": [_f(n.data) for n in nodes],
                    "grad": [_f(n.grad) for n in nodes] if backward else []})
    return out


@probe
def accumulate(pkg, x):
    """Graphs where one node feeds an op twice or several ops: grads must add up."""
    Value = _value_class(pkg)
    res = []
    a = Value(x)
    b = a + a                      # d b/d a = 2
    b.backward()
    res.append(_f(a.grad))
    a = Value(x)
    b = a * a                      # 2a
    b.backward()
    res.append(_f(a.grad))
    a = Value(x)
    b = a * 3.0
    c = a + b                      # 1 + 3
    d = c * a                      # d d/d a = c + a*4
    d.backward()
    res.append(_f(a.grad))
    return res


def _mlp(pkg, nin, nouts, weights=None):
    nn = module(pkg, "nn")
    model = attr(nn, "MLP")(nin, nouts)
    if weights is not None:
        for layer, lw in zip(attr(model, "layers", "MLP.layers"), weights):
            for neuron, nw in zip(attr(layer, "neurons", "Layer.neurons"), lw):
                for w, v in zip(attr(neuron, "w", "Neuron.w"), nw[:-1]):
                    w.data = v
                attr(neuron, "b", "Neuron.b").data = nw[-1]
    return model


def _structure(model):
    """Every parameter by position: (layer, neuron, 'w', k) / (layer, neuron, 'b')."""
    where = {}
    for li, layer in enumerate(model.layers):
        for ni, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                where[id(w)] = (w, f"L{li}.N{ni}.w{k}")
            where[id(neuron.b)] = (neuron.b, f"L{li}.N{ni}.b")
    return where


def _outputs(y):
    return [_f(v.data) for v in y] if isinstance(y, list) else [_f(y.data)]


@probe
def nn_forward(pkg, nin, nouts, weights, xs):
    model = _mlp(pkg, nin, nouts, weights)
    outs, total = [], None
    for x in xs:
        y = model(x)
        ys = y if isinstance(y, list) else [y]
        outs.append(_outputs(y))
        for v in ys:
            total = v if total is None else total + v
    total.backward()
    grads = [[[_f(w.grad) for w in n.w] + [_f(n.b.grad)] for n in layer.neurons]
             for layer in model.layers]
    return {"outputs": outs, "grads": grads}


@probe
def parameters(pkg, nin, nouts):
    nn = module(pkg, "nn")
    model = _mlp(pkg, nin, nouts)
    where = _structure(model)
    order = [where[id(p)][1] if id(p) in where else "?" for p in model.parameters()]
    neuron = attr(nn, "Neuron")(nin)
    layer = attr(nn, "Layer")(nin, nouts[0])
    return {"mlp": order, "neuron": len(neuron.parameters()), "layer": len(layer.parameters())}


@probe
def zero_grad(pkg, nin, nouts, x):
    model = _mlp(pkg, nin, nouts)
    y = model(x)
    (sum(y) if isinstance(y, list) else y).backward()
    for v, _ in _structure(model).values():
        v.grad = 1.5
    attr(model, "zero_grad", "Module.zero_grad")()
    return [_f(v.grad) for v, _ in _structure(model).values()]


@probe
def train(pkg, X, y, nouts, steps, alpha):
    """The lecture demo's loop: SVM max-margin loss + L2, full batch, decaying SGD step."""
    model = _mlp(pkg, 2, nouts)
    init = [[[_f(w.data) for w in n.w] + [_f(n.b.data)] for n in layer.neurons]
            for layer in model.layers]
    losses = []
    for k in range(steps):
        scores = [model(x) for x in X]
        margins = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
        data_loss = sum(margins) * (1.0 / len(margins))
        reg_loss = alpha * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(_f(loss.data))
    scores = [_f(model(x).data) for x in X]
    return {"init": init, "losses": losses, "scores": scores}


@probe
def draw_dot(pkg, a, b, c):
    viz = module(pkg, "viz")
    Value = _value_class(pkg)
    va, vb, vc = Value(a), Value(b), Value(c)
    e = va * vb
    d = e + vc
    out = d.relu()  # relu only, so a broken tanh costs points on micrograd.tanh alone
    out.backward()
    dot = attr(viz, "draw_dot")(out)
    source = dot.source
    if type(source) is not str:
        raise TypeError("draw_dot(...).source must be a str")
    ids = {name: str(id(v)) for name, v in (("a", va), ("b", vb), ("c", vc), ("e", e), ("d", d),
                                             ("out", out))}
    ops = {name: v._op for name, v in (("e", e), ("d", d), ("out", out))}
    return {"source": source, "ids": ids, "ops": ops,
            "values": {k: [_f(v.data), _f(v.grad)] for k, v in
                       (("a", va), ("b", vb), ("c", vc), ("out", out))}}


FUNCTIONS = {
    "lecture": lambda a, b, c: -a**3 + math.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5,
    "poly": lambda a, b, c: a * b * c + a**2 - 3 * c,
    "exp": lambda a, b, c: math.exp(a * 0.5) * b - math.log(c),
}


@probe
def numerical_grad(pkg, fn, args, h):
    ex = module(pkg, "exercises")
    grads = attr(ex, "numerical_grad")(FUNCTIONS[fn], list(args), h=h)
    return [_f(g) for g in grads]


@probe
def softmax_nll(pkg, logits, target):
    ex = module(pkg, "exercises")
    Value = _value_class(pkg)
    vs = [Value(x) for x in logits]
    probs = attr(ex, "softmax")(vs)
    loss = attr(ex, "nll")(vs, target)
    loss.backward()
    return {"probs": [_f(p.data) for p in probs], "loss": _f(loss.data),
            "grads": [_f(v.grad) for v in vs]}
