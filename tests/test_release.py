"""`zth release`: the student build ships no solution and no hidden check, and grades the visible
checks exactly as the instructor build does, at any seed: no visible check compares with the
reference (the parent computes each expectation itself), and the build refuses one that would.

The end-to-end tests build a small instructor course in a temp folder (a copy of the grader plus
a fake lecture whose checks use a library oracle and the parent's own replay of a seeded draw,
and one hidden check that uses the reference), so they do not depend on the lectures.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import REFERENCE, zth

from grader import oracle
from grader.config import ROOT
from grader.release import room_leaks

FAKE = "fakelec"
SOLUTION_LINES = ["total_of_all_the_values = sum(xs)",
                  "return total_of_all_the_values / len(xs)",
                  "generator_for_the_draws = random.Random(seed)",
                  "return [generator_for_the_draws.randrange(100) for _ in range(n)]"]
HIDDEN_ID = f"{FAKE}.secret_sauce"
HIDDEN_TEXTS = [HIDDEN_ID, "Top secret hidden check title", "the hidden hint nobody may see",
                "SECRET_HIDDEN_MARKER_0451"]

REFERENCE_FILES = {
    "__init__.py": '"""A fake lecture for the release tests."""\n',
    "stats.py": '''\
        """Two exercises. Exercise ids: fakelec.mean, fakelec.draw"""
        import random


        def mean(xs):
            """fakelec.mean: the average of a list of numbers."""
            ### BEGIN SOLUTION
            total_of_all_the_values = sum(xs)
            return total_of_all_the_values / len(xs)
            ### END SOLUTION


        def draw(n, seed):
            """fakelec.draw: n integers in [0, 100) from random.Random(seed)."""
            ### BEGIN SOLUTION
            generator_for_the_draws = random.Random(seed)
            return [generator_for_the_draws.randrange(100) for _ in range(n)]
            ### END SOLUTION
        ''',
}
PROBES = '''\
    from zth_worker.probes import attr, module, probe


    @probe
    def mean(pkg, xs):
        return attr(module(pkg, "stats"), "mean")(xs)


    @probe
    def draw(pkg, n, seed):
        return attr(module(pkg, "stats"), "draw")(n, seed)
    '''
CHECKS = '''\
    import random

    import numpy as np

    from ...check import Context, check


    @check("fakelec.mean")
    def mean(ctx: Context):
        xs = ctx.rng.normal(size=12).tolist()
        got = ctx.number(ctx.probe("mean", xs=xs), "mean(xs)")
        ctx.close(got, np.mean(xs), "mean(xs)")


    @check("fakelec.draw")
    def draw(ctx: Context):
        n, seed = 6, int(ctx.rng.integers(10**6))
        got = ctx.probe("draw", n=n, seed=seed)
        g = random.Random(seed)                  # the parent replays the specified draws
        want = [g.randrange(100) for _ in range(n)]
        ctx.ensure(type(got) is list, f"draw: expected a list, got {type(got).__name__}")
        ctx.equal(got, want, f"draw({n}, seed={seed})")
    '''
HIDDEN_CHECKS = '''\
    from ...check import Context, check
    from ...oracle import reference


    @check("fakelec.secret_sauce")
    def secret_sauce(ctx: Context):
        """SECRET_HIDDEN_MARKER_0451: only the instructor's grader has this check."""
        xs = ctx.rng.uniform(1, 2, size=50).tolist()
        ctx.close(ctx.probe("mean", xs=xs), reference("fakelec", "stats").mean(xs), "mean")
    '''
LECTURE = {
    "title": "A fake lecture", "package": FAKE, "tolerance": {"rtol": 1e-9, "atol": 1e-12},
    "checks": [
        {"id": f"{FAKE}.mean", "title": "mean of a list", "points": 2},
        {"id": f"{FAKE}.draw", "title": "seeded draws, replayed by the parent", "points": 3},
        {"id": HIDDEN_ID, "title": HIDDEN_TEXTS[1], "points": 1, "visibility": "hidden",
         "hint": HIDDEN_TEXTS[2]}]}


def py(*args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m grader ...` with the grader found in `cwd` (an instructor copy or a release)."""
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, check=False)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def instructor_copy(root: Path) -> Path:
    """The grader plus the fake lecture, laid out like this repo."""
    shutil.copytree(ROOT / "grader", root / "grader",
                    ignore=shutil.ignore_patterns("__pycache__", "expected"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, root / f)
    for name, text in REFERENCE_FILES.items():
        write(root / "reference" / FAKE / name, text)
    room = root / "grader" / "lectures" / FAKE
    write(room / "probes.py", PROBES)
    write(room / "checks.py", CHECKS)
    write(room / "hidden.py", HIDDEN_CHECKS)
    course = yaml.safe_load((ROOT / "course.yaml").read_text())
    course["lectures"] = {FAKE: LECTURE}
    (root / "course.yaml").write_text(yaml.safe_dump(course, sort_keys=False))
    r = py("build", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("release")
    instructor = instructor_copy(base / "course")
    r = py("release", str(base / "rel"), cwd=instructor)
    assert r.returncode == 0, r.stderr
    return instructor, base / "rel"


def texts(folder: Path):
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            yield f, (gzip.decompress(data) if f.suffix == ".gz" else data).decode(
                errors="replace")


def test_release_ships_no_solution_no_reference_and_no_hidden_check(built):
    instructor, rel = built
    assert not (rel / "reference").exists()
    rooms = sorted((rel / "grader" / "lectures").glob("*/checks.py"))
    assert FAKE in [p.parent.name for p in rooms] and len(rooms) >= 2
    for name in ("hidden.py", "hidden_probes.py", "reproduce.py"):
        assert not list((rel / "grader" / "lectures").glob(f"*/{name}")), name
    assert (instructor / "grader" / "lectures" / FAKE / "hidden.py").is_file()
    assert (instructor / "grader" / "lectures" / "gpt" / "hidden_probes.py").is_file()
    # probes only hidden checks call do not ship
    shipped = (rel / "grader" / "lectures" / "gpt" / "probes.py").read_text()
    assert "def init_loss" not in shipped and "def dropout" not in shipped
    seen = 0
    for f, text in texts(rel):
        seen += 1
        rel_name = f.relative_to(rel).as_posix()
        markers = [line for line in text.splitlines()
                   if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION")]
        assert not markers, f"{rel_name} has a solution marker line"
        if not rel_name.endswith(".py"):
            assert "BEGIN SOLUTION" not in text, rel_name
        for line in SOLUTION_LINES:
            assert line not in text, f"{rel_name} holds the solution line {line!r}"
        for secret in HIDDEN_TEXTS:
            assert secret not in text, f"{rel_name} holds hidden-check text {secret!r}"
    assert seen > 30
    # the instructor side really had all of it, so the scan above could have failed
    everything = "".join(t for _, t in texts(instructor))
    assert all(s in everything for s in SOLUTION_LINES + HIDDEN_TEXTS)


def test_release_layout_and_course(built):
    _, rel = built
    for f in ("README.md", "course.yaml", "pyproject.toml", ".github/workflows/zth.yml",
              f"assignments/{FAKE}/stats.py"):
        assert (rel / f).is_file(), f
    assert not (rel / "grader" / "expected").exists()       # no recorded answers any more
    course = yaml.safe_load((rel / "course.yaml").read_text())
    assert [c["id"] for c in course["lectures"][FAKE]["checks"]] == [f"{FAKE}.mean",
                                                                     f"{FAKE}.draw"]
    assert "zth check" in (rel / "README.md").read_text()


def _visible(report: dict) -> dict:
    return {c["id"]: (c["status"], c["points"], c["message"])
            for lec in report["submissions"][0]["lectures"] for c in lec["checks"]
            if c["visibility"] == "visible"}


def _grade(cwd: Path, sub: Path, *extra: str) -> dict:
    r = py("grade", str(sub), "--format", "json", "-q", *extra, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("variant", ["complete", "wrong_draw"])
@pytest.mark.parametrize("seed", [7, 2**31 - 5])
def test_release_scores_visible_checks_like_the_instructor_build_at_any_seed(
        built, tmp_path, variant, seed):
    instructor, rel = built
    sub = tmp_path / "sub"
    shutil.copytree(instructor / "reference" / FAKE, sub / FAKE)
    if variant == "wrong_draw":
        f = sub / FAKE / "stats.py"
        f.write_text(f.read_text().replace("Random(seed)", "Random(seed + 1)"))
    theirs = _grade(instructor, sub, "--seed", str(seed))
    ours = _grade(rel, sub, "--seed", str(seed))
    assert ours["seed"] == seed
    assert _visible(ours) == _visible(theirs)
    assert set(_visible(ours)) == {f"{FAKE}.mean", f"{FAKE}.draw"}
    draw = _visible(ours)[f"{FAKE}.draw"]
    assert draw[0] == ("passed" if variant == "complete" else "failed"), draw
    assert HIDDEN_ID in {c["id"] for lec in theirs["submissions"][0]["lectures"]
                         for c in lec["checks"]}


def test_release_grades_at_a_fresh_seed_by_default(built, tmp_path):
    instructor, rel = built
    sub = tmp_path / "sub"
    shutil.copytree(instructor / "reference" / FAKE, sub / FAKE)
    seeds = {_grade(rel, sub)["seed"] for _ in range(2)}
    assert len(seeds) == 2                           # fresh each run, not a fixed few
    assert all(s == "passed" for s, _, _ in _visible(_grade(rel, sub)).values())


def test_release_refuses_a_shipped_check_that_imports_the_reference(tmp_path):
    room = tmp_path / "lectures" / FAKE
    write(room / "probes.py", PROBES)
    write(room / "checks.py", CHECKS)
    assert room_leaks(tmp_path / "lectures") == []
    write(room / "checks.py", CHECKS.replace("import random\n",
                                             "import random\n\n    from ...oracle import "
                                             "reference\n"))
    found = room_leaks(tmp_path / "lectures")
    assert found and "imports the reference" in found[0] and "checks.py" in found[0]


def test_release_refuses_a_stale_build_and_an_existing_folder(built, tmp_path):
    instructor, rel = built
    r = py("release", str(rel), cwd=instructor)
    assert r.returncode == 1 and "exists" in r.stderr
    stub = instructor / "assignments" / FAKE / "stats.py"
    text = stub.read_text()
    try:
        stub.write_text(text + "\n# edited by hand\n")
        r = py("release", str(tmp_path / "x"), cwd=instructor)
        assert r.returncode == 1 and "zth build" in r.stderr
    finally:
        stub.write_text(text)


# -- the reference, for instructor-only code -----------------------------------------------------
def test_reference_is_the_plain_module_and_a_clear_error_without_it(tmp_path, monkeypatch):
    write(tmp_path / "reference" / "zthfake_ref" / "__init__.py", "")
    write(tmp_path / "reference" / "zthfake_ref" / "m.py", "def twice(x):\n    return 2 * x\n")
    monkeypatch.setattr(oracle, "ROOT", tmp_path)
    assert oracle.reference("zthfake_ref", "m").twice(21) == 42
    with pytest.raises(oracle.NoReference, match="no reference/zthfake_missing"):
        oracle.reference("zthfake_missing", "m")


# -- acceptance: a fresh environment, the real course -----------------------------------------
@pytest.mark.slow
def test_fresh_venv_release_of_this_repo_grades_like_the_repo(tmp_path):
    """`zth release`, then a venv that sees only the release (its deps through a .pth file):
    grading the reference solutions there equals grading them here, check by check."""
    rel = tmp_path / "rel"
    r = zth("release", str(rel), timeout=3000)
    assert r.returncode == 0, r.stderr
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(vpy), "-c", purelib], capture_output=True, text=True, check=True)
    deps = [p for p in sys.path if p.endswith("-packages")]
    Path(site.stdout.strip(), "deps.pth").write_text("\n".join(deps) + "\n")
    sub = tmp_path / "sub"
    shutil.copytree(REFERENCE, sub, ignore=shutil.ignore_patterns("__pycache__", "notebooks"))
    seed = 20240917               # any seed: no visible check needs the reference
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    where = subprocess.run([str(vpy), "-c", "import grader; print(grader.__file__)"], cwd=rel,
                           capture_output=True, text=True, env=env, check=False)
    assert where.stdout.strip() == str(rel / "grader" / "__init__.py"), where
    out = subprocess.run([str(vpy), "-m", "grader", "grade", str(sub), "--seed", str(seed),
                          "--format", "json", "-q"], cwd=rel, capture_output=True, text=True,
                         env=env, timeout=3000, check=False)
    assert out.returncode == 0, out.stderr
    here = zth("grade", str(sub), "--seed", str(seed), "--format", "json", "-q", timeout=3000)
    ours, theirs = _visible(json.loads(out.stdout)), _visible(json.loads(here.stdout))
    assert ours == theirs
    assert all(status == "passed" for status, _, _ in ours.values())
