"""Held-out micrograd submissions: plausible mistakes (not the ones tests/test_micrograd.py uses)
must lose points on the right check, and correct code written differently must get full marks.

All of them are graded in one batch (two jobs); `micrograd.train` is left to the slow tier.
"""
from __future__ import annotations

import shutil

import pytest
from conftest import REFERENCE, mutant

from grader.config import load_course
from grader.runner import grade

CHECKS = {c.id for c in load_course().lecture("micrograd").checks}
QUICK = CHECKS - {"micrograd.train"}

BUGS = {  # name: (edits, the check that must fail)
    "mul_grad_uses_own_data": ({"engine.py": [("self.grad += other.data * out.grad",
                                               "self.grad += self.data * out.grad")]},
                               "micrograd.backward"),
    "relu_grad_not_gated": ({"engine.py": [("self.grad += (out.data > 0) * out.grad",
                                            "self.grad += out.grad")]}, "micrograd.backward"),
    "topo_not_reversed": ({"engine.py": [("for v in reversed(topo):", "for v in topo:")]},
                          "micrograd.backward"),
    "exp_grad_uses_input": ({"engine.py": [("self.grad += e * out.grad",
                                            "self.grad += self.data * out.grad")]},
                            "micrograd.exp"),
    "log_grad_multiplies": ({"engine.py": [("self.grad += out.grad / self.data",
                                            "self.grad += out.grad * self.data")]},
                            "micrograd.log"),
    "neuron_without_bias": ({"nn.py": [("zip(self.w, x)), self.b)", "zip(self.w, x)))")]},
                            "micrograd.nn_forward"),
    "nll_sign_flipped": ({"exercises.py": [("return -softmax(logits)[target].log()",
                                            "return softmax(logits)[target].log()")]},
                         "micrograd.softmax_nll"),
}

ITERATIVE_TOPO = """        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
"""
KAHN_TOPO = (
    "        # Kahn: count how many parents use each node, release a node when all have run\n"
    """        users, seen, todo = {}, {self}, [self]
        while todo:
            v = todo.pop()
            for c in v._prev:
                users[c] = users.get(c, 0) + 1
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        self.grad = 1.0
        ready = [self]
        while ready:
            v = ready.pop()
            v._backward()
            for c in v._prev:
                users[c] -= 1
                if users[c] == 0:
                    ready.append(c)
""")
VARIANTS = {
    "iterative_topological_sort": "ITERATIVE",
    "kahn_topological_order": "KAHN",
    "sub_and_div_as_own_ops": {"engine.py": [(
        "    def __sub__(self, other):  # self - other\n        return self + (-other)\n",
        ("    def __sub__(self, other):\n"
        "        other = other if isinstance(other, Value) else Value(other)\n"
        "        out = Value(self.data - other.data, (self, other), '-')\n\n"
        "        def _backward():\n"
        "            self.grad += out.grad\n"
        "            other.grad -= out.grad\n"
        "        out._backward = _backward\n"
        "        return out\n")), (
        "    def __truediv__(self, other):  # self / other\n        return self * other**-1\n",
        ("    def __truediv__(self, other):\n"
        "        other = other if isinstance(other, Value) else Value(other)\n"
        "        out = Value(self.data / other.data, (self, other), '/')\n\n"
        "        def _backward():\n"
        "            self.grad += out.grad / other.data\n"
        "            other.grad -= out.grad * self.data / other.data**2\n"
        "        out._backward = _backward\n"
        "        return out\n"))]},
    # the parent reads the DOT text, not our naming: a counter for names, top to bottom, the
    # op in the record label too, a layer that always returns a list
    "draw_dot_counter_names_top_to_bottom": {"viz.py": [
        ("    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})\n",
         "    dot = Digraph(format=format, graph_attr={'rankdir': 'TB'})\n"
         "    uid = {}\n"
         "    name = lambda v: uid.setdefault(id(v), f'v{len(uid)}')\n"),
        ("        dot.node(name=str(id(n)), label=f\"{{ {label} | data {n.data:.4f} | grad "
         "{n.grad:.4f} }}\",\n                 shape='record')\n",
         "        dot.node(name=name(n), label=f\"{{ {n._op or 'leaf'} | data {n.data:.6f} | "
         "grad {n.grad:.6f} }}\", shape='record')\n"),
        ("            dot.node(name=str(id(n)) + n._op, label=n._op)\n"
         "            dot.edge(str(id(n)) + n._op, str(id(n)))\n",
         "            dot.node(name=name(n) + '_op', label=n._op)\n"
         "            dot.edge(name(n) + '_op', name(n))\n"),
        ("        dot.edge(str(id(n1)), str(id(n2)) + n2._op)\n",
         "        dot.edge(name(n1), name(n2) + '_op')\n")]},
    "layer_always_returns_a_list": {"nn.py": [
        ("        return out[0] if len(out) == 1 else out\n", "        return out\n")]},
    "neuron_loop_bias_last": {"nn.py": [(
        "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n",
        ("        act = Value(0.0)\n"
        "        for wi, xi in zip(self.w, x):\n"
        "            act = act + wi * xi\n"
        "        act = act + self.b\n"))]},
    "stable_softmax_and_list_parameters": {"exercises.py": [(
        "    counts = [logit.exp() for logit in logits]\n",
        ("    top = max(logit.data for logit in logits)\n"
        "    counts = [(logit - top).exp() for logit in logits]\n"))],
        "nn.py": [("        return self.w + [self.b]\n", "        return [*self.w, self.b]\n")]},
}


def _backward_region(text: str) -> str:
    """The reference's recursive topological sort + backward loop, to be replaced."""
    start = text.index("        # topological order")
    return text[start:text.index("        ### END SOLUTION", start)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("heldout")
    batch = tmp / "batch"
    batch.mkdir()
    region = _backward_region((REFERENCE / "micrograd" / "engine.py").read_text())
    for name, spec in {**{k: v[0] for k, v in BUGS.items()}, **VARIANTS}.items():
        if spec in ("ITERATIVE", "KAHN"):
            spec = {"engine.py": [(region, ITERATIVE_TOPO if spec == "ITERATIVE" else KAHN_TOPO)]}
        sub = mutant(tmp / name, "micrograd", spec)
        shutil.move(str(sub), str(batch / name))
    run = grade(load_course(), batch, ["micrograd"], 99, batch=True, jobs=2, only=QUICK)
    return {s.student: {c.id: c for c in s.lectures[0].checks} for s in run.submissions}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_plausible_mistake_fails_the_right_check(graded, bug):
    results = graded[bug]
    target = BUGS[bug][1]
    assert results[target].status == "failed" and results[target].points == 0, \
        results[target].message
    assert sum(r.points for r in results.values()) < sum(r.max_points for r in results.values())


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_correct_but_differently_written_gets_full_marks(graded, variant):
    failed = {k: r.message for k, r in graded[variant].items() if not r.passed}
    assert not failed
