"""Reports survive any message (issue 14 item 3) and the HTML report (issue 17).

Hostile messages of our own — terminal escape sequences, rich markup, control characters, lone
surrogates, markup of every report format, 20 MB — go through every format: the table must not
crash or restyle, JUnit must parse as XML, JSON as JSON, Markdown rows must stay one row each,
HTML must carry no element of the student's, and no report of one student passes 1 MB.
"""
from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from io import StringIO

import pytest
from conftest import mutant, zth
from rich.console import Console

from grader import reports, text
from grader.results import CheckResult, LectureResult, Run, SubmissionResult

MB = 1 << 20
HOSTILE = {
    "escapes": "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b[31mred\x1b[0m \x1b(B\x9b5m end",
    "close_tag": "[/]",
    "restyle": "[green]PASS[/]",
    "controls": "NUL\x00 BEL\x07 BS\x08 VT\x0b FF\x0c DEL\x7f C1\x85 tab\tkept",
    "surrogates": "lone \ud800 and \udfff halves",
    "markup": "<script>alert(1)</script> & ]]> <!-- --> ![x](http://e.x/t.png) :smiley:",
    "pipes": "| a | b |\n|---|---|\n| <b>x</b> | y |",
    "bidi": "abc\u202edcba\u2066 \ufffe\uffff",
    "huge": "E" * 20_000_000,
}
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e]")


def hostile_run(student: str = "stu\x1b[31m[/]dent") -> Run:
    checks = [CheckResult(f"micrograd.{k}", f"check {k}", 0, 5, "failed", v)
              for k, v in HOSTILE.items()]
    checks.append(CheckResult("micrograd.honest", "honest", 5, 5, "passed", ""))
    lec = LectureResult("micrograd", "Micrograd", "process", checks,
                        notes=["note \x1b[31m[bold]x[/]"], output="printed\x1b[2J\x00 [/]")
    return Run(7, {"grader": "0", "torch": "x"}, [SubmissionResult(student, "/sub/x", 7, [lec])])


def table_text(run: Run, color: bool) -> str:
    buf = StringIO()
    reports.to_table(run, Console(file=buf, width=100, force_terminal=color,
                                  color_system="truecolor" if color else None))
    return buf.getvalue()


# -- text.clean --------------------------------------------------------------------------------
def test_clean_removes_escape_sequences_whole_and_control_characters():
    assert text.clean(HOSTILE["escapes"]) == "red  end"
    assert text.clean(HOSTILE["controls"]) == "NUL BEL BS VT FF DEL C1 tab\tkept"
    assert text.clean("a\r\nb\rc") == "a\nb\nc"
    assert text.clean(HOSTILE["surrogates"]) == "lone \ufffd and \ufffd halves"
    assert text.clean(HOSTILE["bidi"]) == "abcdcba "
    assert text.clean(b"bytes \xff ok") == "bytes \ufffd ok"
    assert text.clean(None) == ""
    for s in HOSTILE.values():
        c = text.clean(s)
        assert not CONTROL.search(c)
        c.encode("utf-8")                                   # valid UTF-8
        ET.fromstring(f"<m>{text.html(c)}</m>")             # valid XML 1.0 text


def test_clean_caps_length_and_lines_and_counts_what_it_cut():
    rng = random.Random(0)
    for n in (10, 5_000, 20_000, 100_000, 20_000_000):
        s = "".join(rng.choice("abc xyz\n") for _ in range(min(n, 100_000))) * (
            n // min(n, 100_000))
        c = text.clean(s)
        assert len(c) <= text.LIMIT and c.count("\n") < text.LINES
        m = re.search(r"\n… (\d+) characters cut\n", c)
        if len(s) <= text.LIMIT and s.count("\n") < text.LINES:
            assert c == s and not m
            continue
        kept = c[: m.start()] + c[m.end():]
        assert len(kept) + int(m.group(1)) == len(s)         # every character shown or counted
        assert s.startswith(c[: m.start()]) and s.endswith(c[m.end():])


def test_clean_is_idempotent_and_a_smaller_cap_keeps_one_marker():
    rng = random.Random(1)
    alphabet = ["a", "\n", "\x1b", "[", "\x00", "\ud800", "é", "😀", " ", "\x9b", "m"]
    for _ in range(300):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12_000)))
        for limit in (4096, 500, 160):
            c = text.clean(s, limit)
            assert len(c) <= limit and text.clean(c, limit) == c
    big = text.clean("x" * 1_000_000)
    small = text.clean(big, 300)
    assert small.count("characters cut") == 1
    m = re.search(r"… (\d+) characters cut", small)
    assert int(m.group(1)) + len(small) - len(m.group(0)) - 2 == 1_000_000


def test_results_are_cleaned_where_they_are_made():
    r = CheckResult("a.b", "t", 0, 1, "error", HOSTILE["escapes"] + HOSTILE["huge"])
    assert "\x1b" not in r.message and len(r.message) <= text.LIMIT
    again = Run.from_dict(json.loads(json.dumps(Run(1, {}, [SubmissionResult(
        "s", "p", 1, [LectureResult("a", "A", "process", [r])])]).to_dict())))
    assert again.submissions[0].lectures[0].checks[0].message == r.message


# -- every format ------------------------------------------------------------------------------
def test_table_neither_crashes_nor_restyles_nor_passes_escapes_through():
    run = hostile_run()
    plain = table_text(run, color=False)
    assert "[/]" in plain and "[green]PASS[/]" in plain and ":smiley:" in plain
    assert "\x1b" not in plain and "owned" not in plain
    colored = table_text(run, color=True)
    # the only escape sequences are rich's own colours (SGR), none of the student's
    assert len(re.findall(r"\x1b\[[0-9;]*m", colored)) == colored.count("\x1b")
    # exactly one green PASS label: the honest check; the student's "[green]PASS[/]" is text
    assert colored.count("PASS") == 2
    green = re.findall(r"\x1b\[32m(?:\x1b\[[0-9;]*m)*\s*(\w+)", colored)
    assert green == ["PASS"]
    for k in HOSTILE:
        assert f"micrograd.{k}" in plain


def test_junit_is_valid_xml_and_keeps_the_verdicts():
    out = reports.to_junit(hostile_run())
    root = ET.fromstring(out.encode())
    cases = root.findall(".//testcase")
    assert len(cases) == len(HOSTILE) + 1
    assert len(root.findall(".//failure")) == len(HOSTILE)
    restyle = next(c for c in cases if c.get("name") == "micrograd.restyle")
    assert restyle.find("failure").text == "[green]PASS[/]"
    assert not CONTROL.search(out)


def strings_in(x) -> list[str]:
    if isinstance(x, dict):
        return [s for v in x.values() for s in strings_in(v)]
    if isinstance(x, list):
        return [s for v in x for s in strings_in(v)]
    return [x] if isinstance(x, str) else []


def test_json_and_gradescope_hold_clean_strings():
    run = hostile_run()
    for out in (reports.to_json(run), reports.to_gradescope(run)):
        strings = strings_in(json.loads(out))
        assert not any(CONTROL.search(s) for s in strings)
        assert "[green]PASS[/]" in strings


def test_gradescope_shows_messages_as_plain_text():
    data = json.loads(reports.to_gradescope(hostile_run()))
    assert data["output_format"] == "text"
    assert {t["output_format"] for t in data["tests"]} == {"text"}


def test_markdown_rows_stay_rows_and_carry_no_markup_of_the_students():
    md = reports.to_markdown(hostile_run())
    assert "\x1b" not in md and "<script" not in md and "<b>" not in md and "<!--" not in md
    assert "![x]" not in md
    rows = [line for line in md.splitlines() if line.startswith("| `micrograd.")]
    assert len(rows) == len(HOSTILE) + 1
    for row in rows:   # 4 cells: 5 pipes that are not escaped
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row
    assert "## stu\\[/\\]dent" in md


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


def test_html_carries_no_element_or_handler_of_the_students():
    page = reports.to_html(hostile_run())
    p = _Tags()
    p.feed(page)
    assert "script" not in p.tags and "img" not in p.tags and "b" not in p.tags
    assert p.tags.count("style") == 1                      # ours, in <head>
    assert not any(k.startswith("on") for k, _ in p.attrs)
    body = "".join(p.text)
    assert "<script>alert(1)</script>" in body and "[green]PASS[/]" in body
    assert not CONTROL.search(page)
    # the pipe rows became a diff table
    assert '<table class="diff"><thead><tr><th>a</th><th>b</th></tr></thead>' in page
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page


def test_every_format_stays_under_1_mb_per_student():
    """The worst case per character for every format (escaped '&', astral characters in
    ASCII-escaped JSON, long lines) in every check of every lecture, plus a 20 MB message."""
    from grader.config import load_course
    course = load_course()
    worst = {"amp": "&<>\"'|" * 700, "astral": "😀" * 4096, "lines": "x\n" * 2048,
             "huge": HOSTILE["huge"]}
    kinds = list(worst)
    lectures = []
    for lid, lec in course.lectures.items():
        lectures.append(LectureResult(lid, lec.title, "process", [
            CheckResult(c.id, c.title, 0, c.points, "error", worst[kinds[k % len(kinds)]])
            for k, c in enumerate(lec.checks)], output="o" * 5000))
    run = Run(1, {"grader": "0"}, [SubmissionResult("s", "/p", 1, lectures)])
    assert sum(len(lec.checks) for lec in lectures) >= 100
    sizes = {fmt: len(render(run).encode()) for fmt, render in reports.RENDER.items()}
    sizes["table"] = len(table_text(run, color=True).encode())
    assert max(sizes.values()) < MB, sizes
    sizes["html1"] = len(reports.render_html(run.submissions[0], run.versions).encode())
    assert sizes["html1"] < MB


def test_html_is_deterministic_and_survives_a_json_round_trip():
    run = hostile_run("alice")
    a = reports.to_html(run)
    again = Run.from_dict(json.loads(reports.to_json(run)))
    assert a == reports.to_html(run) == reports.to_html(again)
    assert "zth grade /sub/x --lecture micrograd --seed 7" in a
    assert not re.search(r"20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d", a)


def test_the_comparisons_a_message_states_become_a_diff_table():
    msg = ("`a * b` (Value.__mul__) passes a wrong gradient: first wrong gradient in backward "
           "order at n5 = n2 * n0 (got 0.111, expected 0.074), which only n8 uses\n"
           "graph of a * b, gradients: 5 of 10 values outside tolerance (rtol=1e-09, "
           "atol=1e-12); worst at leaf n1: got -2.36, expected -1.8 (abs err 0.562, rel err "
           "0.312)\ntokens: 1 of 9 entries differ; first at index 4: got 'ab', expected 'a'")
    assert reports.diff_rows(msg) == [
        ("`a * b` (Value.__mul__) passes a wrong gradient", "first wrong gradient in backward "
         "order", "n5 = n2 * n0", "0.111", "0.074", "", ""),
        ("graph of a * b, gradients", "worst", "leaf n1", "-2.36", "-1.8", "0.562", "0.312"),
        ("tokens", "first", "index 4", "'ab'", "'a'", "", "")]
    run = hostile_run("carol")
    run.submissions[0].lectures[0].checks[0].message = msg
    page = reports.to_html(run)
    table = page[page.index('<table class="diff"><thead><tr><th>compared</th>'):]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 4 and "<td>leaf n1</td><td>-2.36</td><td>-1.8</td>" in table
    assert reports.diff_rows("no comparison here; got it? expected so") == []


def test_figures_are_inlined_defused():
    svg = ('<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
           '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
           '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           'width="100pt" height="50pt" onload="alert(1)"><script>alert(2)</script>'
           '<style>body{display:none}</style><g id="node1" class="node"><title>n1</title>'
           '<polygon fill="#ffd966" stroke="black" points="0,0 10,0 10,10"/>'
           '<text x="5" y="5">n1 &lt;b&gt;</text></g>'
           '<a xlink:href="javascript:alert(3)"><rect width="5" height="5" fill="url(#g)"/></a>'
           '<foreignObject><div>x</div></foreignObject>'
           '<image href="http://evil.example/x.png"/><use xlink:href="#node1"/></svg>')
    run = hostile_run("bob")
    run.submissions[0].lectures[0].checks[0].figures = [{"name": "graph <1>", "svg": svg}]
    page = reports.to_html(run)
    p = _Tags()
    p.feed(page)
    assert {"svg", "polygon", "text", "rect", "use"} <= set(p.tags)
    assert not {"script", "foreignobject", "image", "a", "div"} & set(p.tags)
    assert p.tags.count("style") == 1
    assert not any(k.startswith("on") for k, _ in p.attrs)
    assert not any("javascript" in v or "evil" in v for _, v in p.attrs)
    assert 'fill="#ffd966"' in page and 'xlink:href="#node1"' in page
    assert "<figcaption>graph &lt;1&gt;</figcaption>" in page
    # unparsable or oversized: a caption, no picture
    assert reports.safe_svg("<svg><g></svg>") is None
    assert reports.safe_svg("<svg>" + "<g>" * 5000 + "</g>" * 5000 + "</svg>") is None
    assert reports.safe_svg("<svg>" + " " * reports.FIGURE_LIMIT + "</svg>") is None


# -- end to end: a student's hostile exception through the worker and every format -------------
def test_a_hostile_student_beside_an_honest_one_in_a_batch(tmp_path):
    """A student's exception and printed output carry escape sequences, markup of every format
    and 20 MB: the batch exits 0, the honest student keeps full marks, every report parses, and
    neither student's reports pass 1 MB."""
    raise_it = ("raise ValueError('\\x1b[2J\\x1b]0;owned\\x07[/] [green]PASS[/] \\x00\\x07 "
                "<script>x</script> | y |\\ud800' + 'A' * 20_000_000)")
    hostile = mutant(tmp_path / "h", "micrograd", {"engine.py": [(
        "        out = Value(self.data + other.data, (self, other), '+')",
        "        " + raise_it)]})
    init = hostile / "micrograd" / "__init__.py"
    init.write_text(init.read_text() + "print('\\x1b[2J\\x1b]0;owned\\x07 [/] \\x00' * 5000)\n")
    batch = tmp_path / "batch"
    shutil.copytree(hostile, batch / "mallory")
    shutil.copytree(mutant(tmp_path / "o", "micrograd", {}), batch / "alice")
    out = tmp_path / "out"
    r = zth("grade", str(batch), "--batch", "--check", "micrograd.ops", "--check",
            "micrograd.tanh", "--seed", "3", "--format", ",".join(reports.FORMATS),
            "--out-dir", str(out), "-q")
    assert r.returncode == 0, r.stderr
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
             if p.is_file()}
    assert {"report.txt", "report.json", "junit.xml", "results.json", "report.md",
            "report.html"} <= set(files)
    # two students: every combined report under 2 MB, each student's own page under 1 MB
    assert all(len(b) < 2 * MB for b in files.values()), {k: len(v) for k, v in files.items()}
    for student in ("alice", "mallory"):           # the batch's per-student pages
        assert len(files[f"{student}/report.html"]) < MB
    subs = {s["student"]: s for s in json.loads(files["report.json"])["submissions"]}
    assert subs["alice"]["points"] == subs["alice"]["max_points"] > 0
    ops = subs["mallory"]["lectures"][0]["checks"][0]
    assert ops["status"] == "error" and ops["points"] == 0
    # where it was raised (our words), then the student's message, cleaned
    assert re.match(r"In [\w.]+ \(micrograd/\w+\.py:\d+\): ValueError: \[/\] \[green\]PASS"
                    r"\[/\]  <script>x</script> \| y \|\ufffdA", ops["message"]), \
        ops["message"][:300]
    assert re.search(r"… \d+ characters cut", ops["message"])
    output = subs["mallory"]["lectures"][0]["output"]
    assert "[/]" in output and not CONTROL.search(output)
    assert not any(CONTROL.search(x) for x in strings_in(subs))
    ET.fromstring(files["junit.xml"])
    json.loads(files["results.json"])
    for name, data in files.items():   # (the source line in the traceback shows "\\x1b" text)
        assert b"\x1b" not in data and b"\x07" not in data and b"\x00" not in data, name
    assert b"<script>" not in files["report.html"] and b"<script>" not in files["report.md"]


# -- the HTML report in a real browser (slow: grades the whole lecture) ----------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-quic", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.needs("chromium", "graphviz")
def test_html_report_of_a_planted_bug_renders_in_chromium(tmp_path):
    sub = mutant(tmp_path, "micrograd", {"engine.py": [
        ("            self.grad += other.data * out.grad",
         "            self.grad += other.data * out.grad * 1.5")]})
    out = tmp_path / "out"
    r = zth("grade", str(sub), "--lecture", "micrograd", "--seed", "11", "--format",
            "html,json", "--out-dir", str(out), "-q")
    assert r.returncode == 0, r.stderr
    checks = json.loads((out / "report.json").read_text())["submissions"][0]["lectures"][0][
        "checks"]
    backward = next(c for c in checks if c["id"] == "micrograd.backward")
    assert backward["status"] == "failed" and backward["figures"]
    page = out / "report.html"
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    p = _Tags()
    p.feed(html)
    assert 'class="verdicts"' in html and 'id="sub-micrograd-micrograd.backward"' in html
    assert re.search(r'<tr class="failed[^"]*" id="sub-micrograd-micrograd\.backward">', html)
    assert '<table class="diff">' in html                     # the comparisons, as a table
    assert "svg" in p.tags and "<figure>" in html           # the planted bug's graph, inline
    # ... drawn with the wrong-gradient nodes in their colour and the first one outlined
    from grader.lectures.micrograd.picture import FIRST, WRONG_GRAD
    figure = html[html.index('<tr class="figures">'):]
    figure = figure[: figure.index("</svg>")]
    assert f'fill="{WRONG_GRAD}"' in figure and f'stroke="{FIRST}"' in figure
    assert f"zth grade {sub} --lecture micrograd --seed 11" in html
    assert "script" not in p.tags
    shot = tmp_path / "shot.png"
    s = chromium("--hide-scrollbars", "--window-size=1280,1600", f"--screenshot={shot}",
                 page.as_uri())
    assert s.returncode == 0 and shot.stat().st_size > 20_000
