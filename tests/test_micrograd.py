"""Lecture 1 beyond tests/test_lectures.py: a public-repo-shaped clone, how failures read (first
divergence, tracing, pictures), the DOT parser, junk replies, policy."""
from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from bugs.micrograd import BUGS
from conftest import ROOT, grade_path, mutant, planted_in, run_check

from grader.check import CheckFailed, Context, registry
from grader.config import load_course
from grader.lectures.micrograd import picture
from grader.sandbox import Reply

CHECKS = [c.id for c in load_course().lecture("micrograd").checks]
PUBLIC = ROOT / "tests" / "fixtures" / "micrograd_public"


def test_public_repo_clone_gets_full_marks_on_what_it_covers():
    results = grade_path(PUBLIC, "micrograd")
    missing = {"micrograd.tanh": "Value.tanh", "micrograd.exp": "Value.exp",
               "micrograd.log": "Value.log", "micrograd.draw_dot": "micrograd/viz.py",
               "micrograd.numerical_grad": "micrograd/exercises.py",
               "micrograd.softmax_nll": "micrograd/exercises.py"}
    for cid, r in results.items():
        if cid in missing:
            assert r.status == "missing" and r.message == f"missing: {missing[cid]}"
            assert r.points == 0
        else:
            assert r.passed, (cid, r.message)
            assert r.points == r.max_points


def test_failure_message_shows_tolerance_first_divergence_and_worst(tmp_path):
    edits = BUGS["pow_gradient_wrong"].edits
    r = grade_path(mutant(tmp_path, "micrograd", edits), "micrograd",
                   only={"micrograd.backward"})["micrograd.backward"]
    first, second = r.message.splitlines()[:2]
    assert "`a ** c` (Value.__pow__)" in first and "first wrong gradient in backward order" in first
    assert "rtol=1e-09, atol=1e-12" in second
    assert "worst at" in second and "abs err" in second and "rel err" in second


@pytest.mark.parametrize("bug", ["pow_gradient_wrong", "neg_forward"])
def test_large_mixed_graphs_trace_a_failure_to_the_function_that_holds_it(tmp_path, bug):
    """big_graph has no focus graphs of its own: a pow bug shows first at a / or - node there,
    and the check traces it back to ** (the first op whose own graph fails)."""
    edits = BUGS[bug].edits
    sub = mutant(tmp_path, "micrograd", edits)
    (cls, func), = planted_in("micrograd", edits)
    for msg, figures in run_check(sub, "micrograd", "micrograd.big_graph", [0, 1, 2]):
        first = msg.splitlines()[0]
        assert set(re.findall(r"Value\.(\w+)", first)) == {func}, msg
        assert "(traced from graph" in msg and len(figures) <= 1     # "graph k" or "graphs"


def test_focus_graphs_put_the_op_on_every_path_and_share_its_inputs_with_nothing():
    from grader.lectures.micrograd import checks
    for seed in range(30):
        rng = np.random.default_rng(seed)
        for name in [*checks.ARITH, "tanh", "exp", "log"]:     # mixed as the checks mix them
            mix = ("add", "mul", "mulc", "sub") if name in ("tanh", "exp", "log") else ()
            g = checks.Graph(checks.focus_dag(rng, name, mix=mix), name)
            assert all({g.op(u) for u in g.users[k]} == {name} for k in range(g.n_leaves))
            for k in range(g.n):      # whatever the op reads, nothing else reads
                users = {g.op(u) for u in g.users[k]}
                assert name not in users or users == {name}
            assert all(g.users[k] for k in range(g.n - 1))    # every node reaches the output
            assert g.op(g.n - 1) in (name, "add")


def test_backward_order_is_told_apart_from_an_op(tmp_path):
    """Sorting by value instead of topologically: every op's own _backward is right."""
    edits = BUGS["no_topological_sort"].edits
    msg, _ = run_check(mutant(tmp_path, "micrograd", edits), "micrograd", "micrograd.backward",
                       [3])[0]
    assert msg.startswith("`Value.backward`: every op's own _backward is right")


def test_wrong_return_type_says_what_was_expected(tmp_path):
    edits = {"engine.py": [("        out._backward = _backward\n        return out\n",
                            "        out._backward = _backward\n        return out.data\n")]}
    sub = mutant(tmp_path, "micrograd", edits)
    (cls, func), = planted_in("micrograd", edits)
    r = grade_path(sub, "micrograd", only={"micrograd.ops"})["micrograd.ops"]
    assert r.status == "failed"
    assert r.message.startswith(f"`{cls}.{func}` returned float; expected a Value"), r.message
    assert "Traceback" not in r.message and "zth_worker" not in r.message


def test_wrong_return_type_of_the_model_says_what_was_expected(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"nn.py": [("return act.relu() if self.nonlin else act",
                                                    "return (act.relu() if self.nonlin else act)"
                                                    ".data")]})
    r = grade_path(sub, "micrograd", only={"micrograd.nn_forward"})["micrograd.nn_forward"]
    assert r.status == "failed" and r.message.startswith(
        "`MLP.__call__` returned float; expected a Value or a list of Values")   # MLP(3, [.., 1])


DOT_STYLES = {   # draw_dot sources a student may write: ids, quoting, separators, labels
    "lecture": ('digraph {{\n\tgraph [rankdir=LR]\n\t1 [label="{{ a | data {a} | grad {ga} }}" '
                'shape=record]\n\t2 [label="{{ b | data {b} | grad {gb} }}" shape=record]\n'
                '\t3 [label="{{ c | data {c} | grad 1.0000 }}" shape=record]\n\t"3*" [label="*"]'
                '\n\t"3*" -> 3\n\t1 -> "3*"\n\t2 -> "3*"\n}}\n'),
    "one_line": ('digraph G {{ rankdir="TB"; node [shape=record]; n_a [shape=record, '
                 'label="{{data={a}|grad={ga}}}"]; n_b [label="{{data={b}|grad={gb}}}"]; '
                 'n_c [label="{{data={c}|grad=1.0}}"]; op_c [label="mul"]; n_a -> op_c; '
                 'n_b -> op_c; op_c -> n_c; }}'),
    "html_labels": ('digraph {{\n  A [label=<<b>data</b> {a} <i>grad</i> {ga}>]\n'
                    '  B [label=<data {b} grad {gb}>]\n  C [label=<data {c} grad 1>]\n'
                    '  X [label=<&times;>]\n  A -> X -> C\n  B -> X\n}}'),
}


@pytest.mark.parametrize("style", sorted(DOT_STYLES))
def test_draw_dot_reads_the_dot_text_however_it_is_written(style):
    from grader.lectures.micrograd.checks import parse_dot
    a, b = 1.25, -0.5
    src = DOT_STYLES[style].format(a=a, b=b, c=a * b, ga=b, gb=a)
    nodes, edges = parse_dot(src)
    records = {k: v for k, v in nodes.items() if "data" in v}
    assert len(records) == 3
    ops = set(nodes) - set(records)
    assert len(ops) == 1
    op = ops.pop()
    assert {a for a, b in edges if b == op} == set(records) - {next(
        r for r in records if (r, op) not in edges)}
    assert sum(1 for a, b in edges if a == op) == 1


JUNK = [None, 5, "x", [], {}, [None], [{}], {"wrong_type": 5}, {"wrong_type": ["a", "b"]},
        [{"data": "x", "grad": None}], {"mlp": 1, "neuron": [], "layer": {}},
        {"mlp": {"count": 17, "outputs": 3, "grads": "g"}, "neuron": {}, "layer": {}},
        {"losses": [0.1] * 40, "final": [[1, 2], "x"]}, {"source": 7},
        {"source": "digraph { a -> ; [ label= }"}, {"outputs": 1, "grads": [1, [2]]},
        {"probs": [], "loss": "l", "grads": {}}, [[1.0] * 3, "x"]]


def test_junk_replies_fail_cleanly_never_as_a_grader_bug():
    """Whatever comes back from the worker, every check fails with a message of its own."""
    course = load_course()
    lec = course.lecture("micrograd")

    class Junk:
        def __init__(self, value):
            self.value = value

        def call(self, probe, args, seed, timeout, **kw):
            return Reply("ok", self.value)

    for cfg in lec.checks:
        fn = registry("micrograd")[cfg.id]
        for value in JUNK:
            ctx = Context("micrograd", cfg, course.tolerance_for("micrograd", cfg), 1, 1.0,
                          Junk(value), {**lec.params, **cfg.params})
            with pytest.raises(CheckFailed):
                fn(ctx)


def _svg_nodes(svg: str) -> dict[str, dict]:
    """{node name: {'fill', 'stroke', 'text'}} and the edges of a graphviz SVG."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    nodes, edges = {}, set()
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        title = g.find("s:title", ns)
        if title is None:
            continue
        if g.get("class") == "node":
            shape = g.find("s:polygon", ns)
            if shape is None:
                shape = g.find("s:ellipse", ns)
            nodes[title.text] = {"fill": shape.get("fill"), "stroke": shape.get("stroke"),
                                 "text": " ".join(t.text or "" for t in g.iter(
                                     "{http://www.w3.org/2000/svg}text"))}
        elif g.get("class") == "edge":
            a, b = title.text.split("->")
            edges.add((a, b))
    return nodes, edges


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_picture_colours_the_planted_wrong_value_node(tmp_path):
    edits = BUGS["exp_forward"].edits
    msg, figures = run_check(mutant(tmp_path, "micrograd", edits), "micrograd", "micrograd.exp",
                             [5])[0]
    assert msg is not None and [f["name"] for f in figures] == ["graph"]
    nodes, edges = _svg_nodes(figures[0]["svg"])
    exp_ops = [n for n, v in nodes.items() if n.endswith("op") and v["text"].strip() == "exp"]
    assert exp_ops
    for op in exp_ops:        # every value exp made is wrong (the planted forward bug)
        assert nodes[op.removesuffix("op")]["fill"] == picture.WRONG_VALUE
    leaves = [n for n in nodes if not n.endswith("op") and n + "op" not in nodes]
    assert leaves and all(nodes[n]["fill"] == picture.RIGHT for n in leaves)
    first = [n for n, v in nodes.items() if v["stroke"] == picture.FIRST]
    assert len(first) == 1 and first[0] + "op" in exp_ops


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_picture_colours_the_planted_wrong_gradient_node_and_is_deterministic(tmp_path):
    edits = BUGS["log_backward"].edits
    sub = mutant(tmp_path, "micrograd", edits)
    (msg, figures), (msg2, figures2) = run_check(sub, "micrograd", "micrograd.log", [7, 7])
    assert msg == msg2 and figures == figures2            # same seed, same bytes
    svg = figures[0]["svg"]
    assert "<!--" not in svg
    nodes, edges = _svg_nodes(svg)
    first = [n for n, v in nodes.items() if v["stroke"] == picture.FIRST]
    assert len(first) == 1 and nodes[first[0]]["fill"] == picture.WRONG_GRAD
    # the first wrong gradient is an input of a log node (log's _backward holds the bug)
    users = {b for a, b in edges if a == first[0]}
    assert users and all(nodes[u]["text"].strip() == "log" for u in users)


def test_a_training_run_that_leaves_torch_s_is_drawn_as_two_loss_curves(tmp_path):
    edits = BUGS["zero_grad_misses_biases"].edits
    msg, figures = run_check(mutant(tmp_path, "micrograd", edits), "micrograd", "micrograd.train",
                             [4],
                             steps=6)[0]
    assert msg.startswith("training loss per step vs the same SGD run in torch")
    first = int(re.search(r"first wrong at step (\d+)", msg).group(1))
    assert [f["name"] for f in figures] == ["loss"]
    svg = figures[0]["svg"]
    root = ET.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert [p.get("stroke") for p in lines] == list(picture.CURVES)
    assert f"first wrong: step {first}" in svg


def test_no_picture_without_graphviz_is_a_note_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(picture.shutil, "which", lambda name: None)
    edits = BUGS["exp_forward"].edits
    msg, figures = run_check(mutant(tmp_path, "micrograd", edits), "micrograd", "micrograd.exp",
                             [5])[0]
    assert figures == [] and "no picture of the graph" in msg
    assert msg.splitlines()[0].startswith("`a.exp()` (Value.exp)")


def test_importing_numpy_is_a_policy_violation(tmp_path):
    sub = mutant(tmp_path, "micrograd",
                 {"engine.py": [("import math\n", "import math\nimport numpy\n")]})
    results = grade_path(sub, "micrograd")
    assert {r.status for r in results.values()} == {"policy"}
    assert all("may not import torch or numpy" in r.message and "engine.py:" in r.message
               for r in results.values())


def test_hidden_dynamic_import_of_torch_is_caught_by_the_audit_hook(tmp_path):
    sneaky = ("        t = math.tanh(self.data)\n",
              "        t = float(getattr(__builtins__, '__imp' + 'ort__')('to' + 'rch')"
              ".tanh(__import__('torch').tensor(self.data)))\n")
    sub = mutant(tmp_path, "micrograd", {"engine.py": [sneaky]})
    r = grade_path(sub, "micrograd", only={"micrograd.tanh"})["micrograd.tanh"]
    assert r.status == "policy" and r.points == 0
    assert "torch" in r.message


def test_syntax_error_is_reported_on_the_checks_that_need_the_file(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"nn.py": [("class Module:", "class Module(:")]})
    results = grade_path(sub, "micrograd", only=set(CHECKS) - {"micrograd.train"})
    for cid in ("micrograd.nn_forward", "micrograd.parameters", "micrograd.zero_grad"):
        assert results[cid].status == "import_error" and results[cid].points == 0
        assert "SyntaxError" in results[cid].message and "nn.py" in results[cid].message
    assert results["micrograd.backward"].passed  # engine.py is fine and still graded


def test_syntax_error_in_package_init_fails_every_check_with_the_reason(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"__init__.py": [('"""\n', '"""\ndef f(:\n')]})
    results = grade_path(sub, "micrograd", only=set(CHECKS) - {"micrograd.train"})
    assert {r.status for r in results.values()} == {"import_error"}
    assert all("SyntaxError" in r.message for r in results.values())
