"""Preprocessors for `nbgrader autograde`: the score comes from the grader, not the kernel.

nbgrader alone scores a test cell by what the student's kernel printed, and the kernel runs the
student's code: an always-equal object or a replaced `sys.modules['grader']` passes any assert
there. Our pipeline (configured by `zth nbgrader init` in nbgrader_config.py):

    ZthGrade       grades the submission's lecture package(s) with the sandboxed grader, before
                   the kernel runs anything, and keeps the results in the conversion's resources
    SafeExecute    nbgrader's Execute, but a cell that kills the kernel (os._exit) fails alone
                   instead of aborting the whole submission
    ...            nbgrader's IgnorePattern, ClearMetadata, LimitOutput
    ZthVerdicts    replaces every test cell's outputs with the grader's verdict for its checks
    SaveAutoGrades nbgrader reads the score from those outputs: full marks when all passed, the
                   points as the cell's result when some passed, an error when none did

Outputs are stdout only, so warnings can never zero a correct cell. Hidden checks are summed,
never named, so feedback does not reveal them.
"""
from __future__ import annotations

from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from ..config import DEFAULT_COURSE, load_course
from .cells import check_ids, is_test_cell, nbgrader_meta, source_text
from .verdict import render

KEY = "zth"


class ZthGrade(NbGraderPreprocessor):
    """Grade the lecture packages next to the notebook with the sandboxed grader."""

    course_file = Unicode(str(DEFAULT_COURSE), help="course.yaml to grade with").tag(config=True)
    seed = Integer(None, allow_none=True, help="replay a grading run (default: a fresh seed, "
                   "shown in every test cell)").tag(config=True)
    isolation = Unicode("", help="ask for a weaker sandbox layer: uid-drop or process "
                        "(default: the strongest available)").tag(config=True)

    def preprocess(self, nb, resources):
        from ..runner import grade
        course = load_course(self.course_file)
        lectures = []
        for cell in nb.cells:
            if is_test_cell(cell):
                for cid in check_ids(source_text(cell)):
                    lid = cid.split(".")[0]
                    if lid in course.lectures and lid not in lectures:
                        lectures.append(lid)
        path = Path(resources["metadata"]["path"] or ".")
        run = grade(course, path, lectures, self.seed, isolation=self.isolation or None)
        sub = run.submissions[0]
        results, headers = {}, {}
        for lec in sub.lectures:
            for r in lec.checks:
                results[r.id] = r
                headers[r.id] = (f"zth grader · {lec.lecture} · seed {run.seed} · "
                                 f"isolation: {lec.isolation}")
        self.log.info("zth: %s graded %s: %g/%g points (seed %d)",
                      resources["nbgrader"].get("student", "?"), ", ".join(lectures) or "nothing",
                      sub.points, sub.max_points, run.seed)
        resources[KEY] = {"results": results, "headers": headers}
        return nb, resources


class SafeExecute(Execute):
    """Execute, except that a dead kernel fails the cell that killed it and skips the rest."""

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if self._died_in is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error("KernelDied", f"not run: the kernel died in cell "
                                       f"{self._died_in}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_in = index
            self.log.warning("the kernel died in cell %d; the remaining cells are not run", index)
            cell.outputs.append(_error("KernelDied", "the kernel died while running this cell"))
            return cell, resources


class ZthVerdicts(NbGraderPreprocessor):
    """Set every test cell's outputs from the grader's results (after Execute)."""

    def preprocess(self, nb, resources):
        if KEY not in resources:
            raise RuntimeError("ZthVerdicts needs ZthGrade earlier in "
                               "Autograde.autograde_preprocessors (see nbgrader_config.py)")
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        gid = nbgrader_meta(cell).get("grade_id", index)
        ids = check_ids(source_text(cell))
        if not ids:
            self.log.warning("test cell %s names no zth check: its score comes from the kernel",
                             gid)
            return cell, resources
        got = resources[KEY]["results"]
        if missing := [i for i in ids if i not in got]:
            cell.outputs = [_error("UnknownCheck", f"no grader result for {', '.join(missing)} "
                                   "(not in course.yaml?)")]
            return cell, resources
        results = [got[i] for i in ids]
        text = render(results, resources[KEY]["headers"][ids[0]], show_hidden=False)
        earned = sum(r.points for r in results)
        group_max = sum(r.max_points for r in results)
        cell_max = float(nbgrader_meta(cell).get("points", group_max))
        if group_max != cell_max:
            self.log.warning("test cell %s is worth %g points but its checks %g in course.yaml: "
                             "scaling (re-run `zth nbgrader init` and generate_assignment)",
                             gid, cell_max, group_max)
        score = round(cell_max * earned / group_max, 6) if group_max else cell_max
        cell.outputs = [new_output("stream", name="stdout", text=text)]
        if score <= 0 < cell_max:
            failed = sum(not r.passed for r in results)
            cell.outputs.append(_error("ChecksFailed", f"0/{cell_max:g} points: {failed} of "
                                       f"{len(results)} checks did not pass"))
        elif score < cell_max:
            cell.execution_count = cell.get("execution_count") or index
            cell.outputs.append(new_output("execute_result", {"text/plain": f"{score:g}"},
                                           execution_count=cell.execution_count))
        return cell, resources


def _error(name: str, message: str):
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])
