"""nbgrader integration, the fast part: notebooks vs course.yaml, release, config, verdicts.

The end-to-end runs through real nbgrader and kernels are in test_nbgrader_e2e.py (slow).
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, REFERENCE, layer_params

from grader.config import ROOT, load_course, parse_course
from grader.nb import cells
from grader.nb.kernel import (
    AUTOGRADING,
    ChecksFailed,
    PackageNotFound,
    check,
    find_package,
    use_package,
)
from grader.results import CheckResult

# without nbgrader each test below skips with the reason (ZTH_REQUIRE=nbgrader: fails), instead
# of the whole module vanishing into one skip
try:
    import nbformat
    from nbgrader.utils import determine_grade

    from grader.nb.autograde import KEY, ZthVerdicts
    from grader.nb.course import available, init_course
    from grader.nb.release import release, release_text, source_notebook
except ImportError:
    nbformat = None
pytestmark = pytest.mark.needs("nbgrader")

COURSE = load_course()
NOTEBOOKS = sorted((REFERENCE / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def test_every_lecture_with_a_reference_has_a_notebook():
    missing = [lid for lid, lec in COURSE.lectures.items()
               if (REFERENCE / lec.package).is_dir() and lid not in IDS]
    assert not missing, f"no reference/notebooks/<id>.ipynb for {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_test_cells_name_exactly_the_lectures_checks(path):
    nb = nbformat.read(path, 4)
    assert cells.lecture_of(nb) == path.stem
    named = [i for ids in cells.test_cells(nb).values() for i in ids]
    want = [c.id for c in COURSE.lecture(path.stem).checks]
    assert sorted(named) == sorted(want), (
        f"reference/notebooks/{path.name}: missing {sorted(set(want) - set(named))}, unknown "
        f"{sorted(set(named) - set(want))}: name each check in one test cell's check(...) call")
    assert cells.sync(copy.deepcopy(nb), COURSE, path.name) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_points_and_hidden_checks_follow_course_yaml(path):
    nb = source_notebook(path)
    checks = {c.id: c for c in COURSE.lecture(path.stem).checks}
    rel = release(nb)
    for src_cell, rel_cell in zip(nb.cells, rel.cells):
        if not cells.is_test_cell(src_cell):
            continue
        ids = cells.check_ids(src_cell.source)
        assert src_cell.metadata.nbgrader.points == sum(checks[i].points for i in ids)
        visible = [i for i in ids if checks[i].visibility == "visible"]
        assert cells.check_ids(rel_cell.source) == visible
        for i in ids:
            if checks[i].visibility == "hidden":
                assert i not in rel_cell.source
                hidden_part = src_cell.source.split(cells.BEGIN_HIDDEN)[1]
                assert i in hidden_part.split(cells.END_HIDDEN)[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_release_notebook_is_built_and_has_no_solutions(path):
    committed = ASSIGNMENTS / "notebooks" / path.name
    assert committed.read_text() == release_text(path), "run `zth build`"
    rel = nbformat.reads(committed.read_text(), 4)
    for c in rel.cells:
        assert "### BEGIN SOLUTION" not in c.source and "HIDDEN TESTS" not in c.source
        assert not c.get("outputs")
    solutions = [c for c in rel.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("YOUR CODE HERE" in c.source or "YOUR ANSWER HERE" in c.source
                             for c in solutions)


def _course_editing(check_id: str, points: int, visibility: str):
    """course.yaml with one check's points and visibility changed."""
    text = (ROOT / "course.yaml").read_text()
    start = text.index(f"- id: {check_id}\n")
    end = text.find("- id:", start + 1)
    block = text[start:end]
    new = re.sub(r"points: [\d.]+", f"points: {points}\n        visibility: {visibility}",
                 re.sub(r"\n *visibility: \w+", "", block))
    return parse_course(text[:start] + new + text[end:])


def test_sync_takes_points_and_visibility_from_course_yaml():
    course = _course_editing("micrograd.draw_dot", 7, "hidden")
    nb = nbformat.read(REFERENCE / "notebooks" / "micrograd.ipynb", 4)
    assert cells.sync(nb, course) == []
    cell = next(c for c in nb.cells if cells.is_test_cell(c)
                and "micrograd.draw_dot" in cells.check_ids(c.source))
    assert cell.metadata.nbgrader.points == 7
    assert cell.source.split("\n")[2] == cells.NO_VISIBLE
    assert cells.BEGIN_HIDDEN in cell.source
    assert "micrograd.draw_dot" not in release(nb).cells[nb.cells.index(cell)].source


def test_sync_drops_unknown_ids_and_adds_missing_checks_to_the_last_cell():
    nb = nbformat.read(REFERENCE / "notebooks" / "micrograd.ipynb", 4)
    tests = [c for c in nb.cells if cells.is_test_cell(c)]
    tests[0].source = tests[0].source.replace('"micrograd.ops"', '"micrograd.gone"')
    notes = cells.sync(nb, COURSE, "nb")
    assert any("micrograd.gone is not in course.yaml" in n for n in notes)
    assert any("micrograd.ops had no test cell" in n for n in notes)
    assert "micrograd.ops" in cells.check_ids(tests[-1].source)


def test_a_check_in_two_cells_is_an_error():
    nb = nbformat.read(REFERENCE / "notebooks" / "micrograd.ipynb", 4)
    tests = [c for c in nb.cells if cells.is_test_cell(c)]
    tests[1].source += '\ncheck("micrograd.ops")'
    with pytest.raises(cells.NotebookError, match="micrograd.ops is in cells"):
        cells.sync(nb, COURSE, "nb")


def _result(cid, passed, points, visibility="visible", message="wrong"):
    return CheckResult(cid, f"title of {cid}", points if passed else 0, points,
                       "passed" if passed else "failed", "" if passed else message, visibility)


def _verdict_cell(results: list[CheckResult], points: float | None = None):
    cell = nbformat.v4.new_code_cell(cells.test_source(
        [r.id for r in results if r.visibility == "visible"],
        [r.id for r in results if r.visibility == "hidden"]))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": "t", "schema_version": 3,
                                 "points": points if points is not None
                                 else sum(r.max_points for r in results)}
    # whatever the kernel printed, including on stderr, is replaced
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="forged\n")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    resources = {KEY: {"results": {r.id: r for r in results},
                       "headers": {r.id: "zth grader · x" for r in results}}}
    nb, _ = ZthVerdicts().preprocess(nb, resources)
    return nb.cells[0]


@pytest.mark.parametrize("passed,score", [((True, True), 15), ((True, False), 10),
                                          ((False, True), 5), ((False, False), 0)])
def test_verdicts_set_the_score_nbgrader_records(passed, score):
    cell = _verdict_cell([_result("x.a", passed[0], 10), _result("x.b", passed[1], 5)])
    assert determine_grade(cell) == (score, 15)
    assert all(o.get("name") != "stderr" for o in cell.outputs)
    assert "forged" not in str(cell.outputs)
    assert cell.outputs[0].text.startswith("zth grader")


def test_verdicts_scale_when_the_cell_is_worth_other_points():
    cell = _verdict_cell([_result("x.a", True, 10), _result("x.b", False, 10)], points=5)
    assert determine_grade(cell) == (2.5, 5)


def test_verdicts_never_name_hidden_checks():
    cell = _verdict_cell([_result("x.a", True, 10),
                          _result("x.secret", False, 5, "hidden", "secret input 42")])
    text = cell.outputs[0].text
    assert "x.secret" not in text and "secret input" not in text and "title of x.secret" not in text
    assert "hidden checks: 0/5 points" in text
    assert determine_grade(cell) == (10, 15)


def test_kernel_check_does_nothing_during_autograding(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.chdir(tmp_path)  # no package here: grading would report it
    check("micrograd.ops")
    assert capsys.readouterr().out.strip() == AUTOGRADING


def test_setup_cell_finds_its_package_wherever_the_notebook_is(tmp_path, monkeypatch):
    """The release notebook's setup cell imports the package beside it or one folder up."""
    nb = nbformat.read(ASSIGNMENTS / "notebooks" / "micrograd.ipynb", 4)
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    assert setup.source.splitlines()[2:4] == [cells.USE_IMPORT,
                                               cells.USE_CALL.format(package="micrograd")]
    repo = tmp_path / "repo"
    shutil.copytree(ASSIGNMENTS / "micrograd", repo / "micrograd")
    (repo / "notebooks").mkdir()
    assert find_package("micrograd", repo / "notebooks") == repo.resolve()   # one folder up
    assert find_package("micrograd", repo) == repo.resolve()                 # beside it
    with pytest.raises(PackageNotFound):
        find_package("micrograd", tmp_path)
    repo.rename(tmp_path / "assignments")
    assert find_package("micrograd", tmp_path) == (tmp_path / "assignments").resolve()
    monkeypatch.chdir(tmp_path / "assignments")
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert use_package("micrograd") == (tmp_path / "assignments").resolve()
    assert str((tmp_path / "assignments").resolve()) in sys.path
    with pytest.raises(PackageNotFound, match="no gpt/ package .* in " + re.escape(str(
            (tmp_path / "assignments").resolve()))):
        find_package("gpt", tmp_path / "assignments")


def test_a_failing_check_shows_its_verdict_once(monkeypatch, tmp_path, capsys):
    """As a notebook opened in assignments/notebooks/ sees it: the package one folder up."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    shutil.copytree(ASSIGNMENTS / "micrograd", tmp_path / "micrograd")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    with pytest.raises(ChecksFailed) as info:
        check("micrograd.draw_dot")
    assert capsys.readouterr().out == ""             # nothing printed besides the error
    shown = "\n".join(info.value._render_traceback_())  # what Jupyter and nbgrader show
    assert shown.count("zth grader · micrograd") == 1
    assert "TODO    micrograd.draw_dot" in shown and "NO PACKAGE" not in shown
    assert shown.endswith("ChecksFailed: 1 of 1 checks did not pass")
    assert "kernel.py" not in shown                  # no frames of ours


def test_kernel_check_rejects_unknown_ids(monkeypatch, tmp_path):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="unknown check id micrograd.nope"):
        check("micrograd.nope")


def test_init_writes_a_course_nbgrader_can_load(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader
    written = init_course(tmp_path, COURSE, ROOT / "course.yaml", ["micrograd"])
    assert Path("nbgrader_config.py") in written
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert cfg.CourseDirectory.course_id == "zth"
    assert cfg.Execute.timeout == max(sum(COURSE.timeout_for(c) for c in lec.checks)
                                      for lec in COURSE.lectures.values())
    stubs = sorted(f"micrograd/{f.name}" for f in (ASSIGNMENTS / "micrograd").glob("*.py"))
    assert cfg.Autograde.exclude_overwriting == {"micrograd": stubs}
    pipeline = cfg.Autograde.autograde_preprocessors
    assert pipeline[0] == "grader.nb.autograde.ZthGrade"
    assert pipeline[1] == "grader.nb.autograde.SafeExecute"       # the sandboxed kernel
    assert pipeline[-1] == "grader.nb.autograde.ZthSeal"          # the grader has the last word
    sanitize = cfg.Autograde.sanitize_preprocessors
    assert sanitize.index("grader.nb.autograde.ZthRestoreCells") < \
        sanitize.index("nbgrader.preprocessors.OverwriteCells")
    assert cfg.GenerateFeedback.preprocessors[-1] == "grader.nb.feedback.ZthFeedback"
    assert "nbgrader.preprocessors.ClearHiddenTests" in cfg.GenerateFeedback.preprocessors
    for stub in stubs:  # the source holds the stubs, never the reference
        assert (tmp_path / "source" / "micrograd" / stub).read_text() == \
            (ASSIGNMENTS / stub).read_text()
    assert "micrograd" in available(COURSE)


@pytest.mark.parametrize("tex,text", [
    (r"f(x) = 3x^2 - 4x + 5", "f(x) = 3x² - 4x + 5"),
    (r"\frac{d}{dn}\tanh n = 1 - \tanh^2 n", "d/dn tanh n = 1 - tanh² n"),
    (r"w \cdot x + b", "w · x + b"),
    (r"\mathrm{mean}_i\,\mathrm{relu}(1 - y_i s_i)", "meanᵢ relu(1 - yᵢ sᵢ)"),
    (r"\frac{QK^T}{\sqrt{d_k}}", "QKᵀ/√dₖ"),
    (r"e^{-x}", "e⁻ˣ"),
    (r"x^{(i)}_{\text{new}}", "x⁽ⁱ⁾_(new)"),
])
def test_feedback_writes_tex_as_text(tex, text):
    from grader.nb.feedback import latex_text
    assert latex_text(tex) == text


def test_feedback_maths_leaves_code_and_money_alone():
    from grader.nb.feedback import plain_maths
    md = ("The slope of $f$ is $(f(x+h) - f(x)) / h$; `$x$` is code, so is\n```\n$y$\n```\n"
          "and \\$5 costs $3 or $4.\n$$a^2 + b^2 < c$$")
    out = plain_maths(md)
    assert '<span class="zth-math">f</span>' in out
    assert '<span class="zth-math">(f(x+h) - f(x)) / h</span>' in out
    assert "`$x$`" in out and "```\n$y$\n```" in out
    assert "\\$5 costs $3 or $4." in out
    assert '<div class="zth-math">a² + b² &lt; c</div>' in out      # escaped for HTML


def test_guard_undoes_what_a_kernel_did(tmp_path):
    """Every kind of change to the course folder is put back; nbgrader's own writes between
    kernels are taken in by the next snapshot."""
    from grader.nb.guard import CourseGuard, GuardError
    course = tmp_path / "course"
    (course / "autograded" / "bob").mkdir(parents=True)
    (course / "gradebook.db").write_bytes(b"grades")
    (course / "autograded" / "bob" / "nb.ipynb").write_text("bob's notebook")
    (course / "submitted").mkdir()
    (course / "submitted" / "a.py").write_text("code")
    (course / "link").symlink_to("submitted/a.py")
    guard = CourseGuard(course)
    try:
        guard.snapshot()
        before = {p: (p.read_bytes() if p.is_file() and not p.is_symlink() else None,
                      p.stat().st_mode) for p in course.rglob("*")}
        (course / "gradebook.db").write_bytes(b"forged")            # edited
        (course / "submitted" / "a.py").unlink()                      # deleted
        shutil.rmtree(course / "autograded")                          # a folder deleted
        (course / "autograded").write_text("now a file")              # ... replaced by a file
        (course / "feedback").mkdir()                                 # created
        (course / "feedback" / "x.html").write_text("FORGED")
        (course / "link").unlink()
        (course / "link").symlink_to("/etc/passwd")                   # a link redirected
        os.chmod(course / "submitted", 0o700)                         # permissions
        fixed = guard.restore()
        after = {p: (p.read_bytes() if p.is_file() and not p.is_symlink() else None,
                     p.stat().st_mode) for p in course.rglob("*")}
        assert after == before
        assert os.readlink(course / "link") == "submitted/a.py"
        assert any("gradebook.db" in f for f in fixed) and any("feedback" in f for f in fixed)
        assert guard.restore() == []                                  # nothing left to do
        (course / "autograded" / "alice.ipynb").write_text("nbgrader wrote this")
        guard.snapshot()                                              # between kernels
        (course / "autograded" / "alice.ipynb").write_text("forged")
        guard.restore()
        assert (course / "autograded" / "alice.ipynb").read_text() == "nbgrader wrote this"
        # its own copies are verified before they are trusted
        (course / "gradebook.db").write_bytes(b"forged again")
        for copy in guard.store.iterdir():
            copy.write_bytes(b"forged copy")
        with pytest.raises(GuardError, match="copy was changed"):
            guard.restore()
    finally:
        guard.close()


KERNEL_PROBE = r'''
import json, os, signal, socket
out = {}
for name, path in (("relative", "../../../gradebook.db"), ("absolute", DB),
                   ("hidden", HIDDEN), ("course_yaml", COURSE_YAML)):
    try:
        open(path, "rb").read(1)
        out[name] = "read"
    except OSError as e:
        out[name] = type(e).__name__
try:
    open(DB, "ab").write(b"x")
    out["write"] = "wrote"
except OSError as e:
    out["write"] = type(e).__name__
open("mine.txt", "w").write("the copy is writable")
import grader.data, micrograd
out["helpers"] = len(grader.data.read_words()) > 1000 and micrograd.__name__ == "micrograd"
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2)
    out["tcp"] = "connected"
except OSError as e:
    out["tcp"] = type(e).__name__
try:
    os.kill(os.getppid() if LAYER != "bubblewrap" else 1, 0)
    out["signal_parent"] = "allowed"
except OSError as e:
    out["signal_parent"] = type(e).__name__
print("PROBE" + json.dumps(out))
'''


def _landlock_abi() -> int:
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return -1


@pytest.mark.parametrize("layer", layer_params(("bubblewrap", "process")))
def test_notebook_kernel_runs_without_the_course(layer, tmp_path):
    """The autograde kernel sees a copy of the notebook's folder and helpers, not the course."""
    from nbclient import NotebookClient

    from grader.nb.box import Box, BoxedKernelManager
    if layer == "process" and _landlock_abi() < 6:
        pytest.skip("this Linux has no Landlock ABI 6: the process-layer kernel is confined by "
                    "guard.py's restore only (tested in test_nbgrader_e2e.py)")
    course = tmp_path / "course"
    folder = course / "autograded" / "alice" / "micrograd"
    shutil.copytree(ASSIGNMENTS / "micrograd", folder / "micrograd")
    (course / "gradebook.db").write_bytes(b"grades")
    hidden = ROOT / "grader" / "lectures" / "micrograd" / "hidden.py"
    server = socket.create_server(("127.0.0.1", 0))     # something to reach on the loopback
    code = (f"DB, HIDDEN, COURSE_YAML, LAYER, PORT = {str(course / 'gradebook.db')!r}, "
            f"{str(hidden)!r}, {str(ROOT / 'course.yaml')!r}, {layer!r}, "
            f"{server.getsockname()[1]}" + KERNEL_PROBE)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    box = Box(folder, layer)
    try:
        km = BoxedKernelManager(kernel_name="python3")
        km.use(box)
        NotebookClient(nb, km=km, timeout=120, allow_errors=True).execute()
    finally:
        box.close()
        server.close()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "PROBE" in text, nb.cells[0].outputs
    got = json.loads(text.split("PROBE", 1)[1])
    assert hidden.is_file() and got["hidden"] != "read" and got["course_yaml"] != "read", got
    assert got["absolute"] != "read" and got["relative"] != "read", got
    assert got["write"] != "wrote" and (course / "gradebook.db").read_bytes() == b"grades", got
    assert got["helpers"] is True, got
    if layer == "bubblewrap":                        # its own network namespace
        assert got["tcp"] != "connected", got
    assert not (folder / "mine.txt").exists()        # it wrote its copy, not the course
    if layer == "process":
        assert got["signal_parent"] != "allowed", got


def test_notebook_folder_copy_leaves_links_and_special_files_out(tmp_path):
    from grader.nb.box import MAX_DEPTH, BoxError, copy_folder
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("x = 1")
    (src / "up").symlink_to(tmp_path)                  # a link out of the folder
    (src / "pkg" / "b.py").symlink_to(src / "pkg" / "a.py")
    os.mkfifo(src / "fifo")
    copy_folder(src, tmp_path / "dst")
    assert sorted(p.relative_to(tmp_path / "dst").as_posix()
                  for p in (tmp_path / "dst").rglob("*")) == ["pkg", "pkg/a.py"]
    deep = tmp_path / "deep"
    (deep.joinpath(*["d"] * (MAX_DEPTH + 2))).mkdir(parents=True)
    with pytest.raises(BoxError, match="deeper than"):
        copy_folder(deep, tmp_path / "dst2")


@pytest.mark.slow
def test_a_kernel_that_ignores_the_timeout_is_stopped(tmp_path):
    """A cell that catches the interrupt and loops must not make every later cell wait its
    full time limit: the kernel is stopped and the rest is reported as not run."""
    import time

    from traitlets.config import Config

    from grader.nb.autograde import SafeExecute
    course = tmp_path / "course"
    folder = course / "autograded" / "eve" / "micrograd"
    folder.mkdir(parents=True)
    (course / "gradebook.db").write_bytes(b"grades")
    config = Config()
    config.CourseDirectory.root = str(course)
    config.SafeExecute.timeout = 4
    config.SafeExecute.interrupt_grace = 2
    config.SafeExecute.isolation = "process"
    stuck = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
             "    pass")
    polite = "import time\ntime.sleep(60)"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(polite), nbformat.v4.new_code_cell("print('after polite')"),
        nbformat.v4.new_code_cell(stuck),
        *[nbformat.v4.new_code_cell("print(1)") for _ in range(3)]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    start = time.monotonic()
    nb, _ = SafeExecute(config=config).preprocess(nb, {"metadata": {"path": str(folder)}})
    took = time.monotonic() - start
    outs = [[o.get("ename") or o.get("text", "").strip() for o in c.outputs] for c in nb.cells]
    assert "CellTimeoutError" in outs[0] and outs[1] == ["after polite"], outs  # interrupted
    assert outs[2] == ["KernelStopped"] and all(o == ["KernelDied"] for o in outs[3:]), outs
    assert took < 4 + 4 + 2 + 30, took        # not 3 more cells x 4 s each on top
