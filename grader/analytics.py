"""Class analytics: what a batch of students struggles with, from its JSON report.

`zth report RUN.json... --format html` (a batch's report, the shards of one, or `zth merge`'s
JSON) renders one self-contained page: the score histogram of every lecture, the pass rate of
every check (hardest first), each check's most common failure messages (grouped once numbers,
quoted names and paths are replaced by placeholders), the time each check took, and one row per
student linking to that student's own report at `<student>/report.html`. `--format csv` is the
per-check table.

Layout of a folder of reports (what `zth grade DIR --batch --format html --out-dir OUT` and
`zth report RUN.json --out-dir OUT` write):

    OUT/index.html              this page (zth report) / OUT/report.html (zth grade: every student)
    OUT/checks.csv              the per-check table (zth report --format csv)
    OUT/<student>/report.html   one student's report (grader.reports.render_html)

`<student>` is the student id when it is a plain name (letters, digits, `._-@+`), otherwise a
readable stem plus a short hash (`student_dir`), the same on both sides of the link.

The page has no script and loads nothing: CSS and the matplotlib SVG plots are inline, and the
same reports give the same bytes (no dates; matplotlib's SVG ids come from a fixed salt).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote

from .results import Run

FORMATS = {"html": "index.html", "csv": "checks.csv"}
TOP_FAILURES = 3          # message groups shown per check
MESSAGE_CAP = 240         # characters of one message shown
MOST_BARS = 40            # checks in the pass-rate plot (the table has them all)
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# -- grouping failure messages ------------------------------------------------------------------
_NORMALISE = [
    (re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}[/\\]?"), "<path>"),   # file paths
    (re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`"), "'<name>'"),          # quoted names
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])"), "<n>"),
    (re.compile(r"\b(?:nan|inf|NaN|Inf)\b"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def clean(s: str, cap: int = MESSAGE_CAP) -> str:
    """A student-controlled string, printable and capped (escape it for the format after)."""
    s = _CONTROL.sub("", str(s))
    return s if len(s) <= cap else s[:cap - 1] + "…"


def first_line(message: str) -> str:
    for line in (message or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def normalise(message: str) -> str:
    """The shape of a failure message: its first line with numbers, quoted names and paths
    replaced, so that 'max abs error 0.31 at [2, 1]' and '... 1.7e-2 at [0, 4]' group."""
    line = first_line(message)
    for pattern, repl in _NORMALISE:
        line = pattern.sub(repl, line)
    return clean(line.strip())


# -- the statistics -------------------------------------------------------------------------------
@dataclass
class CheckStats:
    lecture: str
    id: str
    title: str
    visibility: str
    max_points: float
    students: int = 0
    passed: int = 0
    points: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)     # (status, shape) -> count
    examples: dict = field(default_factory=dict)           # (status, shape) -> one message
    seconds: list[float] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.students if self.students else 0.0

    @property
    def mean_points(self) -> float:
        return self.points / self.students if self.students else 0.0

    def top_failures(self, n: int = TOP_FAILURES) -> list[tuple[str, str, int, str]]:
        """(status, message shape, count, an example message), most common first."""
        ranked = sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(st, shape, k, self.examples[(st, shape)]) for (st, shape), k in ranked[:n]]


@dataclass
class ClassStats:
    run: Run
    checks: list[CheckStats]            # hardest first
    lectures: list[tuple[str, float]]   # (lecture id, max points) in first-seen order
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> lecture -> pts

    def percents(self, lecture: str, max_points: float) -> list[float]:
        return [100 * by[lecture] / max_points for by in self.scores.values()
                if lecture in by and max_points]


def class_stats(run: Run, order: list[str] = ()) -> ClassStats:
    """Per-check and per-lecture statistics of a batch, checks sorted hardest first (lowest
    pass rate, then most students, then lecture and check id)."""
    stats: dict[str, CheckStats] = {}
    lectures: dict[str, float] = {}
    scores: dict[str, dict[str, float]] = {}
    seconds = _check_seconds(run)
    for sub in run.submissions:
        for lec in sub.lectures:
            lectures[lec.lecture] = max(lectures.get(lec.lecture, 0.0), lec.max_points)
            scores.setdefault(sub.student, {})[lec.lecture] = lec.points
            for c in lec.checks:
                st = stats.setdefault(c.id, CheckStats(lec.lecture, c.id, c.title, c.visibility,
                                                       c.max_points))
                st.students += 1
                st.points += c.points
                st.statuses[c.status] += 1
                if c.passed:
                    st.passed += 1
                else:
                    key = (c.status, normalise(c.message) or c.status)
                    st.failures[key] += 1
                    st.examples.setdefault(key, clean(first_line(c.message)))
                t = seconds.get((sub.student, lec.lecture, c.id))
                if t is not None:
                    st.seconds.append(t)
    rank = {lid: k for k, lid in enumerate(order)}
    ordered = sorted(lectures, key=lambda lid: (rank.get(lid, len(rank)), lid))
    checks = sorted(stats.values(), key=lambda s: (s.pass_rate, -s.students,
                                                  rank.get(s.lecture, len(rank)), s.lecture, s.id))
    return ClassStats(run, checks, [(lid, lectures[lid]) for lid in ordered], scores)


def _check_seconds(run: Run) -> dict[tuple[str, str, str], float]:
    out = {}
    for key, secs in run.timings.items():
        parts = key.rsplit("/", 2)
        if len(parts) == 3 and isinstance(secs, (int, float)):
            out[tuple(parts)] = float(secs)
    return out


# -- CSV ------------------------------------------------------------------------------------------
CSV_COLUMNS = ["rank", "lecture", "check", "title", "visibility", "students", "passed",
               "pass_rate", "mean_points", "max_points", "mean_seconds", "max_seconds",
               "top_failure", "top_failure_students"]


def to_csv(cs: ClassStats) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for k, s in enumerate(cs.checks, 1):
        top = s.top_failures(1)
        w.writerow([k, s.lecture, s.id, clean(s.title), s.visibility, s.students, s.passed,
                    f"{s.pass_rate:.4f}", f"{s.mean_points:.4g}", f"{s.max_points:g}",
                    f"{statistics.fmean(s.seconds):.3f}" if s.seconds else "",
                    f"{max(s.seconds):.3f}" if s.seconds else "",
                    f"{top[0][0]}: {top[0][1]}" if top else "", top[0][2] if top else 0])
    return buf.getvalue()


# -- plots (matplotlib, SVG inlined) --------------------------------------------------------------
def _svg(fig) -> str:
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "zth-analytics", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    return svg[svg.index("<svg"):]          # drop the XML declaration and doctype: inline SVG


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=72)
    return fig


def plot_histograms(cs: ClassStats) -> str:
    lectures = [(lid, m) for lid, m in cs.lectures if cs.percents(lid, m)]
    if not lectures:
        return ""
    cols = min(4, len(lectures))
    rows = -(-len(lectures) // cols)
    fig = _figure(3.2 * cols, 2.4 * rows)
    bins = [10 * k for k in range(11)]
    for k, (lid, m) in enumerate(lectures):
        ax = fig.add_subplot(rows, cols, k + 1)
        pcts = cs.percents(lid, m)
        ax.hist(pcts, bins=bins, color="#4c72b0", edgecolor="white")
        ax.set_title(f"{lid} (n={len(pcts)}, mean {statistics.fmean(pcts):.0f}%)", fontsize=10)
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (% of the lecture)", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return _svg(fig)


def plot_pass_rates(cs: ClassStats) -> str:
    """Bars for the checks some students failed (at most `MOST_BARS`, hardest first); the ones
    everybody passed are only counted in the caption."""
    checks = [s for s in cs.checks if s.pass_rate < 1][:MOST_BARS]
    if not checks:
        return ""
    fig = _figure(7.5, 0.6 + 0.22 * len(checks))
    ax = fig.add_subplot(1, 1, 1)
    ys = list(range(len(checks)))[::-1]          # hardest on top
    rates = [100 * s.pass_rate for s in checks]
    colours = ["#c44e52" if r < 50 else "#dd8452" if r < 80 else "#55a868" for r in rates]
    ax.barh(ys, rates, color=colours)
    ax.set_yticks(ys, [s.id for s in checks], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    for y, r in zip(ys, rates):
        ax.text(r + 1 if r < 90 else r - 1, y, f"{r:.0f}%", va="center", fontsize=7,
                ha="left" if r < 90 else "right")
    rest = cs.checks[len(checks):]
    if rest:
        what = ("passed by everyone" if all(s.pass_rate == 1 for s in rest)
                else "easier ones, see the table")
        ax.set_title(f"the {len(checks)} hardest of {len(cs.checks)} checks (not shown: "
                     f"{len(rest)} {what})", fontsize=9)
    fig.tight_layout()
    return _svg(fig)


def plot_times(cs: ClassStats) -> str:
    every = sorted((s for s in cs.checks if s.seconds), key=lambda s: -statistics.fmean(s.seconds))
    timed = every[:MOST_BARS]             # the slowest; the table below lists every check
    if not timed:
        return ""
    fig = _figure(7.5, 0.6 + 0.22 * len(timed))
    ax = fig.add_subplot(1, 1, 1)
    ys = list(range(len(timed)))[::-1]
    ax.barh(ys, [statistics.fmean(s.seconds) for s in timed], color="#8172b3",
            xerr=[[0] * len(timed), [max(s.seconds) - statistics.fmean(s.seconds)
                                     for s in timed]], ecolor="#999999", capsize=2)
    ax.set_yticks(ys, [s.id for s in timed], fontsize=8)
    ax.set_xlabel("seconds per student (bar: mean, whisker: slowest)", fontsize=9)
    if len(every) > len(timed):
        ax.set_title(f"the {len(timed)} slowest of {len(every)} checks", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return _svg(fig)


# -- the page ------------------------------------------------------------------------------------
def student_dir(student: str) -> str:
    """The folder name of a student's report: the id itself when plain, else a stem + hash."""
    if _SAFE_ID.fullmatch(student) and student not in (".", ".."):
        return student
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._")[:40] or "student"
    return f"{stem}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:72em;
 padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;width:100%} th,td{padding:.3em .6em;
 border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f6f6f6} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.8em;background:#55a868;vertical-align:middle}
.bar.low{background:#c44e52} .bar.mid{background:#dd8452}
.fail{font-size:.9em;color:#444} .fail code{white-space:pre-wrap;word-break:break-word}
.meta{color:#666} .plot svg{max-width:100%;height:auto} .hidden-check{color:#777;font-size:.85em}
ol.failures{margin:0;padding-left:1.2em} #check-table td.fail{width:48%}
#check-table td:nth-child(2){width:24%}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _rate_bar(rate: float) -> str:
    kind = "low" if rate < 0.5 else "mid" if rate < 0.8 else ""
    return f'<span class="bar {kind}" style="width:{round(100 * rate)}px"></span>'


def to_html(cs: ClassStats) -> str:
    from .reports import stamp
    run = cs.run
    n = len(run.submissions)
    totals = [s.points / s.max_points for s in run.submissions if s.max_points]
    out = [f"<h1>How the class is doing: {n} student{'s' * (n != 1)}</h1>",
           f'<p class="meta">{_e(stamp(run))}</p>']
    if totals:
        out.append(f"<p>Mean score {_pct(statistics.fmean(totals))}, median "
                   f"{_pct(statistics.median(totals))}; "
                   f"{sum(t >= 1 for t in totals)} with full marks. Hardest check: "
                   + (f"<code>{_e(cs.checks[0].id)}</code> ({_pct(cs.checks[0].pass_rate)} "
                      "passed)." if cs.checks else "none.") + "</p>")

    out.append('<h2 id="scores">Scores per lecture</h2>')
    out.append(f'<div class="plot">{plot_histograms(cs)}</div>')

    out.append('<h2 id="checks">Pass rate per check (hardest first)</h2>')
    out.append(f'<div class="plot">{plot_pass_rates(cs)}</div>')
    out.append('<table id="check-table"><thead><tr><th class="num">#</th><th>check</th>'
               '<th class="num">passed</th><th class="num">pass rate</th><th></th>'
               '<th class="num">mean points</th><th>most common failures (students)</th>'
               '</tr></thead><tbody>')
    for k, s in enumerate(cs.checks, 1):
        fails = "".join(
            f'<li><b>{st}</b> ({cnt}): <code>{_e(shape)}</code>'
            + (f'<br><span class="meta">e.g. {_e(ex)}</span>' if ex and ex != shape else "")
            + "</li>" for st, shape, cnt, ex in s.top_failures())
        hidden = ' <span class="hidden-check">hidden</span>' if s.visibility != "visible" else ""
        out.append(
            f'<tr class="check" data-check="{_e(s.id)}" data-pass-rate="{s.pass_rate:.4f}">'
            f'<td class="num">{k}</td><td><code>{_e(s.id)}</code>{hidden}<br>'
            f'<span class="meta">{_e(clean(s.title))}</span></td>'
            f'<td class="num">{s.passed}/{s.students}</td>'
            f'<td class="num pass-rate">{_pct(s.pass_rate)}</td><td>{_rate_bar(s.pass_rate)}</td>'
            f'<td class="num">{s.mean_points:.3g}/{s.max_points:g}</td>'
            f'<td class="fail">' + (f'<ol class="failures">{fails}</ol>' if fails else "—")
            + "</td></tr>")
    out.append("</tbody></table>")

    out.append('<h2 id="time">Time per check</h2>')
    times = plot_times(cs)
    if times:
        out.append(f'<div class="plot">{times}</div>')
        out.append('<table id="time-table"><thead><tr><th>check</th><th class="num">students'
                   '</th><th class="num">mean s</th><th class="num">median s</th>'
                   '<th class="num">slowest s</th><th class="num">total s</th></tr></thead>'
                   '<tbody>')
        for s in sorted((s for s in cs.checks if s.seconds),
                        key=lambda s: -statistics.fmean(s.seconds)):
            out.append(f"<tr><td><code>{_e(s.id)}</code></td><td class=\"num\">"
                       f"{len(s.seconds)}</td><td class=\"num\">"
                       f"{statistics.fmean(s.seconds):.2f}</td><td class=\"num\">"
                       f"{statistics.median(s.seconds):.2f}</td><td class=\"num\">"
                       f"{max(s.seconds):.2f}</td><td class=\"num\">{sum(s.seconds):.1f}</td>"
                       "</tr>")
        out.append("</tbody></table>")
    else:
        out.append('<p class="meta">This report has no timings.</p>')

    out.append('<h2 id="students">Students</h2>')
    out.append('<table id="student-table"><thead><tr><th>student</th>'
               + "".join(f'<th class="num">{_e(lid)} (/{m:g})</th>' for lid, m in cs.lectures)
               + '<th class="num">total</th><th class="num">%</th><th>report</th></tr></thead>'
               "<tbody>")
    for sub in sorted(run.submissions, key=lambda s: s.student):
        by = cs.scores.get(sub.student, {})
        link = f"{quote(student_dir(sub.student))}/report.html"
        pct = _pct(sub.points / sub.max_points) if sub.max_points else ""
        out.append(f'<tr class="student"><td>{_e(clean(sub.student, 100))}</td>'
                   + "".join(f'<td class="num">{by[lid]:g}</td>' if lid in by
                             else '<td class="num">—</td>' for lid, _ in cs.lectures)
                   + f'<td class="num">{sub.points:g}/{sub.max_points:g}</td>'
                   f'<td class="num">{pct}</td><td><a href="{_e(link)}">report</a></td></tr>')
    out.append("</tbody></table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>zth class report · {n} students</title>\n<style>{_CSS}</style>\n"
            "</head>\n<body>\n" + "\n".join(out) + "\n</body>\n</html>\n")


def render(fmt: str, cs: ClassStats) -> str:
    if fmt == "html":
        return to_html(cs)
    if fmt == "csv":
        return to_csv(cs)
    raise ValueError(f"unknown format {fmt!r}")


def student_reports(run: Run) -> dict[str, str]:
    """{relative path: HTML} of every student's own report, the layout the page links to."""
    from .reports import render_html
    return {f"{student_dir(sub.student)}/report.html": render_html(sub, run.versions)
            for sub in run.submissions}
