"""nbgrader end to end on micrograd: init, generate, five students, autograde, feedback, export.

Students: `correct` (reference modules, solutions in the notebook), `buggy` (one-sided numerical
derivative), `untouched` (the release as handed out), `hostile` (always-equal objects in its
modules; in the notebook a fake `sys.modules['grader']` whose `check` passes everything, an edited
test cell and `os._exit` in a cell) and `tamper` (buggy modules; its notebook's cells forge every
row of gradebook.db, rewrite other students' notebooks, feedback, submitted modules and the
source notebook, delete the gradebook, leave a daemon that forges again later, and the submitted
notebook's own test cell metadata, checksums and grade ids are edited). The recorded scores must
be the sandboxed grader's, whatever the notebook did; the same tampering runs again on the
weakest kernel layer (a plain process without Landlock), where the course folder is writable and
guard.py must put it back.
"""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
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


# the notebook cells of `tamper`: everything a kernel could do to the course folder
TAMPER_FORGE = '''import glob, os, sqlite3
COURSE = {course!r}
hits = []
for db in ["../../../gradebook.db", os.path.join(COURSE, "gradebook.db")]:
    try:
        con = sqlite3.connect("file:" + db + "?mode=rw", uri=True, timeout=1)
        con.execute("UPDATE grade SET manual_score = "
                    "(SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)")
        con.commit()
        con.close()
        hits.append("forged " + db)
    except Exception as e:
        hits.append(f"{{db}}: {{type(e).__name__}}")


def clobber(pattern, text):
    for f in sorted(glob.glob(os.path.join(COURSE, pattern), recursive=True)):
        try:
            with open(f, "w") as fh:
                fh.write(text)
            hits.append("wrote " + f)
        except Exception as e:
            hits.append(f"{{f}}: {{type(e).__name__}}")


clobber("autograded/correct/**/*.ipynb", "{{}}")
clobber("autograded/correct/micrograd/micrograd/*.py", "raise SystemExit")
clobber("submitted/correct/micrograd/micrograd/*.py", "raise SystemExit")
clobber("submitted/tamper/micrograd/micrograd/exercises.py", {reference!r})
clobber("source/micrograd/micrograd.ipynb", "{{}}")
clobber("release/micrograd/micrograd.ipynb", "{{}}")
clobber("nbgrader_config.py", "c = get_config()")
try:
    os.makedirs(os.path.join(COURSE, "feedback", "correct", "micrograd"), exist_ok=True)
    clobber("feedback/correct/micrograd", "")
    with open(os.path.join(COURSE, "feedback", "correct", "micrograd", "micrograd.html"), "w") as f:
        f.write("FORGED")
    hits.append("wrote feedback")
except Exception as e:
    hits.append(f"feedback: {{type(e).__name__}}")
print("TAMPER", hits)'''
TAMPER_DELETE = '''import os, shutil
COURSE = {course!r}
for p in ("gradebook.db", "autograded/buggy", "submitted/buggy"):
    try:
        target = os.path.join(COURSE, p)
        shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        print("TAMPER deleted", p)
    except Exception as e:
        print("TAMPER", p, type(e).__name__)'''
TAMPER_DAEMON = '''import os, sqlite3, time
COURSE = {course!r}
if os.fork() == 0:            # a daemon that outlives the kernel and forges once grades exist
    os.setsid()
    if os.fork() == 0:
        for _ in range(100):
            time.sleep(0.2)
            try:
                con = sqlite3.connect(os.path.join(COURSE, "gradebook.db"), timeout=1)
                con.execute("UPDATE grade SET manual_score = 1000")
                con.commit()
                con.close()
            except Exception:
                pass
        os._exit(0)
    os._exit(0)
print("TAMPER daemon started")'''


def tamper_notebook(nb, course: Path):
    """The tampering kernel cells, and a submitted notebook whose graded cells were edited."""
    reference = (REFERENCE / LECTURE / "exercises.py").read_text()
    cells = nb.cells
    setup = next(i for i, c in enumerate(cells) if c.get("id") == "setup")
    for k, code in enumerate((TAMPER_FORGE.format(course=str(course), reference=reference),
                              TAMPER_DELETE.format(course=str(course)),
                              TAMPER_DAEMON.format(course=str(course)))):
        cells.insert(setup + 1 + k, nbformat.v4.new_code_cell(code))
    for c in cells:
        meta = c.metadata.get("nbgrader", {})
        if c.get("id") == "test_exercises":     # more points, a fresh checksum, a passing body
            meta["points"] = 1000
            c.source = "print('ok')"
            meta["checksum"] = "0" * 32
            meta["locked"] = False
        if c.get("id") == "test_draw_dot":      # no longer a graded cell
            meta["grade"] = False
    # a graded cell of its own, and a markdown cell claiming a test cell's grade id
    bonus = nbformat.v4.new_code_cell('from grader.nb import check\ncheck("micrograd.ops")')
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                  "grade_id": "bonus", "points": 500, "schema_version": 3}
    claim = nbformat.v4.new_markdown_cell("full marks please")
    claim.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False,
                                  "grade_id": "test_engine", "points": 500, "schema_version": 3}
    cells += [bonus, claim]
    # and the test_train cell deleted
    nb.cells = [c for c in cells if c.get("id") != "test_train"]
    return nb


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
    submit("tamper", buggy / LECTURE,
           tamper_notebook(solutions_filled(released(), source_nb), course))

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
        "tamper": FULL - CHECKS["micrograd.numerical_grad"].points,
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


def _outputs(nb, marker: str) -> str:
    return "".join(o.get("text", "") for c in nb.cells if marker in c.get("source", "")
                   for o in c.get("outputs", []))


def _assert_course_intact(course: Path, tamper_ran: str) -> None:
    """Nothing the tamper notebook touched is changed, and no kernel process lives on."""
    for f in (REFERENCE / LECTURE).glob("*.py"):
        assert (course / "submitted" / "correct" / LECTURE / LECTURE / f.name).read_text() == \
            f.read_text(), f.name
        assert (course / "autograded" / "correct" / LECTURE / LECTURE / f.name).read_text() == \
            f.read_text(), f.name
    assert (course / "submitted" / "tamper" / LECTURE / LECTURE / "exercises.py").read_text() \
        != (REFERENCE / LECTURE / "exercises.py").read_text()
    assert (course / "submitted" / "buggy").is_dir()
    assert (course / "autograded" / "buggy" / LECTURE / f"{LECTURE}.ipynb").is_file()
    for path in (course / "autograded" / "correct" / LECTURE / f"{LECTURE}.ipynb",
                 course / "source" / LECTURE / f"{LECTURE}.ipynb",
                 course / "release" / LECTURE / f"{LECTURE}.ipynb"):
        nb = nbformat.read(path, 4)       # still a notebook, with its test cells
        assert any(c.get("id") == "test_engine" for c in nb.cells), path
    assert "c.Autograde.autograde_preprocessors" in (course / "nbgrader_config.py").read_text()
    feedback = course / "feedback" / "correct" / LECTURE / f"{LECTURE}.html"
    assert not feedback.exists() or "FORGED" not in feedback.read_text()
    tamper = nbformat.read(course / "autograded" / "tamper" / LECTURE / f"{LECTURE}.ipynb", 4)
    assert "TAMPER" in _outputs(tamper, "COURSE ="), "the tamper cells did not run"
    assert tamper_ran in _outputs(tamper, "UPDATE grade SET manual_score = \"")
    # the daemon it left would set manual_score = 1000 within 0.2 s if it still ran
    from nbgrader.api import Gradebook
    time.sleep(1)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("correct", "tamper"):
            sub = gb.find_submission_notebook(LECTURE, LECTURE, student)
            assert all(g.manual_score is None for g in sub.grades), student


def test_tampering_notebook_reaches_nothing_in_the_sandbox(course_dir):
    # inside bubblewrap the course folder does not exist for the kernel
    _assert_course_intact(course_dir, "gradebook.db: OperationalError")
    tamper = nbformat.read(course_dir / "autograded" / "tamper" / LECTURE / f"{LECTURE}.ipynb", 4)
    text = _outputs(tamper, "COURSE =")
    # (its private /tmp may hold a folder of the same name: nothing in it is the course's)
    assert "forged" not in text and "TAMPER deleted" not in text, text
    assert f"wrote {course_dir}" not in text, text


def test_tampered_test_cells_score_what_the_grader_says(course_dir):
    nb = nbformat.read(course_dir / "autograded" / "tamper" / LECTURE / f"{LECTURE}.ipynb", 4)
    cells = {c.get("id"): c for c in nb.cells}
    # the edited cell is back to the source's and carries the grader's verdict
    assert "check(" in cells["test_exercises"].source
    assert _outputs(nb, 'check("micrograd.numerical_grad"').startswith("zth grader · micrograd")
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(LECTURE, LECTURE, "tamper")
        got = {g.name: (g.score, g.max_score) for g in sub.grades if g.max_score}
    want = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nbformat.read(course_dir / "source" / LECTURE / f"{LECTURE}.ipynb", 4).cells
            if c.metadata.get("nbgrader", {}).get("grade")}
    assert {k: m for k, (_, m) in got.items()} == want      # no bonus cell, no 1000 points
    assert got["test_train"][0] == CHECKS["micrograd.train"].points      # the deleted cell
    assert got["test_exercises"][0] == CHECKS["micrograd.softmax_nll"].points


@pytest.fixture(scope="module")
def unconfined_course(tmp_path_factory):
    """The tamper notebook again, its kernel a plain process that can write the course folder."""
    tmp = tmp_path_factory.mktemp("nbgrader-unconfined")
    course = tmp / "course"
    assert zth("nbgrader", "init", str(course), "--lecture", LECTURE).returncode == 0
    with open(course / "nbgrader_config.py", "a") as f:
        f.write('c.SafeExecute.isolation = "process"\nc.SafeExecute.landlock = False\n')
    nbgrader(course, "generate_assignment", LECTURE)
    release = course / "release" / LECTURE
    source_nb = nbformat.read(course / "source" / LECTURE / f"{LECTURE}.ipynb", 4)
    buggy = mutant(tmp, LECTURE, {"exercises.py": [
        ("grads.append((f(*up) - f(*down)) / (2 * h))", "grads.append((f(*up) - f(*args)) / h)")]})
    for student, package in (("buggy", buggy / LECTURE), ("correct", REFERENCE / LECTURE),
                             ("tamper", buggy / LECTURE)):
        dest = course / "submitted" / student / LECTURE
        shutil.copytree(release, dest)
        shutil.rmtree(dest / LECTURE)
        shutil.copytree(package, dest / LECTURE, ignore=shutil.ignore_patterns("__pycache__"))
        nb = solutions_filled(nbformat.read(release / f"{LECTURE}.ipynb", 4), source_nb)
        if student == "tamper":
            nb = tamper_notebook(nb, course)
        nbformat.write(nb, dest / f"{LECTURE}.ipynb")
    log = nbgrader(course, "autograde", LECTURE).stderr
    nbgrader(course, "generate_feedback", LECTURE)
    nbgrader(course, "export")
    return course, log


def test_unconfined_kernel_tampering_is_undone(unconfined_course):
    course, log = unconfined_course
    assert "kernel runs in the process without landlock sandbox" in log
    # the kernel did write and delete (it ran unconfined) and every change was put back
    _assert_course_intact(course, "forged")
    assert "restored gradebook.db" in log or "recreated gradebook.db" in log, log[-3000:]
    assert "killed" in log     # the daemon
    with open(course / "grades.csv") as f:
        rows = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(f)}
    for student in ("buggy", "correct", "tamper"):
        run = grade(COURSE, course / "submitted" / student / LECTURE, [LECTURE], seed=7)
        assert rows[student] == run.points, student
    assert rows["tamper"] == FULL - CHECKS["micrograd.numerical_grad"].points


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


PROBE = """<script>
(function () {
  var W = document.documentElement.clientWidth, pres = [], needed = 0;
  document.querySelectorAll('pre').forEach(function (p) {
    if (p.scrollWidth > p.clientWidth + 1) pres.push(p.textContent.slice(0, 80));
    if (p.textContent.indexOf('FAIL') >= 0) {   // would it overflow without wrapping?
      var c = p.cloneNode(true);
      c.style.whiteSpace = 'pre';
      p.parentNode.appendChild(c);
      if (c.scrollWidth > c.clientWidth + 1) needed += 1;
      c.remove();
    }
  });
  var text = document.body.innerText;
  var d = document.createElement('div');
  d.id = 'zth-probe';
  d.textContent = JSON.stringify({overflowing: pres, needed: needed, W: W,
    docw: document.documentElement.scrollWidth, maths: text.match(/\\$[^$\\n]+\\$/g) || [],
    dollars: (text.match(/\\$/g) || []).length,
    spans: document.querySelectorAll('.zth-math').length, text: text});
  document.body.appendChild(d);
})();
</script>"""


def chromium(*args: str) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", *args],   # offline: no CDN reachable
            capture_output=True, text=True, timeout=180, check=False)
    return proc.stdout


@pytest.mark.needs("chromium")
def test_feedback_page_wraps_lines_and_shows_maths_as_text_offline(course_dir, tmp_path):
    page = (course_dir / "feedback" / "buggy" / LECTURE / f"{LECTURE}.html").read_text()
    probed = tmp_path / "feedback.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    dom = chromium("--window-size=800,1200", "--virtual-time-budget=3000", "--dump-dom",
                   probed.as_uri())
    found = re.search(r'<div id="zth-probe">(.*?)</div>', dom, re.S)
    assert found, f"no probe result in the page:\n{dom[-2000:]}"
    got = json.loads(html.unescape(found.group(1)))
    # the buggy student's verdict is on the page, and its failure line needs wrapping at 800 px
    assert "FAIL    micrograd.numerical_grad" in got["text"]
    assert got["needed"] >= 1, "no failure line is longer than its box: the test proves nothing"
    assert got["overflowing"] == [], got["overflowing"]
    assert got["docw"] <= got["W"], "something is wider than the page"
    # no raw TeX: every $...$ of the notebook's text became plain text
    assert got["maths"] == [] and got["dollars"] == 0, got["maths"]
    source = nbformat.read(course_dir / "source" / LECTURE / f"{LECTURE}.ipynb", 4)
    tex = sum(len(re.findall(r"\$[^$\n]+\$", c.source)) for c in source.cells
              if c.cell_type == "markdown")
    assert tex and got["spans"] == tex
    shot = tmp_path / "feedback.png"
    chromium("--window-size=800,2000", f"--screenshot={shot}", probed.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000


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


def test_release_notebook_runs_where_it_ships():
    """assignments/notebooks/micrograd.ipynb executed in place (its folder the kernel's cwd, the
    package one folder up): the setup cell imports the package, and every test cell shows its
    verdict once (the stubs: every visible check TODO)."""
    from nbclient import NotebookClient
    nb = nbformat.read(ASSIGNMENTS / "notebooks" / f"{LECTURE}.ipynb", 4)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    client = NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(ASSIGNMENTS / "notebooks")}})
    client.execute(env=env)
    setup = next(c for c in nb.cells if c.get("id") == "setup")
    assert not [o for o in setup.outputs if o.output_type == "error"], setup.outputs
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        shown = "".join(o.get("text", "") for o in cell.outputs) + "\n".join(
            ansi.sub("", line) for o in cell.outputs for line in o.get("traceback", []))
        assert shown.count(f"zth grader · {LECTURE}") == 1, shown
        assert "NO PACKAGE" not in shown and "Traceback" not in shown, shown
        for cid in re.findall(r'"(micrograd\.\w+)"', cell.source):
            assert f"TODO    {cid}" in shown, (cid, shown)


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
