"""The submission snapshot (grader/snapshot.py): one bounded private copy, regular files only,
taken before anything reads the student's tree; whatever a submission holds costs that
submission a status (`refused`, naming the path and the bound), never the run."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REFERENCE, ROOT

from grader import runner
from grader.config import load_course
from grader.snapshot import Bounds, Refused, snapshot

LIMITS = load_course().limits


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Snapshots go here, so the test sees anything left behind."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def package(root: Path, name: str = "micrograd") -> Path:
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .engine import Value\n")
    (pkg / "engine.py").write_text("class Value:\n    pass\n")
    return pkg


def tree(root: Path) -> dict[str, bytes | str | None]:
    """Folders -> None, regular files -> bytes, anything else -> what it is (never opened)."""
    def what(p: Path):
        if p.is_symlink():
            return f"link to {os.readlink(p)}"
        return None if p.is_dir() else p.read_bytes() if p.is_file() else "special"
    return {p.relative_to(root).as_posix(): what(p) for p in sorted(root.rglob("*"))}


def test_copies_files_and_inner_links_and_leaves_tool_folders_out(tmp_path, private_tmp):
    sub = tmp_path / "sub"
    pkg = package(sub)
    (pkg / "data").mkdir()
    (pkg / "data" / "names.txt").write_bytes(b"emma\nolivia\n" * 100)
    os.symlink("engine.py", pkg / "alias.py")                         # inside: copied as a file
    os.symlink("../micrograd/data/names.txt", pkg / "names.txt")
    (sub / ".git").mkdir()
    os.mkfifo(sub / ".git" / "fifo")                                  # never opened: left out
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"\0" * 10)
    (pkg / "stale.pyc").write_bytes(b"\0")
    venv = sub / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.symlink("/usr/bin/python3", venv / "bin" / "python")          # a venv: left out
    before = tree(sub)
    with snapshot(sub, LIMITS) as snap:
        got = tree(snap.root)
        assert not any((snap.root / p).is_symlink() for p in got)
        assert oct(snap.root.parent.stat().st_mode & 0o777) == oct(0o700)
        assert sorted(snap.left_out) == [".git", "env", "micrograd/__pycache__",
                                         "micrograd/stale.pyc"]
    want = {k: v for k, v in before.items()
            if not k.startswith((".git", "env", "micrograd/__pycache__")) and k[-4:] != ".pyc"}
    assert want["micrograd/alias.py"] == "link to engine.py"
    want["micrograd/alias.py"] = (pkg / "engine.py").read_bytes()
    want["micrograd/names.txt"] = (pkg / "data" / "names.txt").read_bytes()
    assert got == want
    assert snap.files == 5 and snap.bytes == sum(len(v) for v in want.values() if v)
    assert tree(sub) == before                     # the student's tree is never written
    assert os.listdir(private_tmp) == []           # close() removed the copy


def _fifo(pkg):
    os.mkfifo(pkg / "pipe.py")


def _socket(pkg):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(pkg / "s"))
    s.close()


def _deep(pkg, n=600):
    d = pkg
    for _ in range(n):
        d = d / "d"
    d.mkdir(parents=True)


def _long_path(pkg):
    """20 folders of 250 characters: within the depth bound, past PATH_MAX (built by fds)."""
    fds = [os.open(pkg, os.O_RDONLY)]
    for _ in range(20):
        os.mkdir("x" * 250, dir_fd=fds[-1])
        fds.append(os.open("x" * 250, os.O_RDONLY, dir_fd=fds[-1]))
    for fd in fds:
        os.close(fd)


REFUSALS = {
    "fifo": (_fifo, "micrograd/pipe.py is a named pipe"),
    "socket": (_socket, "micrograd/s is a socket"),
    "link_to_dev_zero": (lambda p: os.symlink("/dev/zero", p / "zero.py"),
                         "micrograd/zero.py is a symbolic link leaving the submission"),
    "link_out_relative": (lambda p: os.symlink("../../secret.txt", p / "s.txt"),
                          "micrograd/s.txt is a symbolic link leaving the submission"),
    "link_to_etc": (lambda p: os.symlink("/etc/passwd", p / "p"), "leaving the submission"),
    "link_to_folder": (lambda p: os.symlink(".", p / "again"), "a symbolic link to a folder"),
    "dangling_link": (lambda p: os.symlink("nowhere.py", p / "n.py"), "does not exist"),
    "link_to_fifo": (lambda p: (os.mkfifo(p / "f"), os.symlink("f", p / "l.py")),
                     "micrograd/l.py is a symbolic link to a named pipe"),
    "folder_600_deep": (_deep, "nested 33 folders deep; the limit is 32 (submission_depth)"),
    "path_past_path_max": (_long_path, "its path is too long to copy"),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_special_files_outward_links_and_deep_folders_are_refused_fast(tmp_path, private_tmp,
                                                                      name):
    make, says = REFUSALS[name]
    (tmp_path / "secret.txt").write_text("the reference solution")
    sub = tmp_path / "sub"
    make(package(sub))
    t0 = time.perf_counter()
    with pytest.raises(Refused) as e:
        snapshot(sub, LIMITS)
    assert says in str(e.value)
    assert time.perf_counter() - t0 < 5
    assert os.listdir(private_tmp) == []


SMALL = Bounds(depth=3, entries=10, file_bytes=1000, total_bytes=2500)


def _at(kind: str, n: int):
    def make(sub: Path):
        pkg = package(sub)                     # 3 entries
        have = sum(f.stat().st_size for f in pkg.iterdir())
        if kind == "depth":
            _deep(pkg, n - 1)
        elif kind == "entries":
            for i in range(n - 3):
                (pkg / f"f{i}").write_text("")
        elif kind == "file":
            (pkg / "big").write_bytes(b"x" * n)
        else:
            for i in range(3):
                (pkg / f"part{i}").write_bytes(b"x" * ((n - have) // 3 + (i < (n - have) % 3)))
    return make


@pytest.mark.parametrize("kind,cap,key", [("depth", 3, "submission_depth"),
                                          ("entries", 10, "submission_files"),
                                          ("file", 1000, "submission_file_mb"),
                                          ("total", 2500, "submission_mb")])
def test_each_bound_admits_the_cap_and_refuses_one_past_it(tmp_path, private_tmp, kind, cap, key):
    _at(kind, cap)(tmp_path / "at")
    with snapshot(tmp_path / "at", SMALL) as snap:
        assert tree(snap.root) == tree(tmp_path / "at")     # the oracle: the tree itself
    _at(kind, cap + 1)(tmp_path / "past")
    with pytest.raises(Refused, match=key):
        snapshot(tmp_path / "past", SMALL)
    assert os.listdir(private_tmp) == []


# one past each default bound, in a fresh process: refused within seconds, in bounded memory
PAST_DEFAULTS = """
import os, resource, sys, time
from pathlib import Path
from grader.config import load_course
from grader.snapshot import Refused, snapshot
lim = load_course().limits
sub = Path(sys.argv[1]) / sys.argv[2]
pkg = sub / "micrograd"
pkg.mkdir(parents=True)
if sys.argv[2] == "file":
    with open(pkg / "big.bin", "wb") as f:
        f.truncate((lim.submission_file_mb << 20) + 1)          # sparse: costs no disk
elif sys.argv[2] == "total":
    n = lim.submission_mb // lim.submission_file_mb + 1
    for i in range(n):
        with open(pkg / f"part{i}.bin", "wb") as f:
            f.truncate(lim.submission_file_mb << 20)
elif sys.argv[2] == "entries":
    for i in range(lim.submission_files):
        (pkg / f"f{i}.txt").write_bytes(b"")
else:
    d = pkg
    for _ in range(lim.submission_depth):
        d = d / "d"
    d.mkdir(parents=True)
t0 = time.perf_counter()
try:
    snapshot(sub, lim)
    print("accepted")
except Refused as e:
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big pytest starts "big"
    hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
    print(round(time.perf_counter() - t0, 2), hwm // 1024, e)
"""


@pytest.mark.parametrize("kind,key", [("file", "submission_file_mb"), ("total", "submission_mb"),
                                      ("entries", "submission_files"),
                                      ("depth", "submission_depth")])
def test_one_past_each_default_bound_is_refused_in_seconds_and_bounded_memory(tmp_path, kind,
                                                                              key):
    r = subprocess.run([sys.executable, "-c", PAST_DEFAULTS, str(tmp_path), kind], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
    secs, rss_mb, reason = r.stdout.split(" ", 2)
    assert key in reason
    assert float(secs) < 10 and int(rss_mb) < 300, r.stdout
    assert [p for p in os.listdir(tmp_path) if p.startswith("zth-")] == []


def test_a_grader_failure_on_one_submission_is_its_status_not_the_runs(tmp_path, monkeypatch,
                                                                      private_tmp):
    batch = tmp_path / "batch"
    shutil.copytree(REFERENCE / "micrograd", batch / "a-honest" / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REFERENCE / "micrograd", batch / "b-boom" / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    real = runner.start_worker

    def start_worker(course, lid, path, layer):
        if "zth-snap-" in str(path) and (path / "micrograd" / "BOOM").exists():
            raise OSError(28, "No space left on device")
        return real(course, lid, path, layer)
    (batch / "b-boom" / "micrograd" / "BOOM").write_text("")
    monkeypatch.setattr(runner, "start_worker", start_worker)
    run = runner.grade(load_course(), batch, ["micrograd"], seed=3, batch=True, jobs=1,
                       isolation="process", only={"micrograd.ops"})
    got = {s.student: s.lectures[0].checks[0] for s in run.submissions}
    assert (got["a-honest"].status, got["a-honest"].points) == ("passed", 10)
    assert got["b-boom"].status == "error" and "No space left on device" in got["b-boom"].message
    assert "not your fault" in got["b-boom"].message
    assert os.listdir(private_tmp) == []     # snapshots and worker folders, failure or not


# -- end to end: `zth grade --batch`, hostile trees beside an honest student ----------------------
def _file(rel: str, text: str):
    def make(pkg: Path):
        (pkg / rel).write_text(text)
    return make


def _sparse(size: int, name: str = "big.bin"):
    def make(pkg: Path):
        with open(pkg / name, "wb") as f:
            f.truncate(size)
    return make


def _many(pkg: Path):
    for i in range(LIMITS.submission_files):
        (pkg / f"f{i}.txt").write_bytes(b"")


HOSTILE_TREES = {
    "fifo": (_fifo, "micrograd/pipe.py is a named pipe"),
    "link_to_dev_zero": (REFUSALS["link_to_dev_zero"][0], "leaving the submission"),
    "link_out": (lambda p: os.symlink(str(REFERENCE / "micrograd" / "engine.py"), p / "r.py"),
                 "leaving the submission"),
    "folder_600_deep": (_deep, "(submission_depth)"),
    # never imported, so only the policy scan (micrograd forbids torch/numpy) reads them
    "expression_200k_deep": (_file("deep.py", "x = " + "-" * 200_000 + "1\n"),
                             "micrograd/deep.py is nested too deeply for the policy scan"),
    "parentheses_200k_deep": (_file("parens.py", "x = " + "(" * 200_000 + ")" * 200_000),
                              "(scan_kb)"),
    "operator_chain_200k": (_file("chain.py", "x = " + "a+" * 100_000 + "a\n"),
                            "micrograd/chain.py is nested too deeply for the policy scan"),
    "too_many_files": (_many, "(submission_files)"),
    "file_past_the_cap": (_sparse((LIMITS.submission_file_mb << 20) + 1),
                          "micrograd/big.bin is larger than"),
}


def test_hostile_trees_in_a_batch_are_refused_and_the_honest_student_graded(tmp_path):
    batch = tmp_path / "batch"
    for name in ["honest", *HOSTILE_TREES]:
        shutil.copytree(REFERENCE / "micrograd", batch / name / "micrograd",
                        ignore=shutil.ignore_patterns("__pycache__"))
        if name != "honest":
            HOSTILE_TREES[name][0](batch / name / "micrograd")
    private = tmp_path / "tmp"
    private.mkdir()
    out = tmp_path / "out"
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", "import resource, subprocess, sys; "
         "rc = subprocess.run(sys.argv[1:]).returncode; "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(rc)",
         sys.executable, "-m", "grader", "grade", str(batch), "--batch", "--jobs", "2",
         "--seed", "9", "-q", "--lecture", "micrograd", "--check", "micrograd.ops",
         "--check", "micrograd.backward", "--format", "json,junit,markdown",
         "--out-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TMPDIR": str(private)})
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[-1]) < 1024, f"peak RSS {r.stdout.split()[-1]} MB"
    assert os.listdir(private) == []               # no snapshot or worker folder left behind
    report = json.loads((out / "report.json").read_text())
    ET.parse(out / "junit.xml")                     # valid XML
    assert (out / "report.md").stat().st_size < 1_000_000
    checks = {s["student"]: [c for lec in s["lectures"] for c in lec["checks"]]
              for s in report["submissions"]}
    assert [(c["status"], c["points"]) for c in checks["honest"]] == \
        [("passed", 10.0), ("passed", 15.0)]
    for name, (_, says) in HOSTILE_TREES.items():
        assert [c["status"] for c in checks[name]] == ["refused", "refused"], name
        for c in checks[name]:
            assert c["points"] == 0 and says in c["message"], (name, c["message"])
    assert elapsed < 180
