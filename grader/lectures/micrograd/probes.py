"""Probes for lecture 1 (micrograd). Pure Python: this worker may not load torch or numpy.

A probe runs the student's code on the inputs the parent chose (leaf values, weights, stale
gradients, initial weights, an expression to draw) and returns what that code computed. It
never judges, and nothing it returns is trusted: the parent compares every number with its own
torch computation on the same inputs (see checks.py).

A student function that returns the wrong kind of object (a float where a Value belongs) makes
the probe answer `{"wrong_type": [function, type name, what was expected]}` instead of
crashing inside this file, so the report can say which function returned what.
"""
from __future__ import annotations

import functools
import gc
import math

from zth_worker.probes import Missing, attr, module, probe

# op name -> (how the probe applies it, the student's function that computes it)
BINARY = {"add": (lambda a, b: a + b, "Value.__add__"),
          "sub": (lambda a, b: a - b, "Value.__sub__"),
          "mul": (lambda a, b: a * b, "Value.__mul__"),
          "div": (lambda a, b: a / b, "Value.__truediv__")}
WITH_CONST = {"addc": (lambda a, c: a + c, "Value.__add__"),
              "subc": (lambda a, c: a - c, "Value.__sub__"),
              "mulc": (lambda a, c: a * c, "Value.__mul__"),
              "divc": (lambda a, c: a / c, "Value.__truediv__"),
              "pow": (lambda a, c: a ** c, "Value.__pow__"),
              "radd": (lambda a, c: c + a, "Value.__radd__"),
              "rsub": (lambda a, c: c - a, "Value.__rsub__"),
              "rmul": (lambda a, c: c * a, "Value.__rmul__"),
              "rdiv": (lambda a, c: c / a, "Value.__rtruediv__")}
UNARY = {"neg": (lambda a: -a, "Value.__neg__")}
METHODS = ("tanh", "exp", "log", "relu")


class WrongType(Exception):
    """A student function returned the wrong kind of object."""

    def __init__(self, what: str, got, expected: str, inside: bool = False):
        super().__init__(what)
        name = type(got).__name__
        self.answer = {"wrong_type": [what, f"a list holding {name}" if inside else name,
                                      expected]}


def typed(fn):
    """Turn a WrongType raised anywhere in the probe into the probe's answer."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WrongType as e:
            return e.answer
    return run


def _value_class(pkg):
    return attr(module(pkg, "engine"), "Value")


def _f(x, what: str = "Value.data") -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise WrongType(what, x, "a number (int or float)") from None


def _is(Value, obj, what: str):
    if not isinstance(obj, Value):
        raise WrongType(what, obj, "a Value")
    return obj


def _apply(fn, label, *args):
    try:
        return fn(*args)
    except TypeError as e:
        # the op is not defined at all (no __radd__, say): missing, not a crash of ours
        if "unsupported operand" in str(e) and not hasattr(type(args[0]), label.split(".")[1]):
            raise Missing(label) from None
        raise


def build(Value, dag):
    """Nodes of a DAG spec: leaves, then ops [name, i, j-or-constant] over earlier nodes."""
    nodes = [Value(x) for x in dag["leaves"]]
    for op in dag["ops"]:
        name, i = op[0], op[1]
        a = nodes[i]
        if name in BINARY:
            fn, label = BINARY[name]
            out = _apply(fn, label, a, nodes[op[2]])
        elif name in WITH_CONST:
            fn, label = WITH_CONST[name]
            out = _apply(fn, label, a, op[2])
        elif name in UNARY:
            fn, label = UNARY[name]
            out = _apply(fn, label, a)
        elif name in METHODS:
            label = f"Value.{name}"
            out = attr(a, name, label)()
        else:
            raise ValueError(f"unknown op {name}")
        nodes.append(_is(Value, out, label))
    return nodes


def reference_pass(root) -> None:
    """Backpropagate through the student's own graph with the student's own `_backward`s, but
    in an order this probe computes (reverse topological, from `_prev`): when `backward()` is
    wrong and these gradients are right, the report can blame `backward()`, not an op."""
    topo, seen, stack = [], set(), [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            topo.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev if id(c) not in seen)
    root.grad = 1.0
    for v in reversed(topo):
        v._backward()


@probe
@typed
def eval_dags(pkg, dags, backward=True, order="yours"):
    """Values (and gradients) of every node; `order="reference"` backpropagates with
    `reference_pass` instead of the student's `backward()` (a diagnosis, never a verdict)."""
    Value = _value_class(pkg)
    out = []
    for dag in dags:
        nodes = build(Value, dag)
        grads = []
        if backward and order == "reference":
            try:
                reference_pass(nodes[-1])
                grads = [_f(n.grad, "Value.grad") for n in nodes]
            except Exception:  # noqa: BLE001 - no _prev/_backward: no diagnosis, no verdict
                grads = None
        elif backward:
            attr(nodes[-1], "backward", "Value.backward")()
            grads = [_f(n.grad, "Value.grad") for n in nodes]
        out.append({"data": [_f(n.data) for n in nodes], "grad": grads})
    return out


@probe
@typed
def accumulate(pkg, x):
    """Graphs where one node feeds an op twice or several ops: grads must add up."""
    Value = _value_class(pkg)
    res = []
    a = Value(x)
    b = _is(Value, a + a, "Value.__add__")        # d b/d a = 2
    b.backward()
    res.append(_f(a.grad, "Value.grad"))
    a = Value(x)
    b = _is(Value, a * a, "Value.__mul__")        # 2a
    b.backward()
    res.append(_f(a.grad, "Value.grad"))
    a = Value(x)
    b = _is(Value, a * 3.0, "Value.__mul__")
    c = _is(Value, a + b, "Value.__add__")        # 1 + 3
    d = _is(Value, c * a, "Value.__mul__")        # d d/d a = c + a*4
    d.backward()
    res.append(_f(a.grad, "Value.grad"))
    return res


def _set_weights(model, weights):
    """Parent-chosen weights into the model by position: layers[l].neurons[n].w[k] / .b."""
    for layer, lw in zip(attr(model, "layers", "MLP.layers"), weights):
        for neuron, nw in zip(attr(layer, "neurons", "Layer.neurons"), lw):
            for w, v in zip(attr(neuron, "w", "Neuron.w"), nw[:-1]):
                w.data = v
            attr(neuron, "b", "Neuron.b").data = nw[-1]


def _mlp(pkg, nin, nouts, weights=None):
    model = attr(module(pkg, "nn"), "MLP")(nin, nouts)
    if weights is not None:
        _set_weights(model, weights)
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


def _outputs(Value, y, what):
    """A model's output as a list of Values (a single Value or a list of them)."""
    ys = y if isinstance(y, list) else [y]
    for v in ys:
        if not isinstance(v, Value):
            raise WrongType(what, v, "a Value or a list of Values", inside=isinstance(y, list))
    return ys


def _params(Value, obj, what):
    ps = attr(obj, "parameters", what)()
    if not isinstance(ps, list):
        raise WrongType(what, ps, "a list of Values")
    for p in ps:
        if not isinstance(p, Value):
            raise WrongType(what, p, "a list of Values", inside=True)
    return ps


@probe
@typed
def nn_forward(pkg, nin, nouts, weights, xs):
    Value = _value_class(pkg)
    model = _mlp(pkg, nin, nouts, weights)
    outs, total = [], None
    for x in xs:
        ys = _outputs(Value, model(x), "MLP.__call__")
        outs.append([_f(v.data) for v in ys])
        for v in ys:
            total = v if total is None else total + v
    total.backward()
    grads = [[[_f(w.grad, "Value.grad") for w in n.w] + [_f(n.b.grad, "Value.grad")]
              for n in layer.neurons] for layer in model.layers]
    return {"outputs": outs, "grads": grads}


def _run_with(Value, obj, values, xs, what):
    """Write `values` into obj.parameters() in the order it returns them, run obj on each x,
    backpropagate the sum of every output: (count, outputs, grads in parameters() order)."""
    ps = _params(Value, obj, f"{what}.parameters")
    for p, v in zip(ps, values):
        p.data = v
    outs, total = [], None
    for x in xs:
        ys = _outputs(Value, obj(x), f"{what}.__call__")
        outs.append([_f(v.data) for v in ys])
        for v in ys:
            total = v if total is None else total + v
    total.backward()
    return len(ps), outs, [_f(p.grad, "Value.grad") for p in ps], ps


@probe
@typed
def parameters(pkg, nin, nouts, values, xs, neuron_values, layer_values):
    """The parent's values go in through parameters(), in the order it lists them; what the
    module then computes says whether that order is weights, then bias, neuron by neuron."""
    Value = _value_class(pkg)
    nn = module(pkg, "nn")
    model = attr(nn, "MLP")(nin, nouts)
    n, outs, grads, ps = _run_with(Value, model, values, xs, "MLP")
    where = _structure(model)
    order = [where[id(p)][1] if id(p) in where else "?" for p in ps]
    res = {"mlp": {"count": n, "outputs": outs, "grads": grads, "order": order}}
    for key, obj, vals in (("neuron", attr(nn, "Neuron")(nin), neuron_values),
                           ("layer", attr(nn, "Layer")(nin, nouts[0]), layer_values)):
        n, outs, grads, _ = _run_with(Value, obj, vals, xs[:2], key.title())
        res[key] = {"count": n, "outputs": outs, "grads": grads}
    return res


@probe
@typed
def zero_grad(pkg, nin, nouts, weights, stale, x, coefs):
    """Stale gradients on every parameter, zero_grad(), then backward of sum(coef * output)."""
    Value = _value_class(pkg)
    model = _mlp(pkg, nin, nouts, weights)
    for (v, _), g in zip(_structure(model).values(), stale):
        v.grad = g
    attr(model, "zero_grad", "Module.zero_grad")()
    ys = _outputs(Value, model(x), "MLP.__call__")
    loss = None
    for c, v in zip(coefs, ys):
        loss = v * c if loss is None else loss + v * c
    loss.backward()
    return [_f(v.grad, "Value.grad") for v, _ in _structure(model).values()]


def _score(Value, y):
    """The model's one output: a Value, or a list holding just one (a Layer that always
    returns a list)."""
    ys = _outputs(Value, y, "MLP.__call__")
    if len(ys) != 1:
        raise WrongType("MLP.__call__", y, "a Value (MLP(2, [..., 1]) has one output)")
    return ys[0]


@probe
@typed
def train(pkg, X, y, nouts, steps, alpha, init):
    """The lecture demo's loop from the parent's initial weights: SVM max-margin loss + L2, full
    batch, decaying SGD step. Returns the loss per step and the weights it ends with."""
    Value = _value_class(pkg)
    model = _mlp(pkg, 2, nouts, init)
    losses = []
    # each step's graph is a web of cycles (every node's _backward closure holds the node):
    # Python's collector, left to itself, walks the live graph over and over while it is being
    # built (~4x the training's own time); here it runs once per step, when that step's graph
    # is garbage
    gc.disable()
    try:
        for k in range(steps):
            scores = [_score(Value, model(x)) for x in X]
            margins = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
            data_loss = sum(margins) * (1.0 / len(margins))
            reg_loss = alpha * sum(p * p for p in _params(Value, model, "MLP.parameters"))
            loss = data_loss + reg_loss
            model.zero_grad()
            loss.backward()
            lr = 1.0 - 0.9 * k / steps
            for p in model.parameters():
                p.data -= lr * p.grad
            losses.append(_f(loss.data))
            del scores, margins, data_loss, reg_loss, loss
            gc.collect()
    finally:
        gc.enable()
    final = [[[_f(w.data) for w in n.w] + [_f(n.b.data)] for n in layer.neurons]
             for layer in model.layers]
    return {"losses": losses, "final": final}


@probe
@typed
def draw_dot(pkg, dag):
    """draw_dot of the parent's expression after backward(): the DOT source only."""
    viz = module(pkg, "viz")
    Value = _value_class(pkg)
    nodes = build(Value, dag)
    attr(nodes[-1], "backward", "Value.backward")()
    dot = attr(viz, "draw_dot")(nodes[-1])
    source = getattr(dot, "source", None)
    if type(source) is not str:
        raise WrongType("draw_dot", dot, "a graphviz.Digraph (its .source is the DOT text)")
    return {"source": source}


FUNCTIONS = {
    "lecture": lambda a, b, c: -a**3 + math.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5,
    "poly": lambda a, b, c: a * b * c + a**2 - 3 * c,
    "exp": lambda a, b, c: math.exp(a * 0.5) * b - math.log(c),
}


@probe
@typed
def numerical_grad(pkg, fn, args, h):
    ex = module(pkg, "exercises")
    grads = attr(ex, "numerical_grad")(FUNCTIONS[fn], list(args), h=h)
    if not isinstance(grads, (list, tuple)):
        raise WrongType("numerical_grad", grads, "a list of numbers")
    return [_f(g, "numerical_grad") for g in grads]


@probe
@typed
def softmax_nll(pkg, logits, target):
    ex = module(pkg, "exercises")
    Value = _value_class(pkg)
    vs = [Value(x) for x in logits]
    probs = attr(ex, "softmax")(vs)
    if not isinstance(probs, list):
        raise WrongType("softmax", probs, "a list of Values")
    for p in probs:
        if not isinstance(p, Value):
            raise WrongType("softmax", p, "a list of Values", inside=True)
    loss = _is(Value, attr(ex, "nll")(vs, target), "nll")
    loss.backward()
    return {"probs": [_f(p.data) for p in probs], "loss": _f(loss.data),
            "grads": [_f(v.grad, "Value.grad") for v in vs]}
