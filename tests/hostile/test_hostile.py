"""The hostile corpus through `zth grade --batch`, under every isolation layer the machine offers.

Each case is graded beside the honest work it is built on, in one batch per layer (so a case
that takes the grader down would take every other result with it: the batch also proves that
faults stay in their own submission). Every case asserts the exact points of every check: the
attacked checks score 0 with a status and message a student understands, every other check
scores exactly what the honest base scores, and the grader exits 0 with every submission graded.

Tiers: the default tier runs every case under the strongest layer here and a representative
subset under the weaker one(s); `pytest -m slow` runs the rest of the matrix. The corpus runs
with a 5 s check timeout (a copy of course.yaml with only that changed) so the timeout cases
cost seconds, not minutes; `test_batch_of_20` uses the real course.yaml.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
import yaml
from conftest import LAYERS as ALL_LAYERS
from conftest import available_layers, layer_params

from grader.config import DEFAULT_COURSE

from .corpus import all_cases, batch_folder, by_student, run_zth, twin_name

CASES = {c.name: c for c in all_cases()}
# every layer is a parameter; one this machine lacks skips with the reason (or fails, when
# ZTH_REQUIRE names it); the cases run under the strongest layer available here
LAYERS = available_layers()
STRONGEST = LAYERS[0]
# representative cases for the weaker layer(s) in the default tier: one per family
SUBSET = {"patch_isclose_and_abs", "os_exit_at_import", "os_exit_in_method", "kill_the_grader",
          "fork_bomb", "setsid_double_fork", "subprocess_and_system", "protocol_fd_garbage",
          "read_reference",
          "read_env_secrets", "read_other_submissions", "forge_report_files",
          "shadow_packages"}
FORMATS = {"json": "report.json", "gradescope": "results.json", "junit": "junit.xml",
           "markdown": "report.md"}
SEED = 20240611


# the cases that cost the most (tens of seconds each: they run into the memory and disk limits)
# run in the slow tier only, under every layer
HEAVY = {"allocate_50_gb", "fill_the_disk", "c_stack_overflow"}


def group(layer: str, name: str) -> str:
    if name in HEAVY:
        return "slow"
    return "default" if layer == STRONGEST or name in SUBSET else "slow"


def _params():
    out = []
    for layer in ALL_LAYERS:
        for name in CASES:
            marks = [pytest.mark.slow] if group(layer, name) == "slow" else []
            if layer != "process":
                marks.append(pytest.mark.needs(layer))
            out.append(pytest.param(layer, name, id=f"{layer}-{name}", marks=marks))
    return out


@pytest.fixture(scope="session")
def fast_course(tmp_path_factory) -> Path:
    raw = yaml.safe_load(DEFAULT_COURSE.read_text())
    raw["limits"]["timeout"] = 5
    raw["limits"]["reply_mb"] = 16
    path = tmp_path_factory.mktemp("course") / "course.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


class Graded:
    """One `zth grade --batch` run of a group of cases (and their honest bases) on one layer."""

    def __init__(self, layer: str, names: list[str], tmp: Path, course: Path):
        self.layer = layer
        self.secret = "ZTH_HOSTILE_SECRET_" + secrets.token_hex(8)
        self.batch = batch_folder([CASES[n] for n in names], layer, tmp / "batch")
        self.before = {p: p.read_bytes() for p in self.batch.rglob("*") if p.is_file()}
        self.out = tmp / "out"
        self.cwd_files = set(os.listdir(tmp))
        env = {**os.environ, "ZTH_HOSTILE_SECRET": self.secret}
        self.proc = run_zth(["--course", str(course), "grade", str(self.batch), "--batch",
                             "--jobs", "2", "--seed", str(SEED), "--isolation", layer, "-q",
                             "--format", ",".join(FORMATS), "--out-dir", str(self.out)], env=env)
        assert self.proc.returncode == 0, self.proc.stderr[-3000:]
        self.report = json.loads((self.out / "report.json").read_text())
        self.results = by_student(self.report)
        self.lectures = {s["student"]: s["lectures"][0] for s in self.report["submissions"]}


@pytest.fixture(scope="session")
def graded(tmp_path_factory, fast_course):
    runs: dict[tuple[str, str], Graded] = {}

    def get(layer: str, name: str) -> Graded:
        key = (layer, group(layer, name))
        if key not in runs:
            names = [n for n in CASES if (layer, group(layer, n)) == key]
            runs[key] = Graded(layer, names, tmp_path_factory.mktemp(f"{layer}-{key[1]}"),
                               fast_course)
        return runs[key]
    return get


def test_the_corpus_has_at_least_30_cases_each_stating_attack_and_outcome():
    assert len(CASES) >= 30
    for case in CASES.values():
        assert case.attack and (case.expect or "behaves" in case.attack or case.name in
                                ("forge_report_files", "print_fake_pass")), case.name


@pytest.mark.parametrize("layer,name", _params())
def test_hostile_case(graded, layer, name):
    case = CASES[name]
    run = graded(layer, name)
    assert name in run.results, f"{name} was not graded at all"
    assert run.lectures[name]["isolation"] == layer
    base, breaks = case.twin(layer)
    honest = run.results[twin_name(base, breaks)]
    got = run.results[name]
    assert set(got) == set(honest)
    total = 0.0
    for cid, check in got.items():
        want = case.expected(cid, layer)
        if want is None:        # untouched by the attack: exactly what the honest twin scores
            assert check["points"] == honest[cid]["points"], (cid, check["message"])
            total += honest[cid]["points"]
        else:
            assert check["status"] == want["status"], (cid, check["message"])
            assert want["message"] in check["message"], (cid, check["message"])
            if want["status"] == "passed":
                total += check["max_points"]
                assert check["points"] == check["max_points"]
            else:
                assert check["points"] == 0, cid
    points = next(s["points"] for s in run.report["submissions"] if s["student"] == name)
    assert points == pytest.approx(total)
    # never above the honest work, except where the threat model says this layer lets it through
    if layer not in case.layers:
        assert points <= sum(c["points"] for c in honest.values())
    assert run.proc.returncode == 0          # the grader survived, and graded everyone


@pytest.mark.parametrize("layer", layer_params())
def test_forged_and_printed_results_never_reach_the_reports(graded, layer):
    run = graded(layer, "forge_report_files")
    if "forge_report_files" not in run.results:
        pytest.skip("not in this layer's group")
    assert sorted(os.listdir(run.out)) == sorted(FORMATS.values())
    for f in run.out.iterdir():
        text = f.read_text()
        assert "FORGED" not in text and "1000000000" not in text, f.name
    gradescope = json.loads((run.out / "results.json").read_text())   # the first submission
    assert gradescope["score"] == run.report["submissions"][0]["points"]
    assert run.proc.stdout == ""                 # student output never reaches zth's stdout
    # the submissions themselves are untouched (they are copied into the sandbox read-only)
    after = {p: p.read_bytes() for p in run.batch.rglob("*") if p.is_file()}
    assert after == run.before
    assert not Path("/tmp/FORGED").exists()


def test_a_hundred_megabytes_of_output_is_capped(graded):
    run = graded(STRONGEST, "print_100_mb")
    assert (run.out / "report.json").stat().st_size < 2_000_000
    assert len(run.lectures["print_100_mb"]["output"]) <= 2000


def test_a_crash_report_shows_the_last_lines_of_stderr(graded):
    run = graded(STRONGEST, "protocol_fd_close")
    msg = run.results["protocol_fd_close"]["micrograd.ops"]["message"]
    assert "while importing your package" in msg and "last lines of stderr" in msg


def test_restarts_after_a_crash_are_noted(graded):
    run = graded(STRONGEST, "os_exit_in_method")
    assert any("restarted" in n for n in run.lectures["os_exit_in_method"]["notes"])
