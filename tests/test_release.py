"""`zth release`: the student build ships no solution and no hidden check, and grades the visible
checks exactly as the instructor build does, reference-oracle checks included (answered from
data the release precomputed at its fixed seeds).

The end-to-end tests build a small instructor course in a temp folder (a copy of the grader plus
a fake lecture whose checks use each kind of oracle and one hidden check), so they do not depend
on the lectures being written in parallel; the in-process tests cover the oracle's record/replay.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import REFERENCE, zth

from grader import oracle
from grader.check import Context, ProbeFailed
from grader.config import ROOT, Check, Tolerance

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
    import numpy as np

    from ...check import Context, check
    from ...oracle import reference


    @check("fakelec.mean")
    def mean(ctx: Context):
        xs = ctx.rng.normal(size=12).tolist()
        got = ctx.number(ctx.probe("mean", xs=xs), "mean(xs)")
        ctx.close(got, np.mean(xs), "mean(xs)")


    @check("fakelec.draw")
    def draw(ctx: Context):
        n, seed = 6, int(ctx.rng.integers(10**6))
        got = ctx.probe("draw", n=n, seed=seed)
        want = reference("fakelec", "stats").draw(n, seed)
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
        {"id": f"{FAKE}.draw", "title": "seeded draws, compared with the reference", "points": 3},
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
    r = py("release", str(base / "rel"), "--seeds", "2", cwd=instructor)
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


def test_release_layout_course_and_expected_data(built):
    _, rel = built
    for f in ("README.md", "course.yaml", "pyproject.toml", ".github/workflows/zth.yml",
              f"assignments/{FAKE}/stats.py", "grader/expected/index.json"):
        assert (rel / f).is_file(), f
    course = yaml.safe_load((rel / "course.yaml").read_text())
    assert [c["id"] for c in course["lectures"][FAKE]["checks"]] == [f"{FAKE}.mean",
                                                                     f"{FAKE}.draw"]
    index = json.loads((rel / "grader" / "expected" / "index.json").read_text())
    assert len(index["run_seeds"]) == 2
    # only the check whose oracle is the reference needs precomputed answers
    assert index["lectures"] == {FAKE: [f"{FAKE}.draw"]}
    assert '"expected/*.json.gz"' in (rel / "pyproject.toml").read_text()
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
def test_release_scores_visible_checks_like_the_instructor_build(built, tmp_path, variant):
    instructor, rel = built
    sub = tmp_path / "sub"
    shutil.copytree(instructor / "reference" / FAKE, sub / FAKE)
    if variant == "wrong_draw":
        f = sub / FAKE / "stats.py"
        f.write_text(f.read_text().replace("Random(seed)", "Random(seed + 1)"))
    seed = json.loads((rel / "grader/expected/index.json").read_text())["run_seeds"][1]
    theirs = _grade(instructor, sub, "--seed", str(seed))
    ours = _grade(rel, sub, "--seed", str(seed))
    assert _visible(ours) == _visible(theirs)
    assert set(_visible(ours)) == {f"{FAKE}.mean", f"{FAKE}.draw"}
    draw = _visible(ours)[f"{FAKE}.draw"]
    assert draw[0] == ("passed" if variant == "complete" else "failed"), draw
    assert HIDDEN_ID in {c["id"] for lec in theirs["submissions"][0]["lectures"]
                         for c in lec["checks"]}


def test_release_picks_a_fixed_seed_and_explains_other_seeds(built, tmp_path):
    instructor, rel = built
    sub = tmp_path / "sub"
    shutil.copytree(instructor / "reference" / FAKE, sub / FAKE)
    seeds = json.loads((rel / "grader/expected/index.json").read_text())["run_seeds"]
    report = _grade(rel, sub)
    assert report["seed"] in seeds
    assert all(s == "passed" for s, _, _ in _visible(report).values())
    other = _visible(_grade(rel, sub, "--seed", "12345"))
    assert other[f"{FAKE}.mean"][0] == "passed"        # library oracle: any seed works
    status, points, message = other[f"{FAKE}.draw"]
    assert status == "error" and points == 0
    assert "precomputed" in message and str(seeds[0]) in message


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


# -- the oracle's record / replay, in process ---------------------------------------------------
FAKE_REF = '''\
    import numpy as np
    import torch


    def plain(x):
        return {"f": x * 1.5, "nan": float("nan"), ("a", 1): (1, "b"), "s": {3}, "b": b"xy",
                "l": [np.float32(2.5), np.arange(4, dtype=np.int16)]}


    def noisy(n, g):
        return torch.randn(n, generator=g, dtype=torch.float64)


    def half(t):
        return (t * 0.5).to(torch.bfloat16)


    def strict(x):
        if x < 0:
            raise ValueError("negative input")
        return x


    def grow(xs):
        xs.append(1)
        return len(xs)


    class Tokenizer:
        def __init__(self, vocab):
            self.vocab = vocab
            self.merges = {}

        def train(self, text):
            self.merges = {(text[i], text[i + 1]): 256 + i for i in range(len(text) - 1)}
            return self

        def encode(self, text):
            return [self.vocab.index(c) for c in text]
    '''


@pytest.fixture
def fake_reference(tmp_path, monkeypatch, request):
    package = f"zthfake_{request.node.name.replace('[', '_').replace(']', '_')}"
    write(tmp_path / "reference" / package / "__init__.py", "")
    write(tmp_path / "reference" / package / "m.py", FAKE_REF)
    monkeypatch.setattr(oracle, "ROOT", tmp_path)
    return package


def _ctx(check_id: str = "fake.check", seed: int = 5) -> Context:
    return Context("fake", Check(id=check_id, title="t", points=1),
                   Tolerance(rtol=0, atol=0), seed, 1.0, None, {})


def _session(ctx: Context, package: str):
    """What a check does with the reference; returns what it saw."""
    ref = oracle.reference(package, "m")
    g = torch.Generator().manual_seed(ctx.seed)
    noise = ref.noisy(3, g)
    after = torch.rand(2, generator=g)           # uses the generator after the reference did
    tok = ref.Tokenizer(list("abc")).train("abcab")
    with pytest.raises(ValueError, match="negative"):
        ref.strict(-1)
    return [ref.plain(2.0), noise, after, ref.half(torch.ones(2)), tok.merges,
            tok.encode("cab"), tok.vocab, ref.strict(3)]


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def test_oracle_replays_what_the_reference_answered(fake_reference, tmp_path):
    direct = _session(_ctx(), fake_reference)
    with oracle.recording() as rec:
        recorded = _session(_ctx(), fake_reference)
    assert _same(direct, recorded)
    oracle.write_store(tmp_path / "store", rec, [5], {"fake.check"}, {})
    with oracle.replaying(tmp_path / "store"):
        replayed = _session(_ctx(), fake_reference)
    assert _same(direct, replayed)
    assert replayed[5] == [2, 0, 1] and replayed[4][("a", "b")] == 259


def test_oracle_replay_refuses_other_seeds_and_other_arguments(fake_reference, tmp_path):
    with oracle.recording() as rec:
        _session(_ctx(), fake_reference)
    oracle.write_store(tmp_path / "store", rec, [5], {"fake.check"}, {})
    with oracle.replaying(tmp_path / "store"):
        with pytest.raises(ProbeFailed, match="fixed seeds only") as e:
            _session(_ctx(seed=6), fake_reference)
        assert e.value.status == "error"

        def other_args(ctx):
            return oracle.reference(fake_reference, "m").noisy(4, torch.Generator())
        with pytest.raises(ProbeFailed, match="other arguments"):
            other_args(_ctx())


def test_oracle_recording_refuses_in_place_changes(fake_reference):
    def check(ctx):
        return oracle.reference(fake_reference, "m").grow([1, 2])
    with oracle.recording(), pytest.raises(oracle.OracleError, match="in place"):
        check(_ctx())


def test_oracle_is_the_plain_module_in_the_instructor_build(fake_reference):
    ref = oracle.reference(fake_reference, "m")
    assert ref.strict(2) == 2 and isinstance(ref.Tokenizer(["a"]), type(ref.Tokenizer(["b"])))


# -- acceptance: a fresh environment, the real course -----------------------------------------
@pytest.mark.slow
def test_fresh_venv_release_of_this_repo_grades_like_the_repo(tmp_path):
    """`zth release`, then a venv that sees only the release (its deps through a .pth file):
    grading the reference solutions there equals grading them here, check by check."""
    rel = tmp_path / "rel"
    r = zth("release", str(rel), "--seeds", "1", timeout=3000)
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
    seed = json.loads((rel / "grader/expected/index.json").read_text())["run_seeds"][0]
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
