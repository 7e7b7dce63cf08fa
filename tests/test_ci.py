"""`zth ci github`: the workflow has the structure GitHub Actions expects, and its grading and
summary steps do what they say when run locally, as the runner would run them."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import ASSIGNMENTS, zth

from grader.ci import CPU_INDEX, torch_pin
from grader.ci.github import github_workflow
from grader.config import load_course

STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "continue-on-error",
             "timeout-minutes", "working-directory"}


def validate_workflow(wf: dict) -> None:
    """The part of GitHub's workflow schema a generated file can get wrong."""
    assert set(wf) <= {"name", "on", "permissions", "env", "jobs", "concurrency", "defaults"}
    assert isinstance(wf["name"], str)
    on = wf["on"]
    assert isinstance(on, dict) and {"push", "pull_request"} <= set(on)
    assert all(v is None or isinstance(v, dict) for v in on.values())
    assert isinstance(wf["jobs"], dict) and wf["jobs"]
    for job in wf["jobs"].values():
        assert isinstance(job["runs-on"], str) and isinstance(job["steps"], list)
        assert isinstance(job.get("timeout-minutes", 1), int)
        ids = [s["id"] for s in job["steps"] if "id" in s]
        assert len(ids) == len(set(ids))
        for step in job["steps"]:
            assert isinstance(step, dict) and set(step) <= STEP_KEYS, step
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                assert "@" in step["uses"] and isinstance(step.get("with", {}), dict)
            else:
                assert isinstance(step["run"], str) and step["run"].strip()


def steps(wf: dict) -> dict[str, dict]:
    return {s.get("id") or s.get("uses") or s["name"]: s for s in wf["jobs"]["grade"]["steps"]}


def test_workflow_matches_the_actions_schema_and_runs_the_documented_commands():
    wf = yaml.safe_load(github_workflow(fail_under=60))
    validate_workflow(wf)
    s = steps(wf)
    assert "actions/checkout@v4" in s and "actions/setup-python@v5" in s
    install = s["install"]["run"]
    assert f"pip install torch=={torch_pin()} --index-url {CPU_INDEX}" in install
    assert install.index("torch==") < install.index("pip install -e .")
    assert s["grade"]["run"] == ("zth grade assignments --visible-only --format "
                                 "junit,markdown,json --out-dir zth-report --fail-under 60")
    assert s["summary"]["if"] == "always()"
    assert 'cat zth-report/report.md >> "$GITHUB_STEP_SUMMARY"' in s["summary"]["run"]
    upload = s["actions/upload-artifact@v4"]
    assert upload["if"] == "always()" and upload["with"]["path"] == "zth-report/"
    assert "--fail-under" not in steps(yaml.safe_load(github_workflow()))["grade"]["run"]


def test_workflow_can_check_the_grader_out_of_another_repo():
    wf = yaml.safe_load(github_workflow(grader_repo="course-org/zth-release@v2",
                                        lectures=["micrograd"]))
    validate_workflow(wf)
    checkout = [st for st in wf["jobs"]["grade"]["steps"]
                if st.get("with", {}).get("repository")]
    assert checkout == [{"name": "Check out the grader", "uses": "actions/checkout@v4",
                         "with": {"repository": "course-org/zth-release", "ref": "v2",
                                  "path": ".zth-grader"}}]
    s = steps(wf)
    assert "pip install -e .zth-grader" in s["install"]["run"]
    assert s["grade"]["run"].startswith("zth grade . --visible-only --format junit,markdown,json")
    assert s["grade"]["run"].endswith("--lecture micrograd")


def test_ci_github_command_writes_into_a_repo_folder_and_checks_its_arguments(tmp_path):
    r = zth("ci", "github", str(tmp_path), "--fail-under", "50")
    assert r.returncode == 0, r.stderr
    wf = yaml.safe_load((tmp_path / ".github" / "workflows" / "zth.yml").read_text())
    validate_workflow(wf)
    assert "--fail-under 50" in steps(wf)["grade"]["run"]
    assert zth("ci", "github", str(tmp_path / "x.yml"), "--fail-under", "150").returncode == 2
    assert zth("ci", "github", str(tmp_path / "x.yml"), "--lecture", "nope").returncode == 2


@pytest.fixture
def runner(tmp_path):
    """A checkout of a student repo and a `zth` on PATH, like the job after its install step."""
    repo = tmp_path / "repo"
    shutil.copytree(ASSIGNMENTS / "micrograd", repo / "assignments" / "micrograd")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "zth"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}

    def run(step: dict) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, text=True,
                              capture_output=True, timeout=600, check=False)
    return repo, tmp_path / "summary.md", run


@pytest.mark.parametrize("fail_under", [None, 50])
def test_workflow_steps_grade_and_post_the_summary_locally(runner, fail_under):
    repo, summary, run = runner
    s = steps(yaml.safe_load(github_workflow(fail_under=fail_under)))
    graded = run(s["grade"])
    # the stubs score 0: graded (0) without a threshold, "below --fail-under" (3) with one
    assert graded.returncode == (0 if fail_under is None else 3), graded.stderr
    posted = run(s["summary"])
    assert posted.returncode == 0, posted.stderr
    report = repo / "zth-report"
    assert sorted(p.name for p in report.iterdir()) == ["junit.xml", "report.json", "report.md"]
    assert summary.read_text() == (report / "report.md").read_text()
    assert "| `micrograd.ops` |" in summary.read_text()
    # the job ran this repo's grader, an instructor build: still, nothing student-visible
    # (summary, artifact) names a hidden check, because hidden checks are not graded here
    hidden = [c.id for c in load_course().lecture("micrograd").checks if c.visibility != "visible"]
    assert hidden
    for f in report.iterdir():
        assert not [h for h in hidden if h in f.read_text()], f.name
    data = json.loads((report / "report.json").read_text())
    assert data["submissions"][0]["points"] == 0
    suites = ET.parse(report / "junit.xml").getroot()
    assert len(suites.findall(".//testcase")) == len(data["submissions"][0]["lectures"][0][
        "checks"])


def test_summary_step_says_so_when_the_grader_wrote_nothing(runner):
    repo, summary, run = runner
    s = steps(yaml.safe_load(github_workflow()))
    assert run(s["summary"]).returncode == 0
    assert "wrote no report" in summary.read_text()
    assert not Path(repo, "zth-report").exists()


def test_the_job_refuses_a_grader_repo_that_is_an_instructor_build(runner, tmp_path):
    """--grader-repo pointed at the instructor repo would put reference solutions and hidden
    checks in front of students: the job stops before installing it, and says what to do."""
    repo, summary, run = runner
    guard = steps(yaml.safe_load(github_workflow(grader_repo="course-org/zth")))["guard"]
    grader = repo / ".zth-grader"
    (grader / "grader" / "lectures" / "micrograd").mkdir(parents=True)
    assert run(guard).returncode == 0            # a release: no reference/, no hidden.py
    (grader / "grader" / "lectures" / "micrograd" / "hidden.py").write_text("")
    refused = run(guard)
    assert refused.returncode == 1 and "zth release" in refused.stdout
    (grader / "grader" / "lectures" / "micrograd" / "hidden.py").unlink()
    (grader / "reference").mkdir()
    assert run(guard).returncode == 1


def test_visible_only_grades_no_hidden_check(tmp_path):
    out = tmp_path / "r.json"
    r = zth("grade", str(ASSIGNMENTS), "--lecture", "micrograd", "--visible-only", "--format",
            "json", "--out", str(out), "-q", "--seed", "1")
    assert r.returncode == 0, r.stderr
    checks = json.loads(out.read_text())["submissions"][0]["lectures"][0]["checks"]
    course = load_course().lecture("micrograd")
    assert [c["id"] for c in checks] == [c.id for c in course.checks if c.visibility == "visible"]
    hidden = next(c.id for c in course.checks if c.visibility != "visible")
    r = zth("grade", str(ASSIGNMENTS), "--visible-only", "--check", hidden)
    assert r.returncode == 2 and "hidden" in r.stderr
