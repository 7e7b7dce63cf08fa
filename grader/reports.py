"""Views of a `Run`: terminal table (rich), JSON, JUnit XML, Gradescope results.json, Markdown,
and one self-contained HTML page per submission.

Every view renders `bounded(run)`: a copy in which each string that may hold the student's text
went through `text.clean` (control characters and escape sequences gone, length capped), and
the messages of one submission together fit a budget, so that no report of one student grows
past about 1 MB whatever the student's code raised or printed. Each view then escapes for its
own format: rich `Text` (never markup) for the table, ElementTree for JUnit, `text.markdown`
for Markdown, `html.escape` for HTML.

Diff tables: message lines that begin and end with `|` (Markdown's pipe-table rows, optionally
with a `|---|---|` separator after the header row) are drawn as a table in the HTML report.
"""
from __future__ import annotations

import copy
import json
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import replace

from . import text
from .results import CheckResult, LectureResult, Run, SubmissionResult

FORMATS = {"table": None, "json": "report.json", "junit": "junit.xml",
           "gradescope": "results.json", "markdown": "report.md", "html": "report.html"}
LABELS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "missing": "MISSING",
          "error": "ERROR", "timeout": "TIMEOUT", "crashed": "CRASH", "policy": "POLICY",
          "import_error": "IMPORT", "bad_reply": "BAD REPLY", "no_package": "NO PACKAGE",
          "not_graded": "NOT GRADED", "refused": "REFUSED"}

# one submission's messages together: characters and lines (the worst case per character is
# 12 bytes, an astral character in ASCII-escaped JSON; a line is one table row, ~200 bytes)
MESSAGE_BUDGET = 48_000
LINE_BUDGET = 2_000
NAME_LIMIT = 200        # student ids, paths, notes' lines
OUTPUT_LIMIT = 2_000    # the worker's stdout tail kept with each lecture
FIGURE_LIMIT = 256_000  # bytes of one figure's SVG, and 384 kB of figures per submission
FIGURES_PER_SUBMISSION = 384_000
TABLE_LIMIT, TABLE_LINES = 1_500, 30   # one message in the terminal table


def _pts(x: float) -> str:
    return f"{x:g}"


def stamp(run: Run) -> str:
    """The version stamp every report carries: enough to replay and to compare runs."""
    v = run.versions
    return (f"seed {run.seed} · grader {v.get('grader')} · course.yaml {v.get('course_sha256')} "
            f"· torch {v.get('torch')}")


# -- bounding: one place where every student string is cleaned and the budget applied --------
def _cap(sizes: list[int], total: int) -> int:
    """The largest cap c with sum(min(s, c)) <= total (water-filling: short ones keep theirs)."""
    if sum(sizes) <= total:
        return max(sizes, default=0)
    left, n = total, len(sizes)
    for k, s in enumerate(sorted(sizes)):
        if s * (n - k) > left:
            return left // (n - k)
        left -= s
    return max(sizes, default=0)


def bounded_submission(sub: SubmissionResult) -> SubmissionResult:
    """A copy of `sub` whose student-controlled strings are clean and within the budget."""
    checks = [c for lec in sub.lectures for c in lec.checks]
    msgs = [text.clean(c.message) for c in checks]
    limit = _cap([len(m) for m in msgs], MESSAGE_BUDGET)
    lines = _cap([m.count("\n") + 1 for m in msgs], LINE_BUDGET)
    clean = {id(c): text.clean(m, limit=limit, lines=lines) for c, m in zip(checks, msgs)}
    figure_bytes = 0

    def figures(c: CheckResult) -> list[dict]:
        nonlocal figure_bytes
        out = []
        for f in c.figures if type(c.figures) is list else []:
            if type(f) is not dict:
                continue
            name = text.one_line(f.get("name", "figure"), NAME_LIMIT)
            svg = f.get("svg") if type(f.get("svg")) is str else ""
            if len(svg) > FIGURE_LIMIT or figure_bytes + len(svg) > FIGURES_PER_SUBMISSION:
                out.append({"name": f"{name} (not shown: {len(svg)} bytes of SVG, over the "
                            "report's limit)", "svg": ""})
                continue
            figure_bytes += len(svg)
            out.append({"name": name, "svg": svg})
        return out

    lectures = []
    for lec in sub.lectures:
        lectures.append(LectureResult(
            lec.lecture, text.one_line(lec.title, NAME_LIMIT), text.one_line(lec.isolation),
            [replace(c, message=clean[id(c)], title=text.one_line(c.title, NAME_LIMIT),
                     figures=figures(c)) for c in lec.checks],
            [text.clean(n, limit=1000, lines=12) for n in lec.notes],
            text.clean(lec.output, limit=OUTPUT_LIMIT, lines=40)))
    return SubmissionResult(text.one_line(sub.student, NAME_LIMIT),
                            text.one_line(sub.path, NAME_LIMIT * 2), sub.seed, lectures)


def bounded(run: Run) -> Run:
    out = copy.copy(run)
    out.submissions = [bounded_submission(s) for s in run.submissions]
    return out


# -- JSON ---------------------------------------------------------------------------------------
def to_json(run: Run, timings: bool = True) -> str:
    return json.dumps(bounded(run).to_dict(timings), indent=2, sort_keys=True) + "\n"


# -- terminal table -----------------------------------------------------------------------------
def to_table(run: Run, console=None, verbose: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    console = console or Console()
    run = bounded(run)
    for sub in run.submissions:
        for lec in sub.lectures:
            secs = run.timings.get(f"{sub.student}/{lec.lecture}")
            t = Table(title=Text(f"{sub.student} · {lec.lecture}: {lec.title}"),
                      caption=Text(f"{_pts(lec.points)}/{_pts(lec.max_points)} points · "
                                   f"isolation: {lec.isolation}"
                                   + (f" · {secs:.1f} s" if secs else "")),
                      show_lines=False, expand=False)
            t.add_column("check")
            t.add_column("result")
            t.add_column("points", justify="right")
            t.add_column("details", overflow="fold", max_width=90)
            for c in lec.checks:
                style = "green" if c.passed else ("yellow" if c.status in (
                    "not_implemented", "not_graded") else "red")
                # the terminal gets a shorter view than the files (which keep 4 kB)
                detail = (text.clean(c.message, limit=TABLE_LIMIT, lines=TABLE_LINES)
                          if (verbose or not c.passed) else "")
                t.add_row(Text(c.id + (" (bonus)" if c.bonus else "")),
                          Text(LABELS.get(c.status, c.status), style=style),
                          Text(f"{_pts(c.points)}/{_pts(c.max_points)}"), Text(detail))
            console.print(t)
            for n in lec.notes:
                console.print(Text(f"note: {n}", style="dim"))
    console.print(f"[bold]total {_pts(run.points)}/{_pts(run.max_points)}[/] · seed {run.seed} "
                  f"(replay with --seed {run.seed})")
    console.print(Text(stamp(run), style="dim"))


# -- JUnit --------------------------------------------------------------------------------------
def to_junit(run: Run) -> str:
    run = bounded(run)
    suites = ET.Element("testsuites", name="zth", tests=str(_count(run)))
    for sub in run.submissions:
        for lec in sub.lectures:
            failures = sum(c.status == "failed" for c in lec.checks)
            errors = sum(not c.passed and c.status != "failed" for c in lec.checks)
            suite = ET.SubElement(suites, "testsuite", name=f"{sub.student}.{lec.lecture}",
                                  tests=str(len(lec.checks)), failures=str(failures),
                                  errors=str(errors))
            props = ET.SubElement(suite, "properties")
            for key, value in [("seed", sub.seed), *sorted(run.versions.items())]:
                ET.SubElement(props, "property", name=key, value=text.one_line(value))
            for c in lec.checks:
                secs = run.timings.get(f"{sub.student}/{lec.lecture}/{c.id}", 0)
                case = ET.SubElement(suite, "testcase", classname=f"{sub.student}.{lec.lecture}",
                                     name=c.id, time=f"{secs:.3f}")
                if not c.passed:
                    tag = "failure" if c.status == "failed" else "error"
                    el = ET.SubElement(case, tag, type=c.status,
                                       message=text.one_line(c.message) or c.status)
                    el.text = c.message
                ET.SubElement(case, "system-out").text = (
                    f"{_pts(c.points)}/{_pts(c.max_points)} points")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _count(run: Run) -> int:
    return sum(len(lec.checks) for s in run.submissions for lec in s.lectures)


# -- Gradescope ---------------------------------------------------------------------------------
def to_gradescope(run: Run) -> str:
    """Gradescope's results.json for one submission (the first, if several were graded)."""
    tests = []
    sub = bounded_submission(run.submissions[0]) if run.submissions else None
    for lec in sub.lectures if sub else []:
        for c in lec.checks:
            tests.append({"name": f"{c.id}: {c.title}", "score": c.points,
                          "max_score": c.max_points,
                          "status": "passed" if c.passed else "failed",
                          "output": c.message or LABELS.get(c.status, c.status),
                          "output_format": "text",   # never HTML/Markdown: it is the student's
                          "visibility": ("visible" if c.visibility == "visible"
                                         else "after_published")})
    out = {"score": sub.points if sub else 0.0, "max_score": sub.max_points if sub else 0.0,
           "tests": tests, "output": f"{stamp(run)} · isolation "
           f"{sub.lectures[0].isolation if sub and sub.lectures else 'n/a'}",
           "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden"}
    return json.dumps(out, indent=2) + "\n"


# -- Markdown -----------------------------------------------------------------------------------
def to_markdown(run: Run) -> str:
    run = bounded(run)
    lines = []
    for sub in run.submissions:
        lines.append(f"## {text.markdown(sub.student)}: {_pts(sub.points)}/"
                     f"{_pts(sub.max_points)} points\n")
        for lec in sub.lectures:
            lines.append(f"### {lec.lecture}: {_pts(lec.points)}/{_pts(lec.max_points)} "
                         f"(isolation: {text.markdown(lec.isolation)})\n")
            lines.append("| check | result | points | details |")
            lines.append("|---|---|---:|---|")
            for c in lec.checks:
                icon = "✅" if c.passed else "❌"
                lines.append(f"| `{c.id}` | {icon} {LABELS.get(c.status, c.status)} | "
                             f"{_pts(c.points)}/{_pts(c.max_points)} | "
                             f"{text.markdown(c.message)} |")
            lines.append("")
    lines.append("S" + stamp(run)[1:])
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------
_CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --todo: #9a6700; --ink: #1f2328; --dim: #59636e;
        --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 24px 28px 48px; max-width: 1180px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 6px; }
.score { font-variant-numeric: tabular-nums; }
.meta, .stamp { color: var(--dim); font-size: 13px; margin: 2px 0; }
.replay { display: block; background: var(--soft); border: 1px solid var(--line);
          border-radius: 6px; padding: 8px 12px; margin: 10px 0 4px; font-size: 13.5px;
          overflow-x: auto; white-space: pre; }
code, pre, .replay { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table.verdicts { border-collapse: collapse; width: 100%; margin-top: 8px; table-layout: fixed; }
col.check { width: 24%; } col.result { width: 96px; } col.points { width: 72px; }
table.verdicts > thead th { text-align: left; font-size: 13px; color: var(--dim);
          border-bottom: 2px solid var(--line); padding: 6px 8px; }
table.verdicts > tbody > tr > td { border-bottom: 1px solid var(--line); padding: 7px 8px;
          vertical-align: top; }
td.check { overflow-wrap: anywhere; } td.points { text-align: right; white-space: nowrap; }
td.check .title { display: block; color: var(--dim); font-size: 12.5px; white-space: normal; }
.badge { display: inline-block; min-width: 58px; text-align: center; font-weight: 600;
         font-size: 12px; border-radius: 10px; padding: 1px 8px; color: #fff; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
.badge.todo { background: var(--todo); } .badge.skip { background: var(--dim); }
.tag { font-size: 11px; color: var(--dim); border: 1px solid var(--line); border-radius: 8px;
       padding: 0 6px; margin-left: 4px; }
pre.msg { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
tr.passed pre.msg { color: var(--dim); }
table.diff { border-collapse: collapse; margin: 6px 0; font-size: 12.5px; }
table.diff th, table.diff td { border: 1px solid var(--line); padding: 2px 8px;
         font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table.diff th { background: var(--soft); text-align: left; }
table.diff { display: block; overflow-x: auto; max-width: 100%; }
table.diff td:first-child { font-family: inherit; color: var(--dim); }
table.diff td:not(:first-child) { white-space: nowrap; }
tr.figures > td { padding: 0 8px 10px; border-bottom: 1px solid var(--line); }
tr.has-figures > td { border-bottom: none !important; }
figure { margin: 4px 0 6px; overflow-x: auto; border: 1px solid var(--line); border-radius: 6px;
         background: #fff; }
figcaption { font-size: 12.5px; color: var(--dim); padding: 4px 8px;
             border-bottom: 1px solid var(--line); background: var(--soft); }
figure svg { display: block; max-width: none; height: auto; margin: 6px; zoom: 0.8; }
details { margin-top: 10px; } summary { cursor: pointer; color: var(--dim); font-size: 13px; }
details pre { background: var(--soft); padding: 8px; font-size: 12.5px; white-space: pre-wrap; }
""".strip()
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_SEP = re.compile(r"^\s*\|(\s*:?-{2,}:?\s*\|)+\s*$")


def _badge(status: str) -> str:
    kind = ("pass" if status == "passed" else "todo" if status == "not_implemented"
            else "skip" if status == "not_graded" else "fail")
    return f'<span class="badge {kind}">{text.html(LABELS.get(status, status))}</span>'


def _cells(row: str) -> list[str]:
    body = row.strip()[1:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


_VALUE = r"""(?:'[^'\n]*'|"[^"\n]*"|[^\s,;()]+)"""
_DIFF = re.compile(
    r"(?P<kind>first wrong[\w ]{0,40}?|first|worst) at (?P<where>[^\n]{1,120}?)"
    rf"(?:: got (?P<got>{_VALUE}), expected (?P<exp>{_VALUE})"
    r"(?: \(abs err (?P<abs>[^,()\n]+), rel err (?P<rel>[^()\n]+)\))?"
    rf"| \(got (?P<got2>{_VALUE}), expected (?P<exp2>{_VALUE})\))")


def diff_rows(message: str) -> list[tuple[str, ...]]:
    """(what, which, where, got, expected, abs err, rel err) for each "first wrong ... at X:
    got A, expected B" / "worst at X: got A, expected B (abs err E, rel err R)" of a message:
    the comparisons the checks' messages state, drawn as a table in the HTML report."""
    rows = []
    for line in message.split("\n"):
        for m in _DIFF.finditer(line):
            what = line[: m.start()].split(": ")[0].rstrip(" :;,")
            what = what if len(what) <= 70 else what[:69] + "…"
            rows.append((what, m["kind"], m["where"], m["got"] or m["got2"],
                         m["exp"] or m["exp2"], m["abs"] or "", m["rel"] or ""))
    return rows


def _diff_table(rows: list[tuple[str, ...]]) -> str:
    errs = any(r[5] or r[6] for r in rows)
    head = ["compared", "which", "where", "got", "expected", *(("abs err", "rel err") if errs
                                                                else ())]
    body = "".join("<tr>" + "".join(f"<td>{text.html(c)}</td>" for c in r[: len(head)])
                   + "</tr>" for r in rows)
    return ('<table class="diff"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table>")


def _message_html(message: str) -> str:
    """The message as escaped preformatted text, its pipe-table blocks as tables, and a table
    of the comparisons it states (first wrong / worst: where, got, expected)."""
    out, plain, rows = [], [], []

    def flush_plain():
        if plain:
            out.append(f'<pre class="msg">{text.html(chr(10).join(plain))}</pre>')
            plain.clear()

    def flush_rows():
        if len(rows) < 2:
            plain.extend(rows)
        else:
            flush_plain()
            head = None
            if len(rows) > 2 and _SEP.match(rows[1]):
                head, body = rows[0], rows[2:]
            else:
                body = [r for r in rows if not _SEP.match(r)]
            html = ['<table class="diff">']
            if head is not None:
                html.append("<thead><tr>" + "".join(f"<th>{text.html(c)}</th>"
                                                    for c in _cells(head)) + "</tr></thead>")
            html.append("<tbody>" + "".join(
                "<tr>" + "".join(f"<td>{text.html(c)}</td>" for c in _cells(r)) + "</tr>"
                for r in body) + "</tbody></table>")
            out.append("".join(html))
        rows.clear()

    for line in message.split("\n"):
        if _ROW.match(line):
            rows.append(line)
            continue
        flush_rows()
        plain.append(line)
    flush_rows()
    flush_plain()
    rows = diff_rows(message)
    if rows:
        out.append(_diff_table(rows[:20]))
    return "".join(out)


def replay_command(sub: SubmissionResult) -> str:
    """The command that grades this submission again with the same seed (same report)."""
    lectures = "".join(f" --lecture {shlex.quote(lec.lecture)}" for lec in sub.lectures)
    return f"zth grade {shlex.quote(sub.path)}{lectures} --seed {sub.seed}"


def _submission_html(sub: SubmissionResult, versions: dict, level: int = 1) -> str:
    h, h2 = f"h{level}", f"h{level + 1}"
    parts = [f'<section class="submission" id="{text.html(_anchor(sub.student))}">',
             f'<{h}>{text.html(sub.student)} <span class="score">{_pts(sub.points)}/'
             f'{_pts(sub.max_points)} points</span></{h}>',
             '<p class="meta">Replay this report exactly (same seed, same inputs):</p>',
             f'<code class="replay">{text.html(replay_command(sub))}</code>']
    if versions:
        v = versions
        parts.append(f'<p class="stamp">seed {sub.seed} · grader {text.html(str(v.get("grader")))}'
                     f' · course.yaml {text.html(str(v.get("course_sha256")))} · torch '
                     f'{text.html(str(v.get("torch")))}</p>')
    for lec in sub.lectures:
        parts.append(f'<{h2} id="{text.html(_anchor(sub.student, lec.lecture))}">'
                     f'{text.html(lec.lecture)}: {text.html(lec.title)} <span class="score">'
                     f'{_pts(lec.points)}/{_pts(lec.max_points)}</span></{h2}>')
        parts.append(f'<p class="meta">isolation: {text.html(lec.isolation)}</p>')
        parts.append('<table class="verdicts"><colgroup><col class="check"><col class="result">'
                     '<col class="points"><col class="details"></colgroup><thead><tr>'
                     '<th>check</th><th>result</th><th>points</th><th>details</th></tr></thead>'
                     '<tbody>')
        for c in lec.checks:
            tags = "".join(f'<span class="tag">{t}</span>' for t, on in
                           (("bonus", c.bonus), ("hidden", c.visibility != "visible")) if on)
            figs = "".join(_figure_html(f) for f in c.figures)
            row = f"{c.status} has-figures" if figs else c.status
            parts.append(
                f'<tr class="{text.html(row)}" id="{text.html(_anchor(sub.student, c.id))}">'
                f'<td class="check"><code>{text.html(c.id)}</code>{tags}'
                f'<span class="title">{text.html(c.title)}</span></td>'
                f'<td class="result">{_badge(c.status)}</td>'
                f'<td class="points">{_pts(c.points)}/{_pts(c.max_points)}</td>'
                f'<td class="details">{_message_html(c.message)}</td></tr>')
            if figs:   # the pictures get the table's whole width (graphs are wide)
                parts.append(f'<tr class="figures"><td colspan="4">{figs}</td></tr>')
        parts.append("</tbody></table>")
        for n in lec.notes:
            parts.append(f'<p class="meta">note: {text.html(n)}</p>')
        if lec.output.strip():
            parts.append(f"<details><summary>what your code printed (last lines)</summary>"
                         f"<pre>{text.html(lec.output)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p) for p in parts)


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{text.html(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def render_html(sub: SubmissionResult, versions: dict | None = None) -> str:
    """One submission's self-contained HTML report: no script, no network (CSS and figures
    inline), the same bytes for the same seed (no dates, no timings)."""
    sub = bounded_submission(sub)
    return _document(f"zth report · {sub.student}", _submission_html(sub, versions or {}))


def to_html(run: Run) -> str:
    """The run as one page: a single submission's report, or each submission's in turn."""
    if len(run.submissions) == 1:
        return render_html(run.submissions[0], run.versions)
    body = [f"<h1>zth report · {_pts(run.points)}/{_pts(run.max_points)} points</h1>",
            f'<p class="stamp">{text.html(stamp(run))}</p>']
    body += [_submission_html(bounded_submission(s), run.versions, level=2)
             for s in run.submissions]
    return _document("zth report", "\n".join(body))


# -- inline SVG, defused ------------------------------------------------------------------------
_SVG_NS = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}"
_XML = "{http://www.w3.org/XML/1998/namespace}"
_SVG_TAGS = {"svg", "g", "defs", "title", "desc", "path", "rect", "circle", "ellipse", "line",
             "polyline", "polygon", "text", "tspan", "textPath", "marker", "linearGradient",
             "radialGradient", "stop", "clipPath", "mask", "pattern", "symbol", "use"}
_BAD_VALUE = re.compile(r"javascript:|expression\(|@import|url\(\s*['\"]?\s*[^#'\"\s]",
                        re.IGNORECASE)


def safe_svg(svg: str) -> str | None:
    """The figure's SVG re-serialised with SVG drawing elements only: no script, style sheet,
    foreign object, event handler, external reference or entity survives. None if unparsable."""
    if not svg or len(svg) > FIGURE_LIMIT:
        return None
    try:
        root = ET.fromstring(svg)
    except (ET.ParseError, ValueError):
        return None
    if _local(root.tag) != "svg":
        return None
    out: list[str] = []
    try:
        _emit(root, out)
    except RecursionError:   # nested past any drawing's need
        return None
    return "".join(out)


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    if tag.startswith(_SVG_NS):
        return tag[len(_SVG_NS):]
    return "" if tag.startswith("{") else tag


def _emit(el, out: list[str]) -> None:
    name = _local(el.tag)
    if name == "a":
        name = "g"        # graphviz wraps linked nodes in <a>: keep the drawing, not the link
    if name not in _SVG_TAGS:
        out.append(text.html(el.tail or ""))
        return
    attrs = []
    for key, value in el.attrib.items():
        if key.startswith(_XLINK):
            key = "xlink:" + key[len(_XLINK):]
        elif key.startswith(_XML):
            key = "xml:" + key[len(_XML):]
        elif key.startswith("{"):
            continue
        low = key.lower()
        if low.startswith("on") or _BAD_VALUE.search(value):
            continue
        if low in ("href", "xlink:href") and not value.startswith("#"):
            continue
        attrs.append(f' {key}="{text.html(text.scrub(value))}"')
    out.append(f"<{name}{''.join(attrs)}>")
    out.append(text.html(text.scrub(el.text or "")))
    for child in el:
        _emit(child, out)
    out.append(f"</{name}>")
    out.append(text.html(text.scrub(el.tail or "")))


def _figure_html(fig: dict) -> str:
    svg = safe_svg(fig.get("svg", ""))
    name = text.html(fig.get("name", "figure"))
    if svg is None:
        return f'<figure class="missing"><figcaption>{name}</figcaption></figure>'
    return f'<figure><figcaption>{name}</figcaption>{svg}</figure>'


RENDER = {"json": to_json, "junit": to_junit, "gradescope": to_gradescope,
          "markdown": to_markdown, "html": to_html}
