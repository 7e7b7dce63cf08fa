"""`zth report`: class analytics from a batch's JSON report. A synthetic batch with planted pass
rates (built from the result model, as `zth grade --batch --format json` writes it) must come
out with those rates, hardest check first, in the CSV and in the page; the slow test renders the
page in headless Chromium and reads the rates back from the DOM."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import zth

from grader.analytics import class_stats, normalise, student_dir, to_html
from grader.config import load_course
from grader.results import CheckResult, LectureResult, Run, SubmissionResult

N = 24
# check id -> how many of the N students pass it (the rest fail it in planted ways)
PLANTED = {"micrograd.backward": 6, "micrograd.tanh": 12, "bigram.nll": 18, "micrograd.ops": 21}


def planted_failure(check: str, k: int) -> tuple[str, str]:
    """(status, message) of student k failing `check`: two message shapes whose numbers and
    names vary per student, and a stub."""
    if k % 3 == 0:
        return "not_implemented", "not implemented yet: fill in the '# YOUR CODE HERE' part"
    if k % 3 == 1:
        return "failed", (f"grad of node 'v{k}' off: max abs error {0.01 * k:.3g} at [{k}, 2] "
                          f"(rtol 1e-06, atol 1e-08)\nhint: accumulate with +=")
    return "failed", f"{check.split('.')[1]} raised ValueError: bad shape ({k}, {k + 1})"


def synthetic_run() -> Run:
    course = load_course()
    subs = []
    timings = {}
    for k in range(N):
        sid = f"s{k:02d}"
        lectures = []
        for lid in ("micrograd", "bigram"):
            lec = course.lecture(lid)
            checks = []
            for cfg in lec.checks:
                passes = k < PLANTED.get(cfg.id, N)
                status, msg = ("passed", "") if passes else planted_failure(cfg.id, k)
                checks.append(CheckResult(cfg.id, cfg.title, cfg.points if passes else 0.0,
                                          cfg.points, status, msg, cfg.visibility, cfg.bonus))
                timings[f"{sid}/{lid}/{cfg.id}"] = 0.05 + 0.01 * (k % 5) + (
                    2.0 if cfg.id == "micrograd.train" else 0.0)
            lectures.append(LectureResult(lid, lec.title, "bubblewrap", checks))
        subs.append(SubmissionResult(sid, f"/subs/{sid}", 1000 + k, lectures))
    return Run(7, {"grader": "test", "course_sha256": "abc", "torch": "x"}, subs, timings)


def planted_order() -> list[tuple[str, float]]:
    return sorted(((c, n / N) for c, n in PLANTED.items()), key=lambda x: x[1])


@pytest.fixture(scope="module")
def report_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("class") / "batch.json"
    from grader.reports import to_json
    path.write_text(to_json(synthetic_run()))
    return path


def test_numbers_and_names_are_normalised_before_grouping():
    a = normalise("grad of node 'v3' off: max abs error 0.031 at [3, 2] (rtol 1e-06)\nhint: x")
    b = normalise("grad of node 'w17' off: max abs error 1.7e-2 at [0, 4] (rtol 1e-06)")
    assert a == b == "grad of node '<name>' off: max abs error <n> at [<n>, <n>] (rtol <n>)"
    assert normalise("File /tmp/zth-x/micrograd/engine.py line 12") == "File <path> line <n>"
    assert normalise("ops failed") != normalise("tanh failed")


def test_planted_pass_rates_come_out_hardest_first():
    stats = class_stats(synthetic_run(), list(load_course().lectures))
    rates = [(s.id, s.pass_rate) for s in stats.checks]
    assert rates[:len(PLANTED)] == planted_order()
    assert all(r == 1.0 for _, r in rates[len(PLANTED):])
    hardest = stats.checks[0]
    groups = hardest.top_failures()
    # 18 failures: 6 stubs, 6 + 6 of two shapes whose numbers differ per student
    assert sorted(k for _, _, k, _ in groups) == [6, 6, 6]
    assert {st for st, _, _, _ in groups} == {"failed", "not_implemented"}
    assert stats.percents("micrograd", stats.lectures[0][1])


def test_csv_has_the_planted_rates_in_order(report_json, tmp_path):
    out = tmp_path / "checks.csv"
    r = zth("report", str(report_json), "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(row["check"], float(row["pass_rate"])) for row in rows[:len(PLANTED)]] \
        == planted_order()
    assert [int(row["rank"]) for row in rows] == list(range(1, len(rows) + 1))
    top = rows[0]
    assert top["students"] == str(N) and top["passed"] == str(PLANTED["micrograd.backward"])
    assert float(top["mean_seconds"]) > 0 and int(top["top_failure_students"]) == 6
    training = next(row for row in rows if row["check"] == "micrograd.train")
    assert float(training["mean_seconds"]) > 2


def test_same_report_gives_the_same_page(report_json):
    from grader.gradebook import load_part
    run = load_part(report_json)
    a, b = to_html(class_stats(run)), to_html(class_stats(load_part(report_json)))
    assert a == b
    # nothing to run, nothing to fetch: no script, no URL but XML namespace names
    assert "<script" not in a and a.count("<svg") == 3
    assert not re.findall(r"https?://", re.sub(r'xmlns(:\w+)?="[^"]*"', "", a))


def test_out_dir_writes_the_page_the_csv_and_each_students_report(report_json, tmp_path):
    r = zth("report", str(report_json), "--format", "html,csv", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "index.html").read_text()
    links = [x for x in re.findall(r'href="([^"]+)"', page) if not x.startswith("#")]
    assert len(links) == N and all(x.endswith("/report.html") for x in links)
    for link in links:
        target = tmp_path / link
        assert target.is_file(), link
        assert "<html" in target.read_text()
    assert (tmp_path / "checks.csv").is_file()


def test_student_folders_are_safe_and_stable():
    assert student_dir("alice") == "alice"
    odd = student_dir("../../etc/passwd")
    assert "/" not in odd and not odd.startswith(".") and odd == student_dir("../../etc/passwd")
    assert student_dir("a b") != student_dir("a_b")


def test_report_usage_errors(tmp_path):
    assert zth("report", str(tmp_path / "none.json")).returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    r = zth("report", str(bad))
    assert r.returncode == 2 and "not a JSON report" in r.stderr
    assert zth("report", str(bad), "--format", "pdf").returncode == 2


class _Rows(HTMLParser):
    """(data-check, pass-rate cell text) of each row of the check table, in page order."""
    def __init__(self):
        super().__init__()
        self.rows, self._in_rate = [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-check" in a:
            self.rows.append([a["data-check"], ""])
        if tag == "td" and "pass-rate" in (a.get("class") or ""):
            self._in_rate = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_rate = False

    def handle_data(self, data):
        if self._in_rate:
            self.rows[-1][1] += data


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="zth-chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": profile})


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_page_renders_in_chromium_with_the_planted_rates(report_json, tmp_path):
    r = zth("report", str(report_json), "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    page = tmp_path / "index.html"
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    parser = _Rows()
    parser.feed(dom.stdout)
    shown = [(c, float(t.strip().rstrip("%")) / 100) for c, t in parser.rows]
    assert shown[:len(PLANTED)] == planted_order()
    assert dom.stdout.count("<svg") == 3          # the plots survived as inline SVG
    shot = tmp_path / "shot.png"
    s = chromium(f"--screenshot={shot}", "--window-size=1200,1600", "--hide-scrollbars",
                 page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 20_000, s.stderr
    if os.environ.get("ZTH_SCREENSHOT"):           # keep it to look at (README picture)
        shutil.copy(shot, os.environ["ZTH_SCREENSHOT"])
    json.loads(report_json.read_text())           # the input is untouched
