"""Feedback pages that read well offline: maths as plain text, long lines wrapped.

`nbgrader generate_feedback` renders the autograded notebook with nbconvert's classic HTML
template, which leaves `$f$` for MathJax from a CDN (a student reading the page offline, or a
browser that blocks it, sees raw TeX), and prints each output line on one line of a `<pre>` box
(the grader's failure messages run past the box's edge). `ZthFeedback`, after nbgrader's
CSSHTMLHeaderPreprocessor in `GenerateFeedback.preprocessors`:

- rewrites the maths of every markdown cell as readable Unicode text (`$\\frac{d}{dn}\\tanh^2 n$` →
  `d/dn tanh² n`), in a `<span class="zth-math">`, leaving code spans and code blocks alone;
- adds CSS that wraps every `<pre>` (outputs and code) inside its box.

Pure functions (`plain_maths`, `latex_text`) are tested without nbgrader.
"""
from __future__ import annotations

import html
import re

CSS = """
/* zth: wrap long lines inside their box (grader verdicts, tracebacks, code) */
div.output_area pre, div.output_subarea pre, div.output_text pre, div.input_area pre,
div.highlight pre, .output pre, pre {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  word-break: normal;
}
div.output_subarea, div.output_area, div.input_area, div.inner_cell, div.text_cell_render {
  min-width: 0;
}
/* zth: pictures (draw_dot graphs, plots) scale down to the page */
div.output_area img, div.output_area svg, div.output_subarea img, div.output_subarea svg {
  max-width: 100%;
  height: auto;
}
/* zth: maths written as text (no MathJax, no network) */
.zth-math { font-family: "STIX Two Math", "Cambria Math", "DejaVu Serif", serif; }
div.zth-math { text-align: center; margin: 0.5em 0; }
"""

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω", "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "le": "≤",
    "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼",
    "equiv": "≡", "propto": "∝", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "mapsto": "↦", "infty": "∞", "sum": "Σ", "prod": "Π", "int": "∫",
    "partial": "∂", "nabla": "∇", "in": "∈", "notin": "∉", "subset": "⊂", "cup": "∪",
    "cap": "∩", "forall": "∀", "exists": "∃", "ldots": "…", "dots": "…", "cdots": "⋯",
    "odot": "⊙", "otimes": "⊗", "circ": "∘", "mid": "|", "lvert": "|", "rvert": "|",
    "lVert": "‖", "rVert": "‖", "langle": "⟨", "rangle": "⟩", "top": "ᵀ", "prime": "′",
    "{": "{", "}": "}", "%": "%", "_": "_", "&": "&", "#": "#", "$": "$",
    ",": " ", ";": " ", ":": " ", "quad": "  ", "qquad": "   ", "!": "", " ": " ",
    "left": "", "right": "", "big": "", "Big": "", "bigg": "", "Bigg": "", "displaystyle": "",
}
# names written as themselves (upright function names)
NAMES = {"log", "ln", "exp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "max", "min", "arg",
         "argmax", "argmin", "softmax", "det", "lim", "sup", "inf", "Pr", "mean", "relu"}
WRAPPERS = {"mathrm", "text", "textrm", "textit", "textbf", "mathit", "mathbf", "mathsf",
            "mathtt", "operatorname", "boldsymbol", "mathcal", "mathbb", "emph", "mbox"}
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}
SUPER = dict(zip("0123456789+-=()niTtkx", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵗᵏˣ"))
SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


def _group(s: str, i: int) -> tuple[str, int]:
    """The argument starting at s[i]: a {braced group}, a \\command or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth, j = 0, i
        while j < len(s):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if s[j] == "\\":
                j += 1
            elif depth == 0:
                return s[i + 1:j], j + 1
            j += 1
        return s[i + 1:], len(s)
    if s[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", s[i:])
        return m.group(0), i + len(m.group(0))
    return s[i], i + 1


def _script(text: str, table: dict[str, str], mark: str) -> str:
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{mark}{text}" if len(text) == 1 else f"{mark}({text})"


def _paren(text: str) -> str:
    return text if re.fullmatch(r"[\w.·′ᵀ⁰-⁹₀-₉√]+|\([^()]*\)", text) else f"({text})"


def latex_text(tex: str) -> str:
    """TeX maths as readable Unicode text (a reader's rendering, not a typesetter's)."""
    out: list[str] = []
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            if m is None:
                i += 1
                continue
            name = m.group(1)
            i += len(m.group(0))
            if name == "frac" or name in ("dfrac", "tfrac"):
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                out.append(f"{_paren(latex_text(num))}/{_paren(latex_text(den))}")
                if i < len(tex) and (tex[i] == "\\" or tex[i].isalnum()):
                    out.append(" ")
            elif name == "sqrt":
                arg, i = _group(tex, i)
                out.append("√" + _paren(latex_text(arg)))
            elif name in WRAPPERS:
                arg, i = _group(tex, i)
                out.append(latex_text(arg) if name.startswith("math") or name in (
                    "operatorname", "boldsymbol") else arg)
            elif name in ACCENTS:
                arg, i = _group(tex, i)
                out.append(latex_text(arg) + ACCENTS[name])
            elif name in SYMBOLS:
                out.append(SYMBOLS[name])
            elif name in NAMES:
                out.append(name + ("" if i < len(tex) and tex[i] in "({[^_" else " "))
            else:
                out.append(name)
        elif c in "^_":
            arg, i = _group(tex, i + 1)
            out.append(_script(latex_text(arg), SUPER if c == "^" else SUB, c))
        elif c in "{}":
            i += 1
        elif c == "~":
            out.append(" ")
            i += 1
        else:
            out.append(c)
            i += 1
    return re.sub(r" {2,}", " ", "".join(out)).strip()


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_DISPLAY = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?![\w$])")
_ENV = re.compile(r"\\begin\{(equation|align|gather)\*?\}(.+?)\\end\{\1\*?\}", re.S)


def plain_maths(markdown: str) -> str:
    """The markdown with each `$..$`, `$$..$$` and equation environment as Unicode text."""
    def span(m):
        return f'<span class="zth-math">{html.escape(latex_text(m.group(1)))}</span>'

    def block(m):
        tex = m.group(m.lastindex)
        lines = [latex_text(line) for line in re.split(r"\\\\", tex.replace("&", ""))]
        return "\n\n<div class=\"zth-math\">" + "<br>".join(
            html.escape(line) for line in lines if line) + "</div>\n\n"

    parts = _CODE.split(markdown)
    for k in range(0, len(parts), 2):       # even parts: text; odd parts: code, left alone
        text = _ENV.sub(block, parts[k])
        text = _DISPLAY.sub(block, text)
        parts[k] = _INLINE.sub(span, text)
    return "".join(parts)


try:
    from nbgrader.preprocessors import NbGraderPreprocessor
except ImportError:  # pure functions above work without nbgrader
    NbGraderPreprocessor = object  # type: ignore[assignment,misc]


class ZthFeedback(NbGraderPreprocessor):
    """Plain-text maths in markdown cells and wrapping CSS, for `nbgrader generate_feedback`."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = plain_maths(cell.source)
        resources.setdefault("inlining", {}).setdefault("css", []).append(CSS)
        return nb, resources
