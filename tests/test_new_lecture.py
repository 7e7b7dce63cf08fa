"""README "Add a lecture", followed to the letter: a scratch copy of the repo gets the toy
lecture of tests/fixtures/template_room (room, reference, notebook, hidden check, reproduce,
data with its hash), then `zth build`, `zth selftest`, `zth grade` and `zth reproduce` must all
work on it, and a buggy variant must fail exactly the check it breaks."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.config import ROOT

TEMPLATE = Path(__file__).parent / "fixtures" / "template_room"
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc")


def zth_in(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m grader` with the scratch repo's own grader package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(repo), "ZTH_ISOLATION": "process"}
    env.pop("ZTH_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The recipe's steps, in order, in a scratch copy of the instructor repo."""
    repo = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "grader", repo / "grader", ignore=JUNK)
    for name in ("course.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    # 1. course.yaml: the lecture's entry under `lectures:` (the last top-level key)
    with open(repo / "course.yaml", "a") as f:
        f.write("\n" + (TEMPLATE / "course.yaml").read_text())
    # 2. the room: checks and hidden checks (trusted), probes (sandboxed), reproduce
    shutil.copytree(TEMPLATE / "room", repo / "grader" / "lectures" / "toy")
    # 3. the reference package and the nbgrader notebook
    shutil.copytree(TEMPLATE / "reference", repo / "reference")
    # 4. the data set, with its hash
    data = repo / "grader" / "data" / "toy.txt"
    shutil.copy(TEMPLATE / "data" / "toy.txt", data)
    with open(repo / "grader" / "data" / "SHA256SUMS", "a") as f:
        f.write(f"{hashlib.sha256(data.read_bytes()).hexdigest()}  toy.txt\n")
    # 5. the stubs and the release notebook
    r = zth_in(repo, "build")
    assert r.returncode == 0, r.stderr
    assert "wrote assignments/toy/stats.py" in r.stdout
    return repo


def test_build_turns_the_reference_into_stubs(repo):
    stub = (repo / "assignments" / "toy" / "stats.py").read_text()
    assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
    assert "toy.mean" in stub and "logits.max" not in stub
    nb = repo / "assignments" / "notebooks" / "toy.ipynb"
    if nb.exists():                       # nbgrader installed: the release notebook too
        text = nb.read_text()
        assert "toy.softmax_stable" not in text and "toy.softmax" in text


@pytest.mark.slow
def test_selftest_passes_for_the_new_lecture(repo):
    r = zth_in(repo, "selftest", "--lecture", "toy", "--seed", "4")
    assert r.returncode == 0, r.stderr
    assert "selftest passed" in r.stderr


def test_a_bug_fails_exactly_the_check_it_breaks(repo, tmp_path):
    """(The reference's full marks and the stubs' zero are `zth selftest`'s, below.)"""
    # a softmax without the max subtraction: right on small logits, overflows on large ones
    sub = tmp_path / "sub"
    shutil.copytree(repo / "reference" / "toy", sub / "toy", ignore=JUNK)
    src = (sub / "toy" / "stats.py").read_text()
    naive = src.replace("z = logits - logits.max(dim=-1, keepdim=True).values", "z = logits")
    assert naive != src
    (sub / "toy" / "stats.py").write_text(naive)
    r = zth_in(repo, "grade", str(sub), "--lecture", "toy", "--format", "json", "-q")
    assert r.returncode == 0, r.stderr
    lec = json.loads(r.stdout)["submissions"][0]["lectures"][0]
    checks = {c["id"]: c for c in lec["checks"]}
    assert set(checks) == {"toy.mean", "toy.softmax", "toy.softmax_stable"}
    assert lec["points"] == 5 and lec["max_points"] == 7
    assert [cid for cid, c in checks.items() if c["status"] != "passed"] \
        == ["toy.softmax_stable"]
    assert "tolerance" in checks["toy.softmax_stable"]["message"]


@pytest.mark.slow
def test_reproduce_reads_the_data_by_its_hash(repo):
    r = zth_in(repo, "reproduce", "toy")
    assert r.returncode == 0, r.stderr
    assert "mean of the 4 numbers in toy.txt: 4.0000" in r.stdout
    data = repo / "grader" / "data" / "toy.txt"
    good = data.read_bytes()
    try:
        data.write_bytes(good + b"16\n")
        r = zth_in(repo, "reproduce", "toy")
        assert r.returncode == 1 and "sha256 mismatch" in r.stderr
    finally:
        data.write_bytes(good)
