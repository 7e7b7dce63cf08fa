"""`zth gradescope build`: the autograder zip, unpacked into a folder shaped like Gradescope's
/autograder, grades a submission into a valid results.json, and nothing a submission writes
there (or links to) changes it."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, REFERENCE, zth

from grader.ci import CPU_INDEX, torch_pin
from grader.ci.gradescope import place_loose_files
from grader.config import load_course

GRADESCOPE_STATUSES = {"passed", "failed"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gs") / "autograder.zip"
    r = zth("gradescope", "build", str(out), "--lecture", "micrograd")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def autograder(autograder_zip, tmp_path):
    """/autograder as Gradescope lays it out: source/ (the zip), run_autograder copied to the
    root, submission/ (the student's upload) and results/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as z:
        z.extractall(root / "source")
        for info in z.infolist():   # zipfile drops the mode bits; Gradescope keeps them
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def run_autograder(root: Path, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZTH_AUTOGRADER_ROOT": str(root), "ZTH_PYTHON": sys.executable, **env}
    return subprocess.run([str(root / "run_autograder")], cwd="/", env=env, text=True,
                          capture_output=True, timeout=600, check=False)


def valid_results(path: Path) -> dict:
    """Gradescope's results.json specification, the fields we produce."""
    data = json.loads(path.read_text())
    assert isinstance(data["score"], (int, float)) and isinstance(data["output"], str)
    assert data.get("visibility", "visible") in VISIBILITIES
    for t in data["tests"]:
        assert isinstance(t["name"], str) and isinstance(t["output"], str)
        assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
        assert t["status"] in GRADESCOPE_STATUSES and t["visibility"] in VISIBILITIES
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    return data


def test_zip_holds_the_instructor_build_and_the_two_scripts(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        run = z.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "course.yaml", "pyproject.toml", "README.md",
            "grader/cli.py", "grader/lectures/micrograd/hidden.py",
            "reference/micrograd/engine.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "assignments/"))]
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert f"pip install --no-cache-dir torch=={torch_pin()} --index-url {CPU_INDEX}" in setup
    assert setup.index("torch==") < setup.index("pip install --no-cache-dir -e /autograder/source")
    assert "gradescope run" in run and "--lecture micrograd" in run
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", "-c", z_text(autograder_zip, script)], check=True)


def z_text(path: Path, name: str) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(name).decode()


def test_run_autograder_grades_a_sample_submission(autograder):
    upload = autograder / "submission" / "my-repo" / "assignments"   # found a few levels down
    shutil.copytree(REFERENCE / "micrograd", upload / "micrograd")
    r = run_autograder(autograder)
    assert r.returncode == 0, r.stderr
    data = valid_results(autograder / "results" / "results.json")
    assert data["score"] == data["max_score"] > 0
    names = [t["name"].split(":")[0] for t in data["tests"]]
    assert "micrograd.backward" in names and "micrograd.big_graph" in names   # hidden ones too
    hidden = next(t for t in data["tests"] if t["name"].startswith("micrograd.big_graph"))
    assert hidden["visibility"] == "after_published"
    assert "seed" in data["output"] and "grader" in data["output"]
    # the instructor's debug view (stdout): where it graded, the layer, a line per check + time
    log = r.stdout
    assert "graded folder: my-repo/assignments" in log
    assert re.search(r"micrograd: \d+/\d+ points in [\d.]+ s · isolation \w+", log)
    for t in data["tests"]:
        cid = t["name"].split(":")[0]
        assert re.search(rf"PASS +{re.escape(cid)} +[\d.]+/[\d.]+ +[\d.]+ s", log), cid
    assert "micrograd.big_graph" in log and "[hidden]" in log
    assert log.rstrip().endswith("results.json")


def test_a_submission_that_writes_results_json_does_not_change_it(autograder):
    results = autograder / "results" / "results.json"
    pkg = autograder / "submission" / "micrograd"
    shutil.copytree(ASSIGNMENTS / "micrograd", pkg)
    forged = {"score": 1000.0, "tests": [], "output": "forged"}
    (pkg / "__init__.py").write_text(
        "import json\n"
        "try:\n"
        f"    json.dump({forged!r}, open({str(results)!r}, 'w'))\n"
        "except OSError:\n"
        "    pass\n")
    # the sandbox's file-system rules normally stop that write (the weakest layer is asked for
    # here anyway); a forged file already in place stands for one that got through
    results.write_text(json.dumps(forged))
    r = run_autograder(autograder, ZTH_ISOLATION="process")
    assert r.returncode == 0, r.stderr
    data = valid_results(results)
    assert data["score"] == 0 and data["output"] != "forged" and len(data["tests"]) > 10
    assert all(t["status"] == "failed" and "not implemented" in t["output"]
               for t in data["tests"])
    assert not [p.name for p in results.parent.iterdir() if p.name != "results.json"]


def test_a_symlink_to_the_reference_is_not_graded_as_the_students_code(autograder):
    (autograder / "submission" / "micrograd").symlink_to(
        autograder / "source" / "reference" / "micrograd")
    r = run_autograder(autograder)
    assert r.returncode == 0, r.stderr
    data = valid_results(autograder / "results" / "results.json")
    assert data["score"] == 0 and not data["tests"]
    assert "not graded" in data["output"] and "micrograd" in data["output"]
    assert "nothing graded" in r.stdout


def test_loose_py_files_are_placed_into_the_one_lecture_package(autograder):
    """Drag and drop of engine.py, nn.py, ... (no folder) into a one-lecture assignment. The
    stubs grade fast: every check reaching "not implemented" shows the package was found and
    imported (without the placement: no tests at all, "No lecture package found")."""
    for f in (ASSIGNMENTS / "micrograd").glob("*.py"):
        if f.name != "__init__.py":
            shutil.copy(f, autograder / "submission" / f.name)
    r = run_autograder(autograder)
    assert r.returncode == 0, r.stderr
    data = valid_results(autograder / "results" / "results.json")
    assert len(data["tests"]) > 10 and data["max_score"] > 0
    assert all("not implemented" in t["output"] for t in data["tests"])
    assert "loose files placed into micrograd/" in r.stdout


def test_loose_files_that_fit_several_lectures_are_refused_clearly(tmp_path):
    course = load_course()
    upload = tmp_path / "upload"
    upload.mkdir()
    for name in ("data.py", "model.py"):           # both in mlp/, gpt/, backprop/, ...
        (upload / name).write_text("x = 1\n")
    lid, msg = place_loose_files(upload, tmp_path / "out", course, [])
    assert lid is None and not (tmp_path / "out").exists()
    assert "data.py, model.py" in msg and "mlp" in msg and "gpt" in msg
    assert "Upload the lecture folder" in msg
    # names only one lecture has: placed there
    (upload / "data.py").unlink()
    (upload / "model.py").unlink()
    (upload / "engine.py").write_text("x = 1\n")
    lid, msg = place_loose_files(upload, tmp_path / "out", course, [])
    assert (lid, msg) == ("micrograd", "") and (tmp_path / "out/micrograd/engine.py").is_file()
    # names no lecture has
    (upload / "engine.py").rename(upload / "notes.py")
    lid, msg = place_loose_files(upload, tmp_path / "out2", course, [])
    assert lid is None and "match no lecture" in msg


def test_an_empty_upload_gets_a_results_json_that_says_what_to_upload(autograder):
    (autograder / "submission" / "notes.txt").write_text("hello")
    r = run_autograder(autograder)
    assert r.returncode == 0, r.stderr
    data = valid_results(autograder / "results" / "results.json")
    assert data["score"] == 0 and "micrograd/" in data["output"]
