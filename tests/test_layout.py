"""Where a submission's packages are: the same finder for `zth grade`, `--batch` and Gradescope
(tests/test_gradescope.py), working on the snapshot of the submission."""
from __future__ import annotations

import json
import re
import shutil

from conftest import ASSIGNMENTS, REFERENCE, zth

from grader.config import load_course
from grader.finder import MAX_DIRS, locate

FAST = ["--lecture", "micrograd", "--check", "micrograd.ops", "--check", "micrograd.backward"]


def test_a_github_classroom_clone_grades_in_a_batch_and_alone(tmp_path):
    subs = tmp_path / "subs"
    # alice: `gh classroom clone` gives her repo, with assignments/micrograd/ inside
    shutil.copytree(REFERENCE / "micrograd", subs / "alice" / "assignments" / "micrograd")
    (subs / "alice" / "README.md").write_text("my repo\n")
    # bob: the package at the top, as before
    shutil.copytree(REFERENCE / "micrograd", subs / "bob" / "micrograd")
    # carol: a zip unpacked one level deeper, stubs
    shutil.copytree(ASSIGNMENTS / "micrograd",
                    subs / "carol" / "carol-repo-main" / "assignments" / "micrograd")
    reports = tmp_path / "reports"
    r = zth("grade", str(subs), "--batch", "--seed", "3", "--format", "json,html", "--out-dir",
            str(reports), "-q", *FAST)
    assert r.returncode == 0, r.stderr
    out = reports / "report.json"
    by = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert by["alice"]["points"] == by["alice"]["max_points"] == by["bob"]["points"] > 0
    assert by["alice"]["path"].endswith("alice/assignments")
    assert by["carol"]["points"] == 0 and by["carol"]["path"].endswith("assignments")
    statuses = {c["status"] for c in by["carol"]["lectures"][0]["checks"]}
    assert statuses == {"not_implemented"}        # found and graded, not "no package"
    # the class page links to each student's report that the batch wrote beside it
    r = zth("report", str(out), "--out", str(reports / "index.html"))
    assert r.returncode == 0, r.stderr
    links = re.findall(r'href="([^"#]+)"', (reports / "index.html").read_text())
    assert sorted(links) == [f"{sid}/report.html" for sid in ("alice", "bob", "carol")]
    assert all("micrograd.ops" in (reports / link).read_text() for link in links)
    r = zth("grade", str(subs / "alice"), "--seed", "3", "--format", "json", "-q",
            "--check", "micrograd.ops")
    assert r.returncode == 0, r.stderr
    sub = json.loads(r.stdout)["submissions"][0]
    assert sub["student"] == "alice" and sub["points"] == sub["max_points"] > 0


def test_the_finder_prefers_the_shallowest_real_folder(tmp_path):
    course = load_course()
    assert locate(tmp_path, course) is None
    deep = tmp_path / "a" / "b" / "c" / "d" / "micrograd"
    deep.mkdir(parents=True)
    assert locate(tmp_path, course) is None              # 4 folders down: too deep
    (tmp_path / "repo" / "assignments" / "micrograd").mkdir(parents=True)
    (tmp_path / "repo" / "assignments" / "bigram").mkdir()
    (tmp_path / "old" / "micrograd").mkdir(parents=True)
    # two candidates at depth 2 and 1: the shallower wins
    assert locate(tmp_path, course) == tmp_path / "old"
    shutil.rmtree(tmp_path / "old")
    assert locate(tmp_path, course) == tmp_path / "repo" / "assignments"
    # asked for bigram only: the folder with bigram/
    assert locate(tmp_path, course, ["bigram"]) == tmp_path / "repo" / "assignments"
    # a link named micrograd/ never counts, nor does a hidden folder
    link_root = tmp_path / "links"
    link_root.mkdir()
    (link_root / "micrograd").symlink_to(REFERENCE / "micrograd")
    (link_root / ".hidden" / "micrograd").mkdir(parents=True)
    assert locate(link_root, course) is None


def test_the_finder_gives_up_on_a_huge_tree(tmp_path):
    course = load_course()
    for k in range(MAX_DIRS + 1):
        (tmp_path / f"d{k:05d}").mkdir()
    (tmp_path / f"d{MAX_DIRS:05d}" / "micrograd").mkdir()
    assert locate(tmp_path, course) is None
