"""Batches at scale: `zth grade DIR --batch --shard i/n` then `zth merge` equals one unsharded
run byte for byte (timings aside); a shard reruns alone; parts of different runs are refused."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from conftest import ASSIGNMENTS, REFERENCE, mutant, zth

from grader.gradebook import NBGRADER_COLUMNS

SEED = "7"
FAST = ["--lecture", "micrograd", "--check", "micrograd.ops", "--check", "micrograd.backward",
        "--check", "micrograd.tanh", "--check", "micrograd.parameters"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Five students: full marks, stubs, a bug in tanh, a syntax error, nothing handed in."""
    root = tmp_path_factory.mktemp("batch")
    subs = root / "subs"
    shutil.copytree(REFERENCE / "micrograd", subs / "alice" / "micrograd")
    shutil.copytree(ASSIGNMENTS / "micrograd", subs / "bob" / "micrograd")
    buggy = mutant(root, "micrograd", {"engine.py": [("(1 - t**2) * out.grad", "out.grad")]})
    shutil.copytree(buggy / "micrograd", subs / "carol" / "micrograd")
    shutil.copytree(ASSIGNMENTS / "micrograd", subs / "dave" / "micrograd")
    (subs / "dave" / "micrograd" / "engine.py").write_text("def broken(:\n")
    (subs / "erin").mkdir()
    parts = []
    for i in (1, 2, 3):
        out = root / f"part-{i}.json"
        r = zth("grade", str(subs), "--batch", "--shard", f"{i}/3", "--seed", SEED, "--format",
                "json", "--out", str(out), "-q", *FAST)
        assert r.returncode == 0, r.stderr
        parts.append(out)
    whole = root / "whole.json"
    r = zth("grade", str(subs), "--batch", "--jobs", "2", "--seed", SEED, "--format", "json",
            "--out", str(whole), "-q", *FAST)
    assert r.returncode == 0, r.stderr
    return root, subs, parts, whole


def without_timings(text: str) -> str:
    """The report's text minus its "timings" block (to_json sorts keys, so it is one block)."""
    data = json.loads(text)
    timings = json.dumps(data["timings"], indent=2, sort_keys=True).replace("\n", "\n  ")
    block = f'  "timings": {timings},\n'
    assert block in text or block.rstrip(",\n") + "\n" in text
    return text.replace(block, "").replace(f',\n  "timings": {timings}\n', "\n")


def test_sharded_merge_equals_one_unsharded_run_byte_for_byte(batch, tmp_path):
    _, _, parts, whole = batch
    r = zth("merge", *map(str, parts), "--format", "json", "--out", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    merged, unsharded = (tmp_path / "m.json").read_text(), whole.read_text()
    assert without_timings(merged) == without_timings(unsharded)
    data = json.loads(merged)
    assert [s["student"] for s in data["submissions"]] == ["alice", "bob", "carol", "dave",
                                                           "erin"]
    assert "shard" not in data
    # the shards really split the batch, and each says which shard it is
    shards = [json.loads(p.read_text()) for p in parts]
    assert [len(s["submissions"]) for s in shards] == [2, 2, 1]
    assert [s["shard"] for s in shards] == ["1/3", "2/3", "3/3"]


def test_gradebook_has_one_row_per_student_and_nbgrader_columns(batch, tmp_path):
    _, _, parts, whole = batch
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Liddell,a@x.org\n"
                      "zoe,Zoe,Absent,z@x.org\n")
    r = zth("merge", *map(str, parts), "--format", "csv,nbgrader,markdown", "--out-dir",
            str(tmp_path / "out"), "--roster", str(roster))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    report = json.loads(whole.read_text())
    points = {s["student"]: s["points"] for s in report["submissions"]}
    full = report["submissions"][0]["max_points"]
    assert [row["student_id"] for row in rows] == ["alice", "bob", "carol", "dave", "erin",
                                                   "zoe"]
    for row in rows:
        assert float(row["micrograd"]) == float(row["score"]) == points.get(row["student_id"], 0)
        assert float(row["max_score"]) == full
    assert rows[0]["first_name"] == "Alice" and rows[0]["email"] == "a@x.org"
    assert points["alice"] == full and 0 < points["carol"] < full and points["bob"] == 0
    nb = (tmp_path / "out" / "nbgrader.csv").read_text().splitlines()
    assert nb[0].split(",") == NBGRADER_COLUMNS
    assert nb[1].split(",")[:4] == ["micrograd", "", "", "alice"] and len(nb) == 7
    md = (tmp_path / "out" / "grades.md").read_text()
    assert f"| alice (Alice Liddell) | {full:g} | {full:g} | 100.0 |" in md
    assert f"seed {SEED}" in md and "course.yaml" in md
    # the gradebook of the unsharded run is the same file
    r = zth("merge", str(whole), "--format", "csv", "--roster", str(roster))
    assert r.stdout == (tmp_path / "out" / "grades.csv").read_text()


def test_a_failed_shard_reruns_alone_to_the_same_part(batch, tmp_path):
    _, subs, parts, _ = batch
    again = tmp_path / "part-2.json"
    r = zth("grade", str(subs), "--batch", "--shard", "2/3", "--seed", SEED, "--format", "json",
            "--out", str(again), "-q", *FAST)
    assert r.returncode == 0, r.stderr
    assert without_timings(again.read_text()) == without_timings(parts[1].read_text())


def _refused(*args) -> str:
    r = zth("merge", *map(str, args), "--format", "json")
    assert r.returncode == 2, r.stdout
    return r.stderr


def test_merge_refuses_parts_of_different_runs(batch, tmp_path):
    _, _, parts, _ = batch
    other = json.loads(parts[2].read_text())
    other["seed"] = 8
    (tmp_path / "seed.json").write_text(json.dumps(other))
    assert "different seeds" in _refused(parts[0], parts[1], tmp_path / "seed.json")
    other = json.loads(parts[2].read_text())
    other["versions"]["course_sha256"] = "0" * 16
    (tmp_path / "course.json").write_text(json.dumps(other))
    assert "different course.yaml" in _refused(parts[0], parts[1], tmp_path / "course.json")


def test_merge_refuses_duplicates_and_missing_shards(batch, tmp_path):
    _, _, parts, whole = batch
    assert "both shard 2/3" in _refused(parts[0], parts[1], parts[1], parts[2])
    missing = _refused(parts[0], parts[2])
    assert "2/3" in missing and f"--seed {SEED}" in missing
    r = zth("merge", str(parts[0]), str(parts[2]), "--partial", "--format", "csv")
    assert r.returncode == 0 and "warning" in r.stderr
    dup = json.loads(parts[2].read_text())
    dup["shard"] = None
    dup["submissions"] = json.loads(parts[0].read_text())["submissions"][:1]
    (tmp_path / "dup.json").write_text(json.dumps(dup))
    assert re.search(r"student 'alice' is in both", _refused(whole, tmp_path / "dup.json"))
    (tmp_path / "half.json").write_text(parts[0].read_text()[:200])
    assert "not a JSON report" in _refused(tmp_path / "half.json")


def test_a_symlinked_package_is_never_graded(tmp_path):
    """A batch folder is student-controlled: micrograd -> reference/micrograd must not pass."""
    from grader.config import load_course
    from grader.runner import grade
    (tmp_path / "mallory").mkdir()
    (tmp_path / "mallory" / "micrograd").symlink_to(REFERENCE / "micrograd")
    run = grade(load_course(), tmp_path, ["micrograd"], 1, batch=True, only={"micrograd.ops"})
    [check] = run.submissions[0].lectures[0].checks
    # the snapshot refuses a link out of the submission (grader/snapshot.py)
    assert check.status == "refused" and check.points == 0
    assert "symbolic link" in check.message


def test_class_report_of_the_shards_equals_that_of_the_whole_batch(batch, tmp_path):
    """`zth report` reads the parts of a sharded batch as it reads the unsharded report: the
    same per-check table (timings aside), here with real grading results."""
    _, _, parts, whole = batch
    tables = []
    for name, inputs in (("parts", parts), ("whole", [whole])):
        out = tmp_path / f"{name}.csv"
        r = zth("report", *map(str, inputs), "--format", "csv", "--out", str(out))
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        tables.append([{k: v for k, v in row.items() if "seconds" not in k} for row in rows])
    assert tables[0] == tables[1]
    rows = {row["check"]: row for row in tables[0]}
    # alice passes all four; carol's tanh bug fails tanh only; bob and dave never pass; erin
    # handed nothing in
    assert rows["micrograd.tanh"]["passed"] == "1" and rows["micrograd.ops"]["passed"] == "2"
    assert tables[0][0]["check"] == "micrograd.tanh"       # the hardest check comes first
