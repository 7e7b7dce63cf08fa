"""The CLI contract of DESIGN.md: formats, --out/--out-dir, seeds, exit codes, selftest."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import ASSIGNMENTS, REFERENCE, zth

from grader.config import load_course

FAST = ["--check", "micrograd.ops", "--check", "micrograd.backward", "--check",
        "micrograd.parameters"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    r = zth("grade", str(REFERENCE), "--lecture", "micrograd", "--seed", "7", "--format",
            "table,json,junit,gradescope,markdown", "--out-dir", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return out


def test_all_formats_render_the_same_run(reports):
    data = json.loads((reports / "report.json").read_text())
    checks = data["submissions"][0]["lectures"][0]["checks"]
    total = data["submissions"][0]["points"]
    assert total == data["submissions"][0]["max_points"] > 0
    assert data["seed"] == 7
    assert {"grader", "course_sha256", "torch", "python"} <= set(data["versions"])
    junit = ET.parse(reports / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in checks]
    assert not junit.findall(".//failure") and not junit.findall(".//error")
    md = (reports / "report.md").read_text()
    assert all(f"`{c['id']}`" in md for c in checks) and f"{total:g}/{total:g}" in md
    txt = (reports / "report.txt").read_text()
    assert all(c["id"] in txt for c in checks) and "seed 7" in txt
    gs = json.loads((reports / "results.json").read_text())
    assert gs["score"] == total


def test_gradescope_json_has_the_spec_fields(reports):
    gs = json.loads((reports / "results.json").read_text())
    assert isinstance(gs["score"], (int, float)) and isinstance(gs["max_score"], (int, float))
    assert gs["tests"]
    for t in gs["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "visibility", "status"}
        assert t["status"] in ("passed", "failed")
        assert t["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert isinstance(t["name"], str) and isinstance(t["output"], str)
    assert sum(t["score"] for t in gs["tests"]) == gs["score"]


def test_same_seed_gives_byte_identical_json_without_timings(tmp_path):
    outs = []
    for k in range(2):
        f = tmp_path / f"r{k}.json"
        r = zth("grade", str(REFERENCE), "--lecture", "micrograd", "--seed", "99", "--format",
                "json", "--out", str(f), "-q", *FAST)
        assert r.returncode == 0, r.stderr
        d = json.loads(f.read_text())
        assert d.pop("timings")
        outs.append(json.dumps(d, sort_keys=True, indent=2))
    assert outs[0] == outs[1]


def test_same_seed_same_failure_messages_for_a_stub(tmp_path):
    a = zth("grade", str(ASSIGNMENTS), "--lecture", "micrograd", "--seed", "3", "--format",
            "markdown", "-q")
    b = zth("grade", str(ASSIGNMENTS), "--lecture", "micrograd", "--seed", "3", "--format",
            "markdown", "-q")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and "TODO" in a.stdout


def test_exit_codes(tmp_path):
    assert zth("grade", str(tmp_path / "nope")).returncode == 2
    assert zth("grade", str(REFERENCE), "--format", "xml").returncode == 2
    assert zth("grade", str(REFERENCE), "--lecture", "nolecture").returncode == 2
    assert zth("grade", str(REFERENCE), "--format", "json,junit").returncode == 2  # needs --out-dir
    empty = tmp_path / "empty"
    empty.mkdir()
    r = zth("grade", str(empty))
    assert r.returncode == 2 and "no lecture package found" in r.stderr
    r = zth("grade", str(ASSIGNMENTS), "--lecture", "micrograd", "--fail-under", "50", "-q",
            "--format", "json", "--out", str(tmp_path / "x.json"))
    assert r.returncode == 3 and "below --fail-under" in r.stderr
    assert json.loads((tmp_path / "x.json").read_text())["submissions"]


def test_one_format_goes_to_stdout_and_table_is_default():
    r = zth("grade", str(ASSIGNMENTS), "--lecture", "micrograd", "--format", "junit", "-q")
    assert r.returncode == 0 and r.stdout.startswith("<?xml")
    r = zth("check", "micrograd", "--path", str(ASSIGNMENTS), "--seed", "1")
    assert r.returncode == 0
    total = sum(c.points for c in load_course().lecture("micrograd").checks)
    assert "micrograd.backward" in r.stdout and "TODO" in r.stdout and f"0/{total:g}" in r.stdout


@pytest.mark.slow
def test_selftest_passes_for_micrograd():
    r = zth("selftest", "--lecture", "micrograd", "--seed", "5")
    assert r.returncode == 0, r.stderr
    assert "selftest passed" in r.stderr


def test_isolation_layer_is_named_in_every_report(tmp_path):
    r = zth("grade", str(REFERENCE), "--lecture", "micrograd", "--format", "json", "-q",
            "--isolation", "process", *FAST)
    lec = json.loads(r.stdout)["submissions"][0]["lectures"][0]
    assert lec["isolation"] == "process"
    assert lec["points"] == lec["max_points"] == sum(c["max_points"] for c in lec["checks"])


def test_verdicts_stream_to_stderr_when_piped_and_the_report_keeps_course_order(tmp_path):
    """Piped (CI logs, `| tee`): a plain line per check on stderr as it is decided, the report
    alone on stdout; a batch names the student on each line; -q streams nothing."""
    course = load_course()
    ids = [c.id for c in course.lecture("micrograd").checks if c.id in FAST[1::2]]
    r = zth("grade", str(REFERENCE), "--lecture", "micrograd", "--seed", "3", "--format", "json",
            *FAST)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(("PASS", "FAIL", "TODO"))]
    assert [ln.split()[1] for ln in lines] == ids
    assert all(ln.split()[0] == "PASS" for ln in lines)
    report = json.loads(r.stdout)              # nothing but the report on stdout
    assert [c["id"] for c in report["submissions"][0]["lectures"][0]["checks"]] == ids
    batch = tmp_path / "class"
    for student, src in (("ada", REFERENCE), ("bo", ASSIGNMENTS)):
        shutil.copytree(src / "micrograd", batch / student / "micrograd")
    b = zth("grade", str(batch), "--batch", "--jobs", "2", "--lecture", "micrograd", "--format",
            "json", *FAST)
    assert b.returncode == 0, b.stderr
    streamed = sorted(ln.split()[:2] for ln in b.stderr.splitlines()
                      if ln.startswith(("PASS", "TODO")))
    assert streamed == sorted([["PASS", "ada:"]] * len(ids) + [["TODO", "bo:"]] * len(ids))
    quiet = zth("grade", str(REFERENCE), "--lecture", "micrograd", "--format", "json", "-q", *FAST)
    assert quiet.stderr == ""
