"""Pictures of a student's expression graph (and of a training run's loss), drawn by the
grader (trusted, parent side).

The look is the lecture's `draw_dot`: a record node `{ n5 | data 0.1234 | grad 1.0000 }` per
Value and a small op node (`+`, `*`, `**2`, `tanh`, ...) in front of every value an op made. The
grader draws it from what it already has: its own graph spec, torch's values and gradients,
and the numbers the student's code returned. Wrong values and wrong gradients get their own
colour and the first wrong node (the one the message names) a thick border.

`dot` (graphviz) renders it; without `dot` there is no picture (the check says so) and the
verdict is the same. The SVG is deterministic: same graph and numbers, same bytes (graphviz's
comments, which carry its version, are removed).
"""
from __future__ import annotations

import re
import shutil
import subprocess

WRONG_VALUE = "#f28b82"      # fill of a node whose value is wrong
WRONG_GRAD = "#fdd663"       # fill of a node whose value is right but gradient wrong
RIGHT = "#ffffff"
FIRST = "#1a56db"            # border of the first wrong node
MAX_NODES = 40               # larger graphs: only the neighbourhood of the first wrong node


def _num(x: float) -> str:
    return f"{float(x):.4f}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record(text: str) -> str:
    """Escape the characters that structure a record label."""
    return re.sub(r"([{}|<>])", r"\\\1", text)


def neighbourhood(inputs: list[list[int]], centre: int, hops: int = 2) -> set[int]:
    users: dict[int, list[int]] = {}
    for k, ins in enumerate(inputs):
        for i in ins:
            users.setdefault(i, []).append(k)
    keep, frontier = {centre}, {centre}
    for _ in range(hops):
        frontier = {j for k in frontier for j in (*inputs[k], *users.get(k, ()))} - keep
        keep |= frontier
    return keep


def dot_source(ops: list[str | None], inputs: list[list[int]], got_data, want_data,
               got_grad, want_grad, bad_value: set[int], bad_grad: set[int],
               first: int | None, title: str) -> str:
    """The DOT text of the graph: `ops[k]` is node k's op label (None for a leaf)."""
    n = len(ops)
    keep = set(range(n))
    if n > MAX_NODES and first is not None:
        keep = neighbourhood(inputs, first)
        title += f" (the {len(keep)} nodes around the first wrong one, of {n})"
    lines = ["digraph g {",
             f"  graph [rankdir=LR, label={_quote(title)}, labelloc=t, fontname=Helvetica, "
             "fontsize=11]",
             "  node [fontname=Helvetica, fontsize=10]"]
    for k in sorted(keep):
        data = f"data {_num(got_data[k])}"
        if k in bad_value:
            data += f" (expected {_num(want_data[k])})"
        fields = [f"n{k}" + (" first wrong" if k == first else ""), data]
        if got_grad is not None:
            grad = f"grad {_num(got_grad[k])}"
            if k in bad_grad:
                grad += f" (expected {_num(want_grad[k])})"
            fields.append(grad)
        fill = WRONG_VALUE if k in bad_value else WRONG_GRAD if k in bad_grad else RIGHT
        border = f', color="{FIRST}", penwidth=3' if k == first else ""
        label = "{ " + " | ".join(_record(f) for f in fields) + " }"
        lines.append(f'  n{k} [shape=record, style=filled, fillcolor="{fill}"{border}, '
                     f"label={_quote(label)}]")
        if ops[k] is not None:
            lines.append(f"  n{k}op [label={_quote(ops[k])}]")
            lines.append(f"  n{k}op -> n{k}")
            for i in dict.fromkeys(inputs[k]):
                if i in keep:
                    lines.append(f"  n{i} -> n{k}op")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(source: str) -> str | None:
    """SVG text of a DOT source, or None when graphviz's `dot` is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        svg = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)


CURVES = ("#1a56db", "#d93025")      # expected (torch's replay), yours


def curve_svg(want, got, title: str, first: int | None = None) -> str:
    """A small line chart (hand-written SVG, deterministic): torch's loss per step against the
    student's, with the first diverging step marked."""
    w, h, left, top, right, bottom = 480, 240, 52, 28, 12, 34
    pts = [float(v) for v in (*want, *got) if v == v and abs(float(v)) != float("inf")]
    lo, hi = (min(pts), max(pts)) if pts else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1.0
    n = max(len(want), len(got), 2)

    def xy(i: int, v: float) -> str:
        x = left + (w - left - right) * i / (n - 1)
        y = top + (h - top - bottom) * (hi - v) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    def line(values, colour: str) -> str:
        runs, run = [], []
        for i, v in enumerate(values):
            v = float(v)
            if v == v and abs(v) != float("inf"):
                run.append(xy(i, min(max(v, lo), hi)))
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        return "".join(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{" ".join(r)}"/>' for r in runs if len(r) > 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" font-family="Helvetica" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
             f'<text x="{w / 2:.0f}" y="16" text-anchor="middle">{_xml(title)}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" '
             'stroke="#888888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#888888"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{hi:.3g}</text>',
             f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">{lo:.3g}</text>',
             f'<text x="{left}" y="{h - bottom + 14}">step 0</text>',
             f'<text x="{w - right}" y="{h - bottom + 14}" text-anchor="end">step {n - 1}</text>',
             line(want, CURVES[0]), line(got, CURVES[1])]
    if first is not None and first < len(got) and got[first] == got[first]:
        x, y = xy(first, min(max(float(got[first]), lo), hi)).split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="none" stroke="{FIRST}" '
                     'stroke-width="2"/>')
        parts.append(f'<text x="{x}" y="{float(y) - 8:.1f}" fill="{FIRST}">first wrong: '
                     f"step {first}</text>")
    parts += [f'<text x="{left + 8}" y="{h - 6}" fill="{CURVES[0]}">expected (torch)</text>',
              f'<text x="{left + 120}" y="{h - 6}" fill="{CURVES[1]}">yours</text>', "</svg>"]
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
