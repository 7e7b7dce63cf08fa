"""Checks for lecture 1 (micrograd): Value ops and gradients vs torch float64, nn, training."""
from __future__ import annotations

import math
import re

import numpy as np
import torch

from ...check import CheckFailed, Context, check

# primitives first, then the ops built from them, so a report names the primitive that broke
ARITH = ["add", "mul", "pow", "relu", "addc", "mulc", "neg", "sub", "subc", "div", "divc",
         "radd", "rsub", "rmul", "rdiv"]
SYMBOL = {"add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b", "addc": "a + c",
          "subc": "a - c", "mulc": "a * c", "divc": "a / c", "pow": "a ** c", "radd": "c + a",
          "rsub": "c - a", "rmul": "c * a", "rdiv": "c / a", "neg": "-a"}


# -- random expression DAGs -----------------------------------------------------------------
TORCH_OPS = {
    "add": lambda a, b, c: a + b, "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b, "div": lambda a, b, c: a / b,
    "addc": lambda a, b, c: a + c, "subc": lambda a, b, c: a - c,
    "mulc": lambda a, b, c: a * c, "divc": lambda a, b, c: a / c, "pow": lambda a, b, c: a ** c,
    "radd": lambda a, b, c: c + a, "rsub": lambda a, b, c: c - a,
    "rmul": lambda a, b, c: c * a, "rdiv": lambda a, b, c: c / a, "neg": lambda a, b, c: -a,
}


def _apply(name: str, a, b=None, c=None):
    """One op on torch scalars (the oracle) — the same table drives generation and checking."""
    if name in TORCH_OPS:
        return TORCH_OPS[name](a, b, c)
    return getattr(torch, name)(a)  # tanh, exp, log, relu


def _ok(name: str, a: float, b: float | None, c: float | None) -> bool:
    """Keep every op well inside its domain, away from kinks and overflow."""
    if name in ("div", "rdiv"):
        den = b if name == "div" else a
        return abs(den) > 0.3
    if name == "pow":
        return (a > 0.2 or float(c).is_integer()) and abs(a) < 4 and abs(a) > 0.2
    if name == "log":
        return a > 0.2
    if name == "exp":
        return a < 3
    if name == "relu":
        return abs(a) > 1e-3
    if name in ("mul",):
        return abs(a * b) < 50
    return True


def random_dag(rng: np.random.Generator, ops: list[str], n_leaves: int = 4, n_ops: int = 24):
    leaves = [float(x) for x in rng.uniform(-2, 2, n_leaves)]
    values = list(leaves)
    spec = []
    while len(spec) < n_ops:
        name = ops[int(rng.integers(len(ops)))]
        # prefer recent nodes, so graphs get deep, but reuse old ones too (shared nodes)
        i = int(len(values) - 1 - min(rng.geometric(0.35) - 1, len(values) - 1))
        j = int(rng.integers(len(values)))
        c = None
        if name == "pow":
            c = float(rng.choice([2, 3, -1, 0.5, -0.5, 1.5]))
        elif name in ("addc", "subc", "mulc", "divc", "radd", "rsub", "rmul", "rdiv"):
            c = float(np.round(rng.uniform(-3, 3), 3)) or 1.0
            if name == "divc" and abs(c) < 0.3:
                c = 2.0
        a, b = values[i], values[j]
        if not _ok(name, a, b, c):
            continue
        with torch.no_grad():
            v = float(_apply(name, torch.tensor(a, dtype=torch.float64),
                             torch.tensor(b, dtype=torch.float64), c))
        if not math.isfinite(v) or abs(v) > 1e3:
            continue
        values.append(v)
        spec.append([name, i, j] if name in ("add", "sub", "mul", "div") else
                    [name, i] if c is None else [name, i, c])
    return {"leaves": leaves, "ops": spec}


def oracle(dag) -> tuple[np.ndarray, np.ndarray]:
    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in dag["leaves"]]
    for op in dag["ops"]:
        name, i = op[0], op[1]
        b = nodes[op[2]] if name in ("add", "sub", "mul", "div") else None
        c = op[2] if len(op) > 2 and b is None else None
        out = _apply(name, nodes[i], b, c)
        out.retain_grad()
        nodes.append(out)
    nodes[-1].backward()
    data = np.array([n.item() for n in nodes])
    grad = np.array([0.0 if n.grad is None else n.grad.item() for n in nodes])
    return data, grad


def _where(dag):
    n_leaves = len(dag["leaves"])

    def label(k: int) -> str:
        if k < n_leaves:
            return f"leaf {k}"
        op = dag["ops"][k - n_leaves]
        return f"node {k} = {op[0]}{tuple(op[1:])}"
    return label


def _dag_check(ctx: Context, ops: list[str], n_dags: int, backward: bool,
               n_ops: int = 24) -> None:
    dags = [random_dag(ctx.rng, ops, n_ops=n_ops) for _ in range(n_dags)]
    reply = ctx.probe("eval_dags", dags=dags, backward=backward)
    if type(reply) is not list or len(reply) != n_dags:
        raise CheckFailed("expected one result per expression graph")
    for k, (dag, got) in enumerate(zip(dags, reply)):
        data, grad = oracle(dag)
        got = ctx.mapping(got, f"graph {k}", ("data", "grad"))
        ctx.close(ctx.numbers(got["data"], "node values", len(data)), data,
                  f"graph {k}: forward values", _where(dag))
        if backward:
            ctx.close(ctx.numbers(got["grad"], "node grads", len(grad)), grad,
                      f"graph {k}: gradients after backward()", _where(dag))


@check("micrograd.ops")
def ops(ctx: Context):
    for name in ARITH:  # each op alone first, so the report names the broken one
        _dag_check_single(ctx, name)
    _dag_check(ctx, ARITH, ctx.params.get("graphs", 8), backward=False)


def _dag_check_single(ctx: Context, name: str) -> None:
    ops = [name, "add"] if name not in ("add",) else ["add"]
    dag = random_dag(ctx.rng, ops, n_leaves=3, n_ops=4)
    got = ctx.probe("eval_dags", dags=[dag], backward=False)
    data, _ = oracle(dag)
    got = ctx.mapping(got[0] if type(got) is list and got else None, f"op {name}", ("data",))
    ctx.close(ctx.numbers(got["data"], "node values", len(data)), data,
              f"forward of {SYMBOL.get(name, name)}", _where(dag))


@check("micrograd.backward")
def backward(ctx: Context):
    for name in ARITH:
        dag = random_dag(ctx.rng, [name, "add", "mul"], n_leaves=3, n_ops=5)
        got = ctx.probe("eval_dags", dags=[dag])
        data, grad = oracle(dag)
        got = ctx.mapping(got[0] if type(got) is list and got else None, f"op {name}",
                          ("grad",))
        ctx.close(ctx.numbers(got["grad"], "node grads", len(grad)), grad,
                  f"gradients through {SYMBOL.get(name, name)}", _where(dag))
    _dag_check(ctx, ARITH, ctx.params.get("graphs", 8), backward=True)


@check("micrograd.accumulate")
def accumulate(ctx: Context):
    x = float(ctx.rng.uniform(0.5, 2))
    got = ctx.numbers(ctx.probe("accumulate", x=x), "gradients", 3)
    expected = [2.0, 2 * x, (x + 3 * x) + 4 * x]
    names = ["b = a + a", "b = a * a", "d = (a + 3a) * a"]
    ctx.close(got, expected, "gradient of a node used twice", lambda i: names[i])


def _unary(name: str):
    @check(f"micrograd.{name}")
    def fn(ctx: Context):
        for backward in (False, True):
            _dag_check(ctx, [name, "add", "mul", "mulc", "sub"], 4, backward)
    fn.__name__ = name
    return fn


for _name in ("tanh", "exp", "log"):
    _unary(_name)


# -- nn -------------------------------------------------------------------------------------
def _torch_mlp(weights, xs):
    params = [[torch.tensor(n, dtype=torch.float64, requires_grad=True) for n in layer]
              for layer in weights]
    outs, total = [], 0
    for x in xs:
        h = torch.tensor(x, dtype=torch.float64)
        for li, layer in enumerate(params):
            W = torch.stack([n[:-1] for n in layer])
            b = torch.stack([n[-1] for n in layer])
            h = W @ h + b
            if li != len(params) - 1:
                h = torch.relu(h)
        outs.append(h)
        total = total + h.sum()
    total.backward()
    return (torch.stack(outs).detach().numpy(),
            [[n.grad.numpy() for n in layer] for layer in params])


@check("micrograd.nn_forward")
def nn_forward(ctx: Context):
    nin, nouts = 3, [4, 4, 1]
    sizes = [nin] + nouts
    weights = [[list(ctx.rng.uniform(-1, 1, sizes[i] + 1)) for _ in range(sizes[i + 1])]
               for i in range(len(nouts))]
    xs = [list(ctx.rng.uniform(-2, 2, nin)) for _ in range(6)]
    got = ctx.mapping(ctx.probe("nn_forward", nin=nin, nouts=nouts, weights=weights, xs=xs),
                      "MLP result", ("outputs", "grads"))
    outs, grads = _torch_mlp(weights, xs)
    ctx.close(ctx.numbers([v for o in got["outputs"] for v in (o if type(o) is list else [o])],
                          "MLP outputs", outs.size), outs.ravel(),
              "MLP(3, [4, 4, 1]) outputs (relu hidden layers, linear last layer)",
              lambda i: f"input {i}")
    flat = np.concatenate([g for layer in grads for g in layer])
    got_g = got["grads"]
    if type(got_g) is not list:
        raise CheckFailed("parameter grads: expected nested lists")
    got_flat = [v for layer in got_g for n in layer for v in n]
    ctx.close(ctx.numbers(got_flat, "parameter grads", flat.size), flat,
              "gradients of sum(outputs) w.r.t. every weight and bias")


@check("micrograd.parameters")
def parameters(ctx: Context):
    nin, nouts = 3, [4, 2, 1]
    got = ctx.mapping(ctx.probe("parameters", nin=nin, nouts=nouts), "parameters",
                      ("mlp", "neuron", "layer"))
    sizes = [nin] + nouts
    want = [f"L{li}.N{ni}." + (f"w{k}" if k < sizes[li] else "b")
            for li in range(len(nouts)) for ni in range(sizes[li + 1])
            for k in range(sizes[li] + 1)]
    ctx.ensure(got["neuron"] == nin + 1,
               f"Neuron({nin}).parameters() should have {nin + 1} entries, got {got['neuron']}")
    ctx.ensure(got["layer"] == nouts[0] * (nin + 1),
               f"Layer({nin}, {nouts[0]}).parameters() should have {nouts[0] * (nin + 1)} "
               f"entries, got {got['layer']}")
    order = got["mlp"]
    ctx.ensure(type(order) is list and len(order) == len(want),
               f"MLP({nin}, {nouts}).parameters() should have {len(want)} entries, "
               f"got {len(order) if type(order) is list else order!r}")
    for k, (g, w) in enumerate(zip(order, want)):
        ctx.ensure(g == w, f"MLP.parameters()[{k}] should be {w} (weights then bias, neuron by "
                   f"neuron, layer by layer), got {g}")


@check("micrograd.zero_grad")
def zero_grad(ctx: Context):
    x = list(ctx.rng.uniform(-1, 1, 3))
    got = ctx.numbers(ctx.probe("zero_grad", nin=3, nouts=[4, 1], x=x), "grads", 21)
    names = [f"L0.N{n}.{p}" for n in range(4) for p in ("w0", "w1", "w2", "b")] + \
            [f"L1.N0.{p}" for p in ("w0", "w1", "w2", "w3", "b")]
    ctx.close(got, np.zeros(21), "grads after zero_grad()", lambda i: names[i])


def make_moons(rng: np.random.Generator, n: int, noise: float):
    """Two interleaving half circles, labels -1/+1 (sklearn's make_moons, in numpy)."""
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.concatenate([-np.ones(n_out), np.ones(n_in)])
    X = X + rng.normal(0, noise, X.shape)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def replay_training(init, X, y, steps: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The probe's training loop in torch float64, from the student's own initial weights."""
    params = [[torch.tensor(n, dtype=torch.float64, requires_grad=True) for n in layer]
              for layer in init]
    flat = [p for layer in params for p in layer]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def scores():
        h = Xt
        for li, layer in enumerate(params):
            W = torch.stack([n[:-1] for n in layer])
            b = torch.stack([n[-1] for n in layer])
            h = h @ W.T + b
            if li != len(params) - 1:
                h = torch.relu(h)
        return h[:, 0]

    losses = []
    for k in range(steps):
        loss = torch.relu(1 - yt * scores()).mean() + alpha * sum((p * p).sum() for p in flat)
        for p in flat:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in flat:
                p -= (1.0 - 0.9 * k / steps) * p.grad
        losses.append(loss.item())
    with torch.no_grad():
        return np.array(losses), scores().numpy()


@check("micrograd.train")
def train(ctx: Context):
    p = ctx.params
    X, y = make_moons(ctx.rng, p["n"], p["noise"])
    got = ctx.mapping(ctx.probe("train", X=X.tolist(), y=y.tolist(), nouts=p["nouts"],
                                steps=p["steps"], alpha=p["alpha"]), "training",
                      ("init", "losses", "scores"))
    losses = ctx.numbers(got["losses"], "losses", p["steps"])
    scores = ctx.numbers(got["scores"], "scores", p["n"])
    sizes = [2] + p["nouts"]
    init = got["init"]
    try:
        init = [[ctx.numbers(n, "initial weights", sizes[li] + 1) for n in layer]
                for li, layer in enumerate(init)]
        assert [len(layer) for layer in init] == sizes[1:]
    except (TypeError, AssertionError):
        raise CheckFailed(f"MLP(2, {p['nouts']}) does not have the expected layers") from None
    ctx.ensure(np.isfinite(losses).all(), "the loss became NaN or infinite during training")
    want, _ = replay_training(init, X, y, p["steps"], p["alpha"])
    ctx.close(losses, want, "training loss per step vs the same SGD run in torch",
              lambda i: f"step {i}")
    acc = float(((scores > 0) == (y > 0)).mean())
    ctx.ensure(acc >= p["min_accuracy"],
               f"after {p['steps']} steps of SGD on {p['n']} two-moons points the accuracy is "
               f"{acc:.0%}, below the required {p['min_accuracy']:.0%}")
    return f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, accuracy {acc:.0%}"


_NODE = re.compile(r'^\s*"?([^"\s\[]+)"?\s*\[label="?(.*?)"?\s*(?:shape=\w+)?\]\s*$')
_EDGE = re.compile(r'^\s*"?([^"\s]+)"?\s*->\s*"?([^"\s]+)"?\s*$')


@check("micrograd.draw_dot")
def draw_dot(ctx: Context):
    a, b, c = (float(np.round(v, 2)) for v in ctx.rng.uniform(-1, 1, 3))
    got = ctx.mapping(ctx.probe("draw_dot", a=a, b=b, c=c), "draw_dot",
                      ("source", "ids", "ops", "values"))
    src = got["source"]
    ctx.ensure(type(src) is str and src.lstrip().startswith("digraph"),
               "draw_dot(...) should return a graphviz Digraph (its .source starts 'digraph')")
    nodes, edges = {}, set()
    for line in src.splitlines():
        if m := _EDGE.match(line):
            edges.add((m.group(1), m.group(2)))
        elif m := _NODE.match(line):
            nodes[m.group(1)] = m.group(2)
    ids, ops = got["ids"], got["ops"]
    for name in ("a", "b", "c", "e", "d", "out"):
        ctx.ensure(ids[name] in nodes, f"no graph node for value {name} (expected one record "
                   "node per Value, named str(id(value)))")
    for name, v in got["values"].items():
        label = nodes[ids[name]]
        ctx.ensure(f"{v[0]:.4f}" in label and f"{v[1]:.4f}" in label,
                   f"the node of {name} should show data {v[0]:.4f} and grad {v[1]:.4f}, "
                   f"its label is {label!r}")
    for child, parent in (("a", "e"), ("b", "e"), ("e", "d"), ("c", "d"), ("d", "out")):
        op_node = ids[parent] + ops[parent]
        ctx.ensure(op_node in nodes, f"no op node {ops[parent]!r} for value {parent}")
        ctx.ensure((ids[child], op_node) in edges,
                   f"missing edge {child} -> ({ops[parent]}) feeding {parent}")
        ctx.ensure((op_node, ids[parent]) in edges,
                   f"missing edge ({ops[parent]}) -> {parent}")
    leaves_with_ops = [n for n in ("a", "b", "c") if ids[n] + "+" in nodes or ids[n] + "*" in nodes]
    ctx.ensure(not leaves_with_ops, f"leaf values should have no op node: {leaves_with_ops}")


FUNCS = {
    "lecture": lambda a, b, c: -a**3 + torch.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5,
    "poly": lambda a, b, c: a * b * c + a**2 - 3 * c,
    "exp": lambda a, b, c: torch.exp(a * 0.5) * b - torch.log(c),
}


@check("micrograd.numerical_grad")
def numerical_grad(ctx: Context):
    for fn, f in FUNCS.items():
        args = [float(v) for v in ctx.rng.uniform(0.5, 3, 3)]
        got = ctx.numbers(ctx.probe("numerical_grad", fn=fn, args=args, h=1e-3), "gradient", 3)
        ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in args]
        f(*ts).backward()
        want = [t.grad.item() for t in ts]
        ctx.close(got, want, f"numerical gradient of '{fn}' at {np.round(args, 3).tolist()} "
                  "with h=1e-3 (symmetric difference)", lambda i: "abc"[i])


@check("micrograd.softmax_nll")
def softmax_nll(ctx: Context):
    for _ in range(3):
        n = int(ctx.rng.integers(3, 7))
        logits = [float(v) for v in ctx.rng.normal(0, 2, n)]
        target = int(ctx.rng.integers(n))
        got = ctx.mapping(ctx.probe("softmax_nll", logits=logits, target=target), "softmax/nll",
                          ("probs", "loss", "grads"))
        t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(t[None], torch.tensor([target]))
        loss.backward()
        ctx.close(ctx.numbers(got["probs"], "softmax", n), torch.softmax(t, 0).detach().numpy(),
                  "softmax(logits)")
        ctx.close(ctx.number(got["loss"], "loss"), loss.item(),
                  "nll(logits, target) vs F.cross_entropy")
        ctx.close(ctx.numbers(got["grads"], "grads", n), t.grad.numpy(),
                  "d loss / d logits after loss.backward()")
