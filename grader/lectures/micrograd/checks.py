"""Checks for lecture 1 (micrograd): Value ops and gradients vs torch float64, nn, training.

The rule every check here follows (verify, don't trust): a verdict rests only on values this
process computes itself, in torch, from inputs it chose and the worker could not predict. The
worker (the student's code and our probes alike) only ever gets those inputs and answers what
the student's code computed with them; nothing it says about itself (sizes, its own initial
weights, its own accuracy, node ids it made up) can make a check pass. So:

- ops, backward, tanh, exp, log, big_graph: random expression graphs (leaf values, ops,
  constants drawn here) are built with the student's Value; every node's value and gradient is
  compared with torch's on the same graph.
- accumulate, numerical_grad, softmax_nll, nn_forward: inputs and weights drawn here; the answer
  is torch's on them.
- parameters: values drawn here are written into `parameters()` in the order it lists them, and
  the module is run on inputs drawn here: its outputs and gradients match torch only when that
  order is weights, then bias, neuron by neuron, layer by layer.
- zero_grad: weights, stale gradients, input and loss coefficients drawn here; after
  zero_grad() and a backward of that loss every gradient must equal torch's fresh one.
- train: the initial weights and the data are drawn here and written into the model; this
  process replays the same SGD run in torch, compares every step's loss and the final weights,
  and computes the accuracy itself from the final weights the student's run produced.
- draw_dot: the DOT text of a random expression drawn here must show torch's value and gradient
  of every node, an op node for every result, and the edges between them.

A reply that could be produced from the request alone (an echo, zeros, another run's answer)
fails every check; tests/test_micrograd.py and tests/hostile/ hold the forgeries that prove it.

Feedback names the first wrong thing, not the worst: graphs are compared in the order the
values are computed (the first wrong value is the op that made it, its inputs being right) and
gradients in backward order (the first wrong gradient is passed by the ops that use that node,
their own gradients being right); when every op's own `_backward` is right and `backward()` is
not, the message says so. Failing graphs are drawn (picture.py) and attached as a figure, and
so is a training run that leaves torch's (both loss curves, the first wrong step marked).
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

from ...check import CheckFailed, Context, ProbeFailed, check
from . import picture

# primitives first, then the ops built from them, so a report names the primitive that broke
ARITH = ["add", "mul", "pow", "relu", "addc", "mulc", "neg", "sub", "subc", "div", "divc",
         "radd", "rsub", "rmul", "rdiv"]
BINARY = ("add", "sub", "mul", "div")
WITH_CONST = ("addc", "subc", "mulc", "divc", "pow", "radd", "rsub", "rmul", "rdiv")
# op -> (how the node reads, with a/b its inputs and c the constant; the student's function)
OPS = {"add": ("{a} + {b}", "Value.__add__"), "sub": ("{a} - {b}", "Value.__sub__"),
       "mul": ("{a} * {b}", "Value.__mul__"), "div": ("{a} / {b}", "Value.__truediv__"),
       "addc": ("{a} + {c}", "Value.__add__"), "subc": ("{a} - {c}", "Value.__sub__"),
       "mulc": ("{a} * {c}", "Value.__mul__"), "divc": ("{a} / {c}", "Value.__truediv__"),
       "pow": ("{a} ** {c}", "Value.__pow__"), "radd": ("{c} + {a}", "Value.__radd__"),
       "rsub": ("{c} - {a}", "Value.__rsub__"), "rmul": ("{c} * {a}", "Value.__rmul__"),
       "rdiv": ("{c} / {a}", "Value.__rtruediv__"), "neg": ("-{a}", "Value.__neg__"),
       "tanh": ("{a}.tanh()", "Value.tanh"), "exp": ("{a}.exp()", "Value.exp"),
       "log": ("{a}.log()", "Value.log"), "relu": ("{a}.relu()", "Value.relu")}
SYMBOL = {k: v[0].format(a="a", b="b", c="c") for k, v in OPS.items()}
# what an op node shows in a picture
GLYPH = {"add": "+", "sub": "-", "mul": "*", "div": "/", "addc": "+", "subc": "-", "mulc": "*",
         "divc": "/", "pow": "**", "radd": "+", "rsub": "-", "rmul": "*", "rdiv": "/",
         "neg": "neg", "tanh": "tanh", "exp": "exp", "log": "log", "relu": "ReLU"}


# -- replies --------------------------------------------------------------------------------
WHO = {v[1] for v in OPS.values()} | {
    "Value.data", "Value.grad", "Value.backward", "MLP.__call__", "MLP.parameters",
    "Neuron.__call__", "Neuron.parameters", "Layer.__call__", "Layer.parameters", "draw_dot",
    "numerical_grad", "softmax", "nll"}
EXPECTED = {"a Value", "a Value or a list of Values", "a number (int or float)",
            "a list of Values", "a list of numbers", "a Value (MLP(2, [..., 1]) has one output)",
            "a graphviz.Digraph (its .source is the DOT text)"}


def answer(reply):
    """A probe's reply, or the wrong return type it found, said in the student's terms."""
    if type(reply) is dict and set(reply) == {"wrong_type"}:
        what, got, expected = (list(reply["wrong_type"]) + ["", "", ""])[:3] \
            if type(reply["wrong_type"]) is list else ("", "", "")
        what = what if what in WHO else "your code"
        got = re.sub(r"[^\w. ]", "", str(got))[:60] or "something else"
        expected = expected if expected in EXPECTED else "a Value"
        verb = "is" if what in ("Value.data", "Value.grad") else "returned"
        raise CheckFailed(f"`{what}` {verb} {got}; expected {expected}")
    return reply


def _g(x) -> str:
    """Three significant digits: printed errors must not make equal runs differ."""
    return f"{float(x):.3g}"


def _bad(ctx: Context, got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return ~np.isclose(got, want, rtol=ctx.tol.rtol, atol=ctx.tol.atol, equal_nan=True)


def _worst(ctx: Context, got: np.ndarray, want: np.ndarray, bad: np.ndarray, where) -> str:
    """'N of M values outside tolerance (tol); worst at X: got, expected (abs, rel err)'."""
    err = np.abs(got - want)
    excess = np.where(np.isnan(err), np.inf, err - (ctx.tol.atol + ctx.tol.rtol * np.abs(want)))
    k = int(np.argmax(np.where(bad, excess, -np.inf)))
    rel = err[k] / abs(want[k]) if want[k] != 0 else float("inf")
    return (f"{int(bad.sum())} of {bad.size} values outside tolerance ({ctx.tol}); worst at "
            f"{where(k)}: got {_g(got[k])}, expected {_g(want[k])} (abs err {_g(err[k])}, "
            f"rel err {_g(rel)})")


def diff(ctx: Context, got, want, what: str, where=None, backward_order: bool = False,
         first_line: str = "") -> None:
    """Fail unless `got` matches `want` within tolerance; the message gives the first wrong
    entry (in backward order: the last one) and then the worst."""
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    where = where or (lambda i: f"index {i}")
    bad = _bad(ctx, got, want)
    if not bad.any():
        return
    idx = np.flatnonzero(bad)
    k = int(idx[-1] if backward_order else idx[0])
    head = first_line or f"{what}: first wrong at {where(k)}: got {_g(got[k])}, " \
                         f"expected {_g(want[k])}"
    raise CheckFailed(f"{head}\n{what}: {_worst(ctx, got, want, bad, where)}")


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


def _const(rng: np.random.Generator, name: str) -> float | None:
    if name == "pow":
        return float(rng.choice([2, 3, -1, 0.5, -0.5, 1.5]))
    if name in WITH_CONST:
        c = float(np.round(rng.uniform(-3, 3), 3)) or 1.0
        return 2.0 if name == "divc" and abs(c) < 0.3 else c
    return None


def _push(values: list, spec: list, name: str, i: int, j: int, c: float | None) -> bool:
    """Append op `name` over nodes i (and j) if it stays in its domain; False if it would not."""
    a, b = values[i], values[j]
    if not _ok(name, a, b, c):
        return False
    with torch.no_grad():
        v = float(_apply(name, torch.tensor(a, dtype=torch.float64),
                         torch.tensor(b, dtype=torch.float64), c))
    if not math.isfinite(v) or abs(v) > 1e3:
        return False
    values.append(v)
    spec.append([name, i, j] if name in BINARY else [name, i] if c is None else [name, i, c])
    return True


def random_dag(rng: np.random.Generator, ops: list[str], n_leaves: int = 4, n_ops: int = 24):
    leaves = [float(x) for x in rng.uniform(-2, 2, n_leaves)]
    values = list(leaves)
    spec: list = []
    while len(spec) < n_ops:
        name = ops[int(rng.integers(len(ops)))]
        # prefer recent nodes, so graphs get deep, but reuse old ones too (shared nodes)
        i = int(len(values) - 1 - min(rng.geometric(0.35) - 1, len(values) - 1))
        j = int(rng.integers(len(values)))
        _push(values, spec, name, i, j, _const(rng, name))
    return {"leaves": leaves, "ops": spec}


def _leaves(rng: np.random.Generator, name: str, n: int) -> list[float]:
    x = rng.uniform(-2, 2, n)
    if name == "relu":          # both sides of the kink, every time
        x[0], x[1] = -abs(x[0]) - 0.05, abs(x[1]) + 0.05
    elif name in ("log", "pow"):
        x = np.abs(x) + 0.3
    return [float(v) for v in x]


def _used(spec: list) -> set[int]:
    return {x for op in spec for x in op[1:3 if op[0] in BINARY else 2]}


def focus_dag(rng: np.random.Generator, name: str, n_leaves: int = 3,
              mix: tuple[str, ...] = ()) -> dict:
    """A graph where `name` is on every path to the output: only `name` reads the leaves (one
    leaf twice, so gradients must accumulate), optionally `mix` ops on its results, `name`
    again on results nothing else reads, and the loose ends summed with + into the output.
    Whatever `name` reads, nothing else reads: a wrong value or gradient of `name` is then
    the first wrong thing the comparison finds, and it can only be blamed on `name`."""
    for _ in range(200):
        leaves = _leaves(rng, name, n_leaves)
        values, spec = list(leaves), []
        firsts = list(range(n_leaves)) + [int(rng.integers(n_leaves))]
        ok = True
        for i in firsts:
            j = int(rng.integers(n_leaves))
            if name in ("sub", "div") and j == i:     # a - a, a / a: constants, no gradient
                j = (i + 1) % n_leaves
            for _ in range(20):
                if _push(values, spec, name, i, j, _const(rng, name)):
                    break
            else:
                ok = False
        if not ok:
            continue
        made = list(range(n_leaves, len(values)))
        for op in mix:
            i, j = (int(x) for x in rng.choice(made, 2))
            for _ in range(20):
                if _push(values, spec, op, i, j, _const(rng, op)):
                    made.append(len(values) - 1)
                    break
        for _ in range(2):      # name again, on results nothing else reads (deeper graphs)
            free = [k for k in made if k not in _used(spec)]
            i, j = (int(x) for x in rng.choice(free, 2, replace=name not in ("sub", "div")
                                                     or len(free) < 2))
            for _ in range(20):
                if _push(values, spec, name, i, j, _const(rng, name)):
                    made.append(len(values) - 1)
                    break
        loose = [k for k in made if k not in _used(spec)]
        acc = loose[0]
        for k in loose[1:]:
            _push(values, spec, "add", acc, k, None)
            acc = len(values) - 1
        if acc != len(values) - 1:      # the output must be the last node
            continue
        return {"leaves": leaves, "ops": spec}
    raise RuntimeError(f"could not build a graph for {name}")  # pragma: no cover


def oracle(dag) -> tuple[np.ndarray, np.ndarray]:
    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in dag["leaves"]]
    for op in dag["ops"]:
        name, i = op[0], op[1]
        b = nodes[op[2]] if name in BINARY else None
        c = op[2] if len(op) > 2 and b is None else None
        out = _apply(name, nodes[i], b, c)
        out.retain_grad()
        nodes.append(out)
    nodes[-1].backward()
    data = np.array([n.item() for n in nodes])
    grad = np.array([0.0 if n.grad is None else n.grad.item() for n in nodes])
    return data, grad


class Graph:
    """One expression graph with torch's answers, and how to talk about its nodes."""

    def __init__(self, dag: dict, what: str):
        self.dag, self.what = dag, what
        self.n_leaves = len(dag["leaves"])
        self.data, self.grad = oracle(dag)
        self.n = len(self.data)
        self.inputs: list[list[int]] = [[] for _ in range(self.n_leaves)]
        for op in dag["ops"]:
            self.inputs.append([op[1], op[2]] if op[0] in BINARY else [op[1]])
        self.users: list[list[int]] = [[] for _ in range(self.n)]
        for k, ins in enumerate(self.inputs):
            for i in dict.fromkeys(ins):
                self.users[i].append(k)

    def op(self, k: int) -> str | None:
        return None if k < self.n_leaves else self.dag["ops"][k - self.n_leaves][0]

    def culprit(self, k: int) -> str:
        name = self.op(k)
        return f"`{SYMBOL[name]}` ({OPS[name][1]})"

    def node(self, k: int) -> str:
        if k < self.n_leaves:
            return f"leaf n{k}"
        op = self.dag["ops"][k - self.n_leaves]
        ins = self.inputs[k]
        text = OPS[op[0]][0].format(a=f"n{ins[0]}", b=f"n{ins[-1]}",
                                    c=_g(op[2]) if op[0] in WITH_CONST else "")
        return f"n{k} = {text}"

    def glyph(self, k: int) -> str | None:
        name = self.op(k)
        if name is None:
            return None
        op = self.dag["ops"][k - self.n_leaves]
        if name == "pow":
            return f"**{_g(op[2])}"
        if name in WITH_CONST:      # the constant is no node: show it on the op
            return f"{_g(op[2])} {GLYPH[name]}" if name.startswith("r") else \
                f"{GLYPH[name]} {_g(op[2])}"
        return GLYPH[name]


def _picture(ctx: Context, g: Graph, got_data, got_grad, bad_value, bad_grad, first) -> str:
    """Attach the student's graph as a figure; '' or a note saying why there is none."""
    src = picture.dot_source([g.glyph(k) for k in range(g.n)], g.inputs, got_data, g.data,
                             got_grad, g.grad, set(bad_value), set(bad_grad), first,
                             f"{g.what}: your values and gradients")
    svg = picture.render(src)
    if svg is None:
        return "\n(no picture of the graph: graphviz's `dot` is not installed or failed)"
    ctx.figure("graph", svg)
    return ""


def compare_graph(ctx: Context, g: Graph, got: dict, backward: bool, again=None) -> None:
    """Fail at the first wrong thing of one graph: a value (in the order they are computed),
    else a gradient (in backward order). `again()` re-runs the graph backpropagating in
    reverse topological order with the student's own `_backward`s (None if it cannot)."""
    got = ctx.mapping(got, f"{g.what}: graph", ("data", "grad"))
    data = ctx.numbers(got["data"], f"{g.what}: node values", g.n)
    where = g.node
    bad = _bad(ctx, data, g.data)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        if k < g.n_leaves:
            head = (f"`Value.__init__`: a leaf made with Value({_g(g.data[k])}) holds "
                    f"{_g(data[k])}; a new Value must keep the number it is given")
        else:
            ins = list(dict.fromkeys(g.inputs[k]))
            right = ", ".join(f"n{i} = {_g(g.data[i])}" for i in ins)
            head = (f"{g.culprit(k)} computes a wrong value: first wrong value at "
                    f"{where(k)}: got {_g(data[k])}, expected {_g(g.data[k])}; "
                    f"{'its input' if len(ins) == 1 else 'its inputs'} {right} "
                    f"{'is' if len(ins) == 1 else 'are'} right")
        grads = None
        if backward and type(got["grad"]) is list and len(got["grad"]) == g.n:
            grads = got["grad"]
        note = _picture(ctx, g, data, grads, np.flatnonzero(bad), [], k)
        raise CheckFailed(f"{head}\n{g.what}, values: "
                          f"{_worst(ctx, data, g.data, bad, where)}{note}")
    if not backward:
        return
    grad = ctx.numbers(got["grad"], f"{g.what}: node gradients", g.n)
    bad = _bad(ctx, grad, g.grad)
    if not bad.any():
        return
    root = g.n - 1
    k = int(np.flatnonzero(bad)[-1])
    if bad[root]:
        head = (f"`Value.backward`: after out.backward() the output's own gradient is "
                f"{_g(grad[root])}; it should be 1 (d out / d out), set before any _backward "
                "runs")
        first = root
    else:
        local = again() if again else None
        lbad = None if local is None else _bad(ctx, local, g.grad)
        if lbad is not None and not lbad.any():
            head = (f"`Value.backward`: every op's own _backward is right (backpropagating "
                    f"through your graph in reverse topological order gives torch's gradients),"
                    f" but out.backward() does not: first wrong in backward order at "
                    f"{where(k)}: got {_g(grad[k])}, expected {_g(g.grad[k])}; backward() must "
                    "call each node's _backward once, after every node that uses it")
            first = k
        else:
            src = grad if lbad is None else local
            if lbad is not None:
                k = int(np.flatnonzero(lbad)[-1])
            first = k
            users = g.users[k]
            culprits = list(dict.fromkeys(g.culprit(u) for u in users))
            used = ", ".join(where(u) for u in users)
            if len(culprits) == 1:
                head = (f"{culprits[0]} passes a wrong gradient: first wrong gradient in "
                        f"backward order at {where(k)} (got {_g(src[k])}, expected "
                        f"{_g(g.grad[k])}), which only {used} uses; that node's own gradient "
                        f"is right, so its _backward is wrong")
            else:
                head = (f"{' or '.join(culprits)} passes a wrong gradient: first wrong "
                        f"gradient in backward order at {where(k)} (got {_g(src[k])}, "
                        f"expected {_g(g.grad[k])}), used by {used}, whose own gradients are "
                        "right: one of their _backward is wrong")
            if lbad is None:
                head += " (or backward()'s order: your Value has no _prev/_backward to tell)"
    note = _picture(ctx, g, data, grad, [], np.flatnonzero(bad), first)
    raise CheckFailed(f"{head}\n{g.what}, gradients: "
                      f"{_worst(ctx, grad, g.grad, bad, where)}{note}")


def _again(ctx: Context, dag: dict):
    """The graph again, backpropagated by the probe in reverse topological order through the
    student's own _backward closures: a diagnosis (None when it cannot be had)."""
    def run():
        try:
            local = answer(ctx.probe("eval_dags", dags=[dag], backward=True, order="reference"))
            return ctx.numbers(local[0]["grad"], "gradients",
                               len(dag["leaves"]) + len(dag["ops"]))
        except (CheckFailed, ProbeFailed, TypeError, KeyError, IndexError):
            return None
    return run


def check_graphs(ctx: Context, dags: list[dict], whats: list[str], backward: bool,
                 mixed: bool = False) -> None:
    """Run the graphs through the student's Value (one probe call) and compare them in order.
    In `mixed` graphs (many ops) a failure is traced to the first op, in ARITH order, whose
    own focus graph fails: a broken primitive (say **) is named, not the ops built on it."""
    try:
        reply = answer(ctx.probe("eval_dags", dags=dags, backward=backward))
    except ProbeFailed as e:    # e.g. a broken op led another out of its domain: trace it
        culprit = _diagnose(ctx, {op[0] for d in dags for op in d["ops"]}, backward) \
            if mixed and e.status == "error" else None
        if culprit is None:
            raise
        lines = [ln for ln in str(e).splitlines() if ln.strip()]
        raise CheckFailed(f"{culprit}\n(traced from graphs where your code raised "
                          f"{lines[0][:200] if lines else 'an error'})") from None
    if type(reply) is not list or len(reply) != len(dags):
        raise CheckFailed("expected one result per expression graph")
    for dag, what, got in zip(dags, whats, reply):
        shown = len(ctx.figures)
        try:
            compare_graph(ctx, Graph(dag, what), got, backward, _again(ctx, dag))
        except CheckFailed as e:
            text = str(e)
            if not mixed or text.startswith(("`Value.backward`", "`Value.__init__`")):
                raise
            culprit = _diagnose(ctx, {op[0] for op in dag["ops"]}, backward)
            if culprit is None:
                raise
            del ctx.figures[shown:shown + 1]        # the focus graph's picture is clearer
            raise CheckFailed(f"{culprit}\n(traced from {what}: "
                              f"{text.splitlines()[1].split(': ', 1)[-1]})") from None


def _diagnose(ctx: Context, present: set[str], backward: bool) -> str | None:
    """The failure of the first op (primitives first) whose own focus graph fails, or None."""
    names = [n for n in [*ARITH, "tanh", "exp", "log"] if n in present]
    dags = [focus_dag(ctx.rng, name) for name in names]
    try:
        reply = answer(ctx.probe("eval_dags", dags=dags, backward=backward))
    except (CheckFailed, ProbeFailed):
        return None
    if type(reply) is not list or len(reply) != len(dags):
        return None
    for name, dag, got in zip(names, dags, reply):
        try:
            compare_graph(ctx, Graph(dag, f"graph of {SYMBOL[name]}"), got, backward,
                          _again(ctx, dag))
        except CheckFailed as e:
            return str(e)
    return None


def _dag_check(ctx: Context, ops: list[str], n_dags: int, backward: bool,
               n_ops: int = 24) -> None:
    dags = [random_dag(ctx.rng, ops, n_ops=n_ops) for _ in range(n_dags)]
    check_graphs(ctx, dags, [f"graph {k}" for k in range(n_dags)], backward, mixed=True)


def _focus_check(ctx: Context, names: list[str], backward: bool, per_op: int = 1,
                 mix: tuple[str, ...] = ()) -> None:
    dags, whats = [], []
    for name in names:
        for r in range(per_op):
            dags.append(focus_dag(ctx.rng, name, mix=mix))
            whats.append(f"graph of {SYMBOL[name]}" + (f" #{r + 1}" if per_op > 1 else ""))
    check_graphs(ctx, dags, whats, backward)


@check("micrograd.ops")
def ops(ctx: Context):
    _focus_check(ctx, ARITH, backward=False)    # each op first, so the report names it
    _dag_check(ctx, ARITH, ctx.params.get("graphs", 8), backward=False)


@check("micrograd.backward")
def backward(ctx: Context):
    _focus_check(ctx, ARITH, backward=True)
    _dag_check(ctx, ARITH, ctx.params.get("graphs", 8), backward=True)


@check("micrograd.accumulate")
def accumulate(ctx: Context):
    x = float(ctx.rng.uniform(0.5, 2))
    got = ctx.numbers(answer(ctx.probe("accumulate", x=x)), "gradients", 3)
    expected = [2.0, 2 * x, (x + 3 * x) + 4 * x]
    names = ["b = a + a", "b = a * a", "d = (a + 3a) * a"]
    who = ["`+` (Value.__add__)", "`*` (Value.__mul__)",
           "`Value.backward` (+ and * each pass their gradients above)"]
    bad = _bad(ctx, got, np.array(expected))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        diff(ctx, got, expected, "gradient of a node used twice", lambda i: names[i],
             first_line=f"{who[k]}: the gradient of a in {names[k]} is {_g(got[k])}, expected "
                        f"{_g(expected[k])}: every use of a node must add (+=) its part")


def _unary(name: str):
    @check(f"micrograd.{name}")
    def fn(ctx: Context):
        for backward in (False, True):
            _focus_check(ctx, [name], backward, per_op=2, mix=("add", "mul", "mulc", "sub"))
    fn.__name__ = name
    return fn


for _name in ("tanh", "exp", "log"):
    _unary(_name)


# -- nn -------------------------------------------------------------------------------------
def _torch_mlp(weights, xs, last_linear: bool = True, coefs=None):
    """Outputs and parameter grads (of sum(outputs), or sum(coefs * outputs)) of an MLP."""
    params = [[torch.tensor(n, dtype=torch.float64, requires_grad=True) for n in layer]
              for layer in weights]
    outs, total = [], 0
    for x in xs:
        h = torch.tensor(x, dtype=torch.float64)
        for li, layer in enumerate(params):
            W = torch.stack([n[:-1] for n in layer])
            b = torch.stack([n[-1] for n in layer])
            h = W @ h + b
            if li != len(params) - 1 or not last_linear:
                h = torch.relu(h)
        outs.append(h)
        w = torch.ones_like(h) if coefs is None else torch.tensor(coefs, dtype=torch.float64)
        total = total + (h * w).sum()
    total.backward()
    return (torch.stack(outs).detach().numpy(),
            [[n.grad.numpy() for n in layer] for layer in params])


def _list(value, keep: bool = False) -> list:
    """A reply's list as a list; anything else as [] (or, with keep, as [value]): the count
    check that follows then says what is wrong, never a crash of ours."""
    return value if type(value) is list else [value] if keep else []


def _names(sizes: list[int]) -> list[str]:
    """Parameter names in the lecture's order: weights then bias, neuron by neuron, layer by
    layer."""
    return [f"L{li}.N{ni}." + (f"w{k}" if k < sizes[li] else "b")
            for li in range(len(sizes) - 1) for ni in range(sizes[li + 1])
            for k in range(sizes[li] + 1)]


def _nested(values, sizes: list[int]) -> list:
    """A flat list in the lecture's order, as [layer][neuron][w..., b]."""
    out, pos = [], 0
    for li in range(len(sizes) - 1):
        layer = []
        for _ in range(sizes[li + 1]):
            layer.append([float(v) for v in values[pos:pos + sizes[li] + 1]])
            pos += sizes[li] + 1
        out.append(layer)
    return out


def _flat(grads) -> np.ndarray:
    return np.concatenate([g for layer in grads for g in layer])


@check("micrograd.nn_forward")
def nn_forward(ctx: Context):
    nin, nouts = 3, [4, 4, 1]
    sizes = [nin] + nouts
    for _ in range(100):      # outputs of both signs: a ReLU on the last layer must show
        weights = [[list(ctx.rng.uniform(-1, 1, sizes[i] + 1)) for _ in range(sizes[i + 1])]
                   for i in range(len(nouts))]
        xs = [list(ctx.rng.uniform(-2, 2, nin)) for _ in range(6)]
        outs, grads = _torch_mlp(weights, xs)
        if (outs < -1e-3).any() and (outs > 1e-3).any():
            break
    got = ctx.mapping(answer(ctx.probe("nn_forward", nin=nin, nouts=nouts, weights=weights,
                                       xs=xs)), "MLP result", ("outputs", "grads"))
    flat_outs = [v for o in _list(got["outputs"]) for v in _list(o, keep=True)]
    got_outs = np.asarray(ctx.numbers(flat_outs, "MLP outputs", outs.size), dtype=np.float64)
    # every output relu of the right one: the last layer was built with a ReLU
    relu_last = (outs < 0).any() and not _bad(ctx, got_outs, np.maximum(outs.ravel(), 0)).any()
    diff(ctx, got_outs, outs.ravel(),
         "MLP(3, [4, 4, 1]) outputs (relu hidden layers, linear last layer)",
         lambda i: f"input {i}",
         first_line="`MLP.__init__`: the last layer applies ReLU (each output is relu of the "
                    "expected one): build it with nonlin=False, and let Neuron honour nonlin"
         if relu_last else "")
    flat = _flat(grads)
    got_g = got["grads"]
    if type(got_g) is not list or any(type(layer) is not list for layer in got_g):
        raise CheckFailed("parameter grads: expected nested lists")
    got_flat = [v for layer in got_g for n in layer for v in (n if type(n) is list else [n])]
    names = _names(sizes)
    diff(ctx, ctx.numbers(got_flat, "parameter grads", flat.size), flat,
         "gradients of sum(outputs) w.r.t. every weight and bias", lambda i: names[i],
         backward_order=True)


@check("micrograd.parameters")
def parameters(ctx: Context):
    nin, nouts = 3, [4, 2, 1]
    sizes = [nin] + nouts
    want_names = _names(sizes)
    # positive weights and inputs keep every relu unit alive: every value reaches the output
    values = ctx.rng.uniform(0.1, 1, len(want_names))
    xs = ctx.rng.uniform(0.1, 1, (4, nin))
    neuron_values = ctx.rng.uniform(0.1, 1, nin + 1)
    layer_values = ctx.rng.uniform(0.1, 1, nouts[0] * (nin + 1))
    got = answer(ctx.probe("parameters", nin=nin, nouts=nouts, values=values.tolist(),
                           xs=xs.tolist(), neuron_values=neuron_values.tolist(),
                           layer_values=layer_values.tolist()))
    got = ctx.mapping(got, "parameters", ("mlp", "neuron", "layer"))
    cases = [("neuron", f"Neuron({nin})", [nin, 1], neuron_values, xs[:2], False),
             ("layer", f"Layer({nin}, {nouts[0]})", [nin, nouts[0]], layer_values, xs[:2],
              False),
             ("mlp", f"MLP({nin}, {nouts})", sizes, values, xs, True)]
    for key, label, sz, vals, inputs, last_linear in cases:
        res = ctx.mapping(got[key], label, ("count", "outputs", "grads"))
        n = len(vals)
        ctx.ensure(res["count"] == n,
                   f"`{label}.parameters()` lists {str(res['count'])[:20]} Values; expected {n} "
                   "(weights, then bias, neuron by neuron, layer by layer)")
        outs, grads = _torch_mlp(_nested(vals, sz), inputs.tolist(), last_linear)
        order = res.get("order") if key == "mlp" else None
        head = ""
        if type(order) is list and order != want_names:
            k = next((i for i, (a, b) in enumerate(zip(order, want_names)) if a != b),
                     min(len(order), n - 1))
            is_ = str(order[k])[:20] if k < len(order) else "missing"
            head = (f"`{label}.parameters()`[{k}] is {is_}; expected {want_names[k]} "
                    "(weights, then bias, neuron by neuron, layer by layer)")
        got_out = [v for o in _list(res["outputs"]) for v in _list(o)]
        what = (f"`{label}.parameters()`: our values written in the order it lists them, "
                f"then {label} run on our inputs: outputs")
        if not head:
            head = (f"`{label}.parameters()` lists its Values in the wrong order (or "
                    f"{label} computes wrongly: see micrograd.nn_forward): with our values "
                    "written in the order it lists them, its outputs are not torch's")
        diff(ctx, ctx.numbers(got_out, f"{label} outputs", outs.size), outs.ravel(), what,
             lambda i: f"output {i}", first_line=head)
        names = _names(sz)
        diff(ctx, ctx.numbers(res["grads"], f"{label} grads", n), _flat(grads),
             f"`{label}.parameters()`: gradients of sum(outputs), in the order it lists them",
             lambda i, names=names: names[i], first_line=head)


@check("micrograd.zero_grad")
def zero_grad(ctx: Context):
    nin, nouts = 3, [4, 3]
    sizes = [nin] + nouts
    names = _names(sizes)
    weights = _nested(ctx.rng.uniform(-1, 1, len(names)), sizes)
    stale = ctx.rng.uniform(0.5, 2, len(names)) * ctx.rng.choice([-1, 1], len(names))
    x = ctx.rng.uniform(-2, 2, nin)
    coefs = ctx.rng.uniform(0.5, 2, nouts[-1]) * ctx.rng.choice([-1, 1], nouts[-1])
    got = ctx.numbers(answer(ctx.probe("zero_grad", nin=nin, nouts=nouts, weights=weights,
                                       stale=stale.tolist(), x=x.tolist(),
                                       coefs=coefs.tolist())), "grads", len(names))
    _, grads = _torch_mlp(weights, [x.tolist()], coefs=coefs.tolist())
    want = _flat(grads)
    bad = _bad(ctx, got, want)
    head = ""
    if bad.any():
        left = [names[i] for i in np.flatnonzero(bad)
                if np.isclose(got[i], want[i] + stale[i], rtol=ctx.tol.rtol, atol=ctx.tol.atol)]
        if left:
            head = (f"`Module.zero_grad` did not reset {', '.join(left[:4])}"
                    f"{' ...' if len(left) > 4 else ''}: its old gradient was still there when "
                    "backward() added the new one")
    diff(ctx, got, want, "gradients after zero_grad() and a fresh backward()",
         lambda i: names[i], first_line=head)


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


def _scores(params, Xt):
    h = Xt
    for li, layer in enumerate(params):
        W = torch.stack([n[:-1] for n in layer])
        b = torch.stack([n[-1] for n in layer])
        h = h @ W.T + b
        if li != len(params) - 1:
            h = torch.relu(h)
    return h[:, 0]


def replay_training(init, X, y, steps: int, alpha: float) -> tuple[np.ndarray, list]:
    """The probe's training loop in torch float64 from the same initial weights: the loss of
    every step and the final weights."""
    params = [[torch.tensor(n, dtype=torch.float64, requires_grad=True) for n in layer]
              for layer in init]
    flat = [p for layer in params for p in layer]
    Xt, yt = torch.tensor(X), torch.tensor(y)
    losses = []
    for k in range(steps):
        loss = torch.relu(1 - yt * _scores(params, Xt)).mean() + alpha * sum(
            (p * p).sum() for p in flat)
        for p in flat:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in flat:
                p -= (1.0 - 0.9 * k / steps) * p.grad
        losses.append(loss.item())
    return np.array(losses), [[p.detach().numpy().copy() for p in layer] for layer in params]


def accuracy(weights, X, y) -> float:
    params = [[torch.tensor(n, dtype=torch.float64) for n in layer] for layer in weights]
    with torch.no_grad():
        scores = _scores(params, torch.tensor(X)).numpy()
    return float(((scores > 0) == (y > 0)).mean())


@check("micrograd.train")
def train(ctx: Context):
    p = ctx.params
    X, y = make_moons(ctx.rng, p["n"], p["noise"])
    sizes = [2] + p["nouts"]
    # the lecture's initialisation (w ~ U(-1, 1), b = 0), drawn here and written into the model
    init = [[[*ctx.rng.uniform(-1, 1, sizes[li]).tolist(), 0.0] for _ in range(sizes[li + 1])]
            for li in range(len(sizes) - 1)]
    got = ctx.mapping(answer(ctx.probe("train", X=X.tolist(), y=y.tolist(), nouts=p["nouts"],
                                       steps=p["steps"], alpha=p["alpha"], init=init)),
                      "training", ("losses", "final"))
    losses = ctx.numbers(got["losses"], "losses", p["steps"])
    names = _names(sizes)
    final = got["final"]
    try:
        final_flat = [v for layer in final for n in layer for v in n]
    except TypeError:
        final_flat = None
    final_flat = ctx.numbers(final_flat, "final weights", len(names))
    want_losses, want_final = replay_training(init, X, y, p["steps"], p["alpha"])
    bad = _bad(ctx, losses, want_losses)
    if bad.any():
        ctx.figure("loss", picture.curve_svg(want_losses, losses, "training loss per step",
                                             int(np.flatnonzero(bad)[0])))
    diff(ctx, losses, want_losses, "training loss per step vs the same SGD run in torch "
         "(from the same initial weights)", lambda i: f"step {i}")
    diff(ctx, final_flat, _flat(want_final), "weights after training vs the same SGD run in "
         "torch", lambda i: names[i])
    acc = accuracy(_nested(final_flat, sizes), X, y)
    ctx.ensure(acc >= p["min_accuracy"],
               f"after {p['steps']} steps of SGD on {p['n']} two-moons points the accuracy is "
               f"{acc:.0%}, below the required {p['min_accuracy']:.0%}")
    return f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, accuracy {acc:.0%}"


# -- draw_dot -------------------------------------------------------------------------------
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|->|--|[\[\]{};,=]|[^\s\[\]{};,="<>]+|<|>|\n')


def _strip(tok: str) -> str:
    if tok.startswith('"'):
        return re.sub(r"\\(.)", r"\1", tok[1:-1])
    return tok


def _html_labels(src: str) -> str:
    """HTML-like labels (label=<...>) as plain quoted strings, tags dropped."""
    out, i = [], 0
    while True:
        m = re.search(r"=\s*<", src[i:])
        if not m:
            return "".join(out) + src[i:]
        start = i + m.end() - 1
        depth, j = 0, start
        while j < len(src):
            depth += {"<": 1, ">": -1}.get(src[j], 0)
            if depth == 0:
                break
            j += 1
        text = re.sub(r"<[^>]*>", " ", src[start + 1:j])
        out.append(src[i:start] + '"' + text.replace('"', "'") + '"')
        i = j + 1


def parse_dot(src: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Node labels and edges of a DOT text (the statements graphviz.Digraph writes)."""
    toks = [t for t in _TOKEN.findall(_html_labels(src))]
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    stmt: list[str] = []
    depth = 0
    for t in toks + ["\n"]:
        if t == "[":
            depth += 1
        elif t == "]":
            depth -= 1
        if depth == 0 and t in ("\n", ";", "{", "}"):
            _statement(stmt, nodes, edges)
            stmt = []
        else:
            stmt.append(t)
    return nodes, edges


def _statement(stmt: list[str], nodes: dict, edges: set) -> None:
    stmt = [t for t in stmt if t != "\n"]
    if not stmt or stmt[0] in ("graph", "node", "edge", "digraph", "strict", "subgraph"):
        return
    attrs: dict[str, str] = {}
    if "[" in stmt:
        k = stmt.index("[")
        body, stmt = stmt[k + 1:], stmt[:k]
        for i, t in enumerate(body):
            if t == "=" and 0 < i < len(body) - 1:
                attrs[_strip(body[i - 1]).lower()] = _strip(body[i + 1])
    ids = [_strip(t) for t in stmt if t not in ("->", "--")]
    if "->" in stmt or "--" in stmt:
        for a, b in zip(ids, ids[1:]):
            edges.add((a, b))
            nodes.setdefault(a, a)
            nodes.setdefault(b, b)
    elif len(ids) == 1 and "=" not in stmt:
        nodes[ids[0]] = attrs.get("label", nodes.get(ids[0], ids[0]))


_FIELD = r"{}\s*[:=]?\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def _field(label: str, name: str) -> float | None:
    m = re.search(_FIELD.format(name), label)
    return float(m.group(1)) if m else None


def _op_label_ok(op: str, label: str) -> bool:
    s = label.strip().lower()
    if op == "pow":
        return "**" in s or "pow" in s or "^" in s
    if op == "mul":
        return ("*" in s and "**" not in s) or "mul" in s or "×" in s
    return "+" in s or "add" in s


def draw_dag(rng: np.random.Generator) -> dict:
    """A small expression of +, * and ** (no constants as Values, so every Value of the
    student's graph is a node here); every node reaches the output, values all differ."""
    for _ in range(200):
        leaves = [float(v) for v in np.round(rng.uniform(-2, 2, 3), 3)]
        values, spec = list(leaves), []
        plan = [("add", "mul")] * 2 + [("add", "mul", "pow")] * int(rng.integers(2, 4))
        for step, choices in enumerate(plan):
            name = str(rng.choice(choices))
            i = len(values) - 1 if step else 0
            j = {0: 1, 1: 2}.get(step, int(rng.integers(len(values) - 1)))
            c = float(rng.choice([2, 3])) if name == "pow" else None
            if not _push(values, spec, name, i, j, c):
                break
        data, grad = oracle({"leaves": leaves, "ops": spec}) if len(spec) == len(plan) \
            else (None, None)
        if data is None or np.abs(data).max() > 50 or np.abs(grad).max() > 500:
            continue
        gaps = np.diff(np.sort(np.round(data, 4)))
        if gaps.min() > 2e-3:
            return {"leaves": leaves, "ops": spec}
    raise RuntimeError("could not draw an expression")  # pragma: no cover


@check("micrograd.draw_dot")
def draw_dot(ctx: Context):
    dag = draw_dag(ctx.rng)
    g = Graph(dag, "draw_dot")
    got = ctx.mapping(answer(ctx.probe("draw_dot", dag=dag)), "draw_dot", ("source",))
    src = got["source"]
    ctx.ensure(type(src) is str and src.lstrip().startswith("digraph"),
               "draw_dot(...) should return a graphviz Digraph (its .source starts 'digraph')")
    nodes, edges = parse_dot(src)
    into: dict[str, set[str]] = {}
    for a, b in edges:
        into.setdefault(b, set()).add(a)
    records = {name: (_field(label, "data"), _field(label, "grad"))
               for name, label in nodes.items() if _field(label, "data") is not None}
    expr = " ; ".join(g.node(k) for k in range(g.n_leaves, g.n))
    found = {}
    for k in range(g.n):
        hits = [r for r, (d, _) in records.items() if abs(d - g.data[k]) <= 6e-5]
        ctx.ensure(len(hits) == 1,
                   f"`draw_dot`: {'no' if not hits else 'more than one'} record node shows "
                   f"data {g.data[k]:.4f}, the value of {g.node(k)} (the expression: {expr}; "
                   "expected one record node '{ data ... | grad ... }' per Value"
                   + (" that trace(root) reaches)" if not hits else ")"))
        found[k] = hits[0]
        gr = records[hits[0]][1]
        ctx.ensure(gr is not None and abs(gr - g.grad[k]) <= 6e-5 + 1e-6 * abs(g.grad[k]),
                   f"`draw_dot`: the node of {g.node(k)} is labelled "
                   f"{str(nodes[hits[0]])[:80]!r}; expected it to show grad {g.grad[k]:.4f} "
                   "after backward()")
    for k in range(g.n):
        feeding = [o for o in into.get(found[k], ()) if o not in records]
        if k < g.n_leaves:
            ctx.ensure(not into.get(found[k]), f"`draw_dot`: {g.node(k)} has an edge into it; "
                       "expected none (no op made a leaf)")
            continue
        ctx.ensure(len(feeding) == 1, f"`draw_dot`: {g.node(k)} has {len(feeding)} op nodes "
                   "with an edge op -> value; expected one")
        o = feeding[0]
        ctx.ensure(_op_label_ok(g.op(k), str(nodes[o])),
                   f"`draw_dot`: the op node of {g.node(k)} is labelled {str(nodes[o])[:20]!r};"
                   f" expected its op ({GLYPH[g.op(k)]})")
        want = {found[i] for i in g.inputs[k]}
        have = into.get(o, set())
        ctx.ensure(want <= have and not (have - want) & set(found.values()),
                   f"`draw_dot`: the op node of {g.node(k)}: expected an edge from each input "
                   f"({', '.join(f'n{i}' for i in dict.fromkeys(g.inputs[k]))}) and no other")


FUNCS = {
    "lecture": lambda a, b, c: -a**3 + torch.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5,
    "poly": lambda a, b, c: a * b * c + a**2 - 3 * c,
    "exp": lambda a, b, c: torch.exp(a * 0.5) * b - torch.log(c),
}


@check("micrograd.numerical_grad")
def numerical_grad(ctx: Context):
    for fn, f in FUNCS.items():
        args = [float(v) for v in ctx.rng.uniform(0.5, 3, 3)]
        got = ctx.numbers(answer(ctx.probe("numerical_grad", fn=fn, args=args, h=1e-3)),
                          "gradient", 3)
        ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in args]
        f(*ts).backward()
        want = [t.grad.item() for t in ts]
        ctx.close(got, want, f"`numerical_grad`: the gradient of '{fn}' at "
                  f"{np.round(args, 3).tolist()} with h=1e-3 (symmetric difference)",
                  lambda i: "abc"[i])


@check("micrograd.softmax_nll")
def softmax_nll(ctx: Context):
    for _ in range(3):
        n = int(ctx.rng.integers(3, 7))
        logits = [float(v) for v in ctx.rng.normal(0, 2, n)]
        target = int(ctx.rng.integers(n))
        got = ctx.mapping(answer(ctx.probe("softmax_nll", logits=logits, target=target)),
                          "softmax/nll", ("probs", "loss", "grads"))
        t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(t[None], torch.tensor([target]))
        loss.backward()
        ctx.close(ctx.numbers(got["probs"], "softmax", n), torch.softmax(t, 0).detach().numpy(),
                  "softmax(logits)")
        ctx.close(ctx.number(got["loss"], "loss"), loss.item(),
                  "nll(logits, target) vs F.cross_entropy")
        ctx.close(ctx.numbers(got["grads"], "grads", n), t.grad.numpy(),
                  "d loss / d logits after loss.backward()")
