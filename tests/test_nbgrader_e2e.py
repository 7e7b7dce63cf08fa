"""nbgrader end to end on micrograd: init, generate, four students, autograde, feedback, export.

Students: `correct` (reference modules, solutions in the notebook), `buggy` (one-sided numerical
derivative), `untouched` (the release as handed out) and `hostile` (always-equal objects in its
modules; in the notebook a fake `sys.modules['grader']` whose `check` passes everything, an edited
test cell and `os._exit` in a cell). The recorded scores must be the sandboxed grader's.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import nbformat
except ImportError:    # each test skips with the reason (ZTH_REQUIRE=nbgrader: fails)
    nbformat = None
# ~90 s: four students through a real kernel and the grader
pytestmark = [pytest.mark.slow, pytest.mark.needs("nbgrader")]

from conftest import ASSIGNMENTS, REFERENCE, mutant, zth

from grader.config import load_course
from grader.runner import grade

LECTURE = "micrograd"
COURSE = load_course()
CHECKS = {c.id: c for c in COURSE.lecture(LECTURE).checks}
FULL = sum(c.points for c in CHECKS.values())
HIDDEN = [c for c in CHECKS.values() if c.visibility == "hidden"]
# what the hostile modules honestly implement (the reference engine and viz)
HONEST = {"micrograd.ops", "micrograd.backward", "micrograd.accumulate", "micrograd.tanh",
          "micrograd.exp", "micrograd.log", "micrograd.draw_dot", "micrograd.big_graph"}

ALWAYS_EQUAL = '''
class AlwaysEqual(float):
    """Equal to everything, a float to isinstance, and its own grad."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    def __gt__(self, other): return False
    __hash__ = float.__hash__
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def __iter__(self): return iter([self] * 64)
    def __len__(self): return 64
'''
HOSTILE_NN = ALWAYS_EQUAL + '''

class Module:
    def zero_grad(self):
        pass

    def parameters(self):
        return [AlwaysEqual(0.5)] * 64


class Neuron(Module):
    def __init__(self, nin, nonlin=True):
        self.w, self.b, self.nonlin = [AlwaysEqual(0.5)] * nin, AlwaysEqual(0.5), nonlin

    def __call__(self, x):
        return AlwaysEqual(0.5)


class Layer(Neuron):
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin) for _ in range(nout)]


class MLP(Neuron):
    def __init__(self, nin, nouts):
        self.layers = [Layer(nin, n) for n in nouts]
'''
HOSTILE_EXERCISES = ALWAYS_EQUAL + '''

def numerical_grad(f, args, h=1e-6):
    return [AlwaysEqual(0.5) for _ in args]


def softmax(logits):
    return [AlwaysEqual(0.5) for _ in logits]


def nll(logits, target):
    return AlwaysEqual(0.5)
'''
FAKE_GRADER = '''import sys, types
class AlwaysEqual:
    def __eq__(self, other):
        return True
fake = types.ModuleType("grader")
fake.nb = types.ModuleType("grader.nb")
fake.nb.check = lambda *ids: print("PASS", *ids)
sys.modules["grader"], sys.modules["grader.nb"] = fake, fake.nb
assert AlwaysEqual() == 42'''


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"OMP_NUM_THREADS": "1", **os.environ,
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          check=False, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
    return proc


def solutions_filled(release_nb, source_nb):
    """The release notebook with the reference's answer in every solution cell."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for c in release_nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    return release_nb


def hostile_notebook(nb):
    cells = nb.cells
    setup = next(i for i, c in enumerate(cells) if c.get("id") == "setup")
    cells.insert(setup + 1, nbformat.v4.new_code_cell(FAKE_GRADER))
    for c in cells:  # a test cell edited to pass (nbgrader restores locked cells)
        if c.get("id") == "test_nn":
            c.source = "print('all good')"
    last_test = max(i for i, c in enumerate(cells) if c.get("id", "").startswith("test_"))
    cells.insert(last_test, nbformat.v4.new_code_cell("import os\nos._exit(0)"))
    return nb


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course = tmp / "course"
    out = zth("nbgrader", "init", str(course), "--lecture", LECTURE)
    assert out.returncode == 0, out.stderr
    nbgrader(course, "generate_assignment", LECTURE)
    release = course / "release" / LECTURE
    source_nb = nbformat.read(course / "source" / LECTURE / f"{LECTURE}.ipynb", 4)

    def submit(student: str, package: Path, nb) -> None:
        dest = course / "submitted" / student / LECTURE
        shutil.copytree(release, dest)
        shutil.rmtree(dest / LECTURE)
        shutil.copytree(package, dest / LECTURE, ignore=shutil.ignore_patterns("__pycache__"))
        nbformat.write(nb, dest / f"{LECTURE}.ipynb")

    def released():
        return nbformat.read(release / f"{LECTURE}.ipynb", 4)

    submit("correct", REFERENCE / LECTURE, solutions_filled(released(), source_nb))
    buggy = mutant(tmp, LECTURE, {"exercises.py": [
        ("grads.append((f(*up) - f(*down)) / (2 * h))", "grads.append((f(*up) - f(*args)) / h)")]})
    submit("buggy", buggy / LECTURE, solutions_filled(released(), source_nb))
    submit("untouched", release / LECTURE, released())
    hostile = tmp / "hostile"
    shutil.copytree(REFERENCE / LECTURE, hostile, ignore=shutil.ignore_patterns("__pycache__"))
    (hostile / "nn.py").write_text(HOSTILE_NN)
    (hostile / "exercises.py").write_text(HOSTILE_EXERCISES)
    submit("hostile", hostile, hostile_notebook(solutions_filled(released(), source_nb)))

    nbgrader(course, "autograde", LECTURE)
    nbgrader(course, "generate_feedback", LECTURE)
    nbgrader(course, "export")
    return course


@pytest.fixture(scope="module")
def scores(course_dir) -> dict[str, float]:
    with open(course_dir / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["assignment"] for r in rows} == {LECTURE}
    for r in rows:
        assert float(r["max_score"]) == FULL
    return {r["student_id"]: float(r["raw_score"]) for r in rows}


def test_exact_scores_come_from_the_grader(scores):
    assert scores == {
        "correct": FULL,
        "buggy": FULL - CHECKS["micrograd.numerical_grad"].points,
        "untouched": 0,
        "hostile": sum(CHECKS[i].points for i in HONEST),
    }


def test_csv_totals_equal_zth_grade_on_the_same_modules(course_dir, scores):
    for student, total in scores.items():
        run = grade(COURSE, course_dir / "submitted" / student / LECTURE, [LECTURE], seed=7)
        assert run.points == total, student


def test_hostile_kernel_tricks_gain_nothing(course_dir):
    nb = nbformat.read(course_dir / "autograded" / "hostile" / LECTURE / f"{LECTURE}.ipynb", 4)
    tests = [c for c in nb.cells if c.get("id", "").startswith("test_")]
    text = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in tests}
    # every test cell carries the grader's verdict, not the fake check's "PASS ..."
    assert all(t.startswith("zth grader · micrograd") for t in text.values()), text
    assert "FAIL" in text["test_nn"] and "from grader.nb import check" in \
        next(c.source for c in tests if c.id == "test_nn")
    # the kernel died in the os._exit cell: the cells after it did not run
    died = [c for c in nb.cells
            if any(o.get("ename") == "KernelDied" for o in c.get("outputs", []))]
    assert died and "os._exit" in died[0].source


def test_feedback_shows_verdicts_but_no_hidden_test(course_dir):
    assert HIDDEN, "micrograd should have a hidden check for this test to mean something"
    for student in ("correct", "buggy", "untouched", "hostile"):
        html = (course_dir / "feedback" / student / LECTURE / f"{LECTURE}.html").read_text()
        assert "micrograd.ops" in html and "zth grader" in html
        assert "HIDDEN TESTS" not in html
        for c in HIDDEN:
            assert c.id not in html and c.title not in html, (student, c.id)
    correct = (course_dir / "feedback" / "correct" / LECTURE / f"{LECTURE}.html").read_text()
    hidden_points = sum(c.points for c in HIDDEN)
    assert f"hidden checks: {hidden_points:g}/{hidden_points:g} points" in correct


def test_generate_assignment_gives_the_committed_release_notebook(course_dir):
    got = (course_dir / "release" / LECTURE / f"{LECTURE}.ipynb").read_text()
    assert got == (ASSIGNMENTS / "notebooks" / f"{LECTURE}.ipynb").read_text()
    for f in (ASSIGNMENTS / LECTURE).glob("*.py"):
        assert (course_dir / "release" / LECTURE / LECTURE / f.name).read_text() == f.read_text()


def test_init_refuses_to_overwrite_without_force(course_dir):
    out = zth("nbgrader", "init", str(course_dir))
    assert out.returncode == 2 and "--force" in out.stderr


AVAILABLE = [p.stem for p in sorted((REFERENCE / "notebooks").glob("*.ipynb"))]


@pytest.mark.parametrize("lecture", AVAILABLE)
def test_reference_autogrades_to_full_marks_and_the_release_to_zero(lecture, tmp_path):
    from nbgrader.api import Gradebook
    course = tmp_path / "course"
    assert zth("nbgrader", "init", str(course), "--lecture", lecture).returncode == 0
    nbgrader(course, "generate_assignment", lecture)
    release = course / "release" / lecture
    source_nb = nbformat.read(course / "source" / lecture / f"{lecture}.ipynb", 4)
    package = COURSE.lecture(lecture).package
    for student, modules, nb in (
            ("reference", REFERENCE / package,
             solutions_filled(nbformat.read(release / f"{lecture}.ipynb", 4), source_nb)),
            ("untouched", release / package, nbformat.read(release / f"{lecture}.ipynb", 4))):
        dest = course / "submitted" / student / lecture
        shutil.copytree(release, dest)
        shutil.rmtree(dest / package)
        shutil.copytree(modules, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
        nbformat.write(nb, dest / f"{lecture}.ipynb")
    nbgrader(course, "autograde", lecture)
    full = sum(c.points for c in COURSE.lecture(lecture).checks)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, want in (("reference", full), ("untouched", 0)):
            sub = gb.find_submission_notebook(lecture, lecture, student)
            auto = [g for g in sub.grades if g.cell.cell_type == "code"]
            assert sum(g.auto_score for g in auto) == want, student
            manual = [g for g in sub.grades if g.cell.cell_type == "markdown"]
            assert all(g.needs_manual_grade for g in manual) or student == "untouched"


def test_validate_shows_a_student_the_visible_verdicts(tmp_path):
    work = tmp_path / "student"
    shutil.copytree(ASSIGNMENTS / LECTURE, work / LECTURE)
    shutil.copy(ASSIGNMENTS / "notebooks" / f"{LECTURE}.ipynb", work)
    out = nbgrader(work, "validate", f"{LECTURE}.ipynb").stdout
    assert "VALIDATION FAILED" in out
    for cid, c in CHECKS.items():
        if c.visibility == "visible":
            assert f"TODO    {cid}" in out, cid
        else:
            assert cid not in out
    shutil.rmtree(work / LECTURE)
    shutil.copytree(REFERENCE / LECTURE, work / LECTURE)
    out = nbgrader(work, "validate", f"{LECTURE}.ipynb").stdout
    assert "Success! Your notebook passes all the tests." in out
