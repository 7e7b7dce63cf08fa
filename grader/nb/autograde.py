"""Preprocessors for `nbgrader autograde`: the score comes from the grader, not the kernel.

nbgrader alone scores a test cell by what the student's kernel printed, and the kernel runs the
student's code: an always-equal object or a replaced `sys.modules['grader']` passes any assert
there. Our pipeline (configured by `zth nbgrader init` in nbgrader_config.py):

    ZthGrade       grades the submission's lecture package(s) with the sandboxed grader, before
                   the kernel runs anything, and keeps the results in the conversion's resources;
                   which checks each test cell stands for comes from the gradebook's copy of the
                   source notebook, never from the submitted one
    SafeExecute    nbgrader's Execute with the kernel in a sandbox on a copy of the notebook's
                   folder (box.py), the course folder verified and restored after it (guard.py);
                   a cell that kills the kernel (os._exit) fails alone
    ...            nbgrader's IgnorePattern, ClearMetadata, LimitOutput
    ZthVerdicts    replaces every test cell's outputs with the grader's verdict for its checks
    SaveAutoGrades nbgrader reads the score from those outputs: full marks when all passed, the
                   points as the cell's result when some passed, an error when none did
    ZthSeal        writes every test cell's score into the gradebook from the grader's results
                   once more, whatever the submitted notebook kept of its test cells

Outputs are stdout only, so warnings can never zero a correct cell. Hidden checks are summed,
never named, so feedback does not reveal them. So the exported grade is `zth grade` of the same
modules whatever a notebook does: its kernel never sees the course folder (or, on the weakest
layer, whatever it changed there is put back before anything is recorded), and the recorded
scores come only from the sandboxed grader.
"""
from __future__ import annotations

import atexit
import time
from pathlib import Path
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from ..config import DEFAULT_COURSE, load_course
from ..sandbox import choose_isolation
from .box import Box, BoxedKernelManager, BoxError
from .cells import check_ids, is_test_cell, nbgrader_meta, source_text
from .guard import CourseGuard
from .verdict import render

KEY = "zth"


def trusted_cells(resources) -> dict[str, tuple[list[str], float]] | None:
    """grade_id -> (check ids, points) of every graded cell, from the gradebook's copy of the
    source notebook (what `generate_assignment` recorded), or None outside `nbgrader autograde`."""
    info = resources.get("nbgrader") if resources else None
    if not info or not info.get("db_url"):
        return None
    try:
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            sources = {c.name: c.source for c in notebook.source_cells}
            return {c.name: (check_ids(sources.get(c.name, "")) if c.cell_type == "code" else [],
                             float(c.max_score)) for c in notebook.grade_cells}
    except MissingEntry:
        return None


def cell_score(results: dict, ids: list[str], cell_max: float) -> float:
    """A test cell's points: its share of the cell's points by the points its checks earned."""
    got = [results[i] for i in ids if i in results]
    if len(got) < len(ids):
        return 0.0
    earned = sum(r.points for r in got)
    group_max = sum(r.max_points for r in got)
    return round(cell_max * earned / group_max, 6) if group_max else cell_max


class ZthRestoreCells(NbGraderPreprocessor):
    """Sanitizing, before nbgrader's OverwriteCells: every cell that claims a grade id gets the
    flags, points, checksum and type the gradebook recorded for it (and its recorded source when
    locked); a cell whose grade id the gradebook does not know loses its nbgrader metadata.

    nbgrader alone restores a locked cell's source and points but not its `grade`/`solution`
    flags, and then refuses the whole submission ("Inconsistent checksums"): a student who
    unticks a test cell's "autograded" box would get no grade at all instead of their code's."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            sources = {c.name: (c.cell_type, c.locked, c.checksum, c.source)
                       for c in notebook.source_cells}
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
            tasks = {c.name for c in getattr(notebook, "task_cells", [])}
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            if not meta:        # DeduplicateIds empties a repeated id's metadata: drop it
                del cell.metadata["nbgrader"]
                continue
            gid = meta.get("grade_id")
            if gid not in sources:
                self.log.warning("zth: cell %s claims grade id %r, which the assignment does not "
                                 "have: not graded", index, gid)
                del cell.metadata["nbgrader"]
                continue
            cell_type, locked, checksum, source = sources[gid]
            if cell.cell_type != cell_type:
                self.log.warning("zth: cell %s was a %s cell: back to %s", gid, cell.cell_type,
                                 cell_type)
                new = new_code_cell() if cell_type == "code" else new_markdown_cell()
                new.metadata = cell.metadata
                if "id" in cell:
                    new["id"] = cell["id"]
                new.source = cell.source
                nb.cells[index] = cell = new
            restored = {"grade": gid in points, "solution": gid in solutions,
                        "task": gid in tasks, "locked": bool(locked), "grade_id": gid,
                        "checksum": checksum, "schema_version": meta.get("schema_version", 3)}
            if gid in points:
                restored["points"] = points[gid]
            if any(bool(meta.get(k)) != restored[k] for k in ("grade", "solution", "locked")) \
                    or float(meta.get("points", 0) or 0) != restored.get("points", 0):
                self.log.warning("zth: cell %s: nbgrader metadata restored from the gradebook",
                                 gid)
            meta.clear()
            meta.update(restored)
            if locked:
                cell.source = source
        return nb, resources


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
        cells = trusted_cells(resources)
        named = ([ids for ids, _ in cells.values()] if cells is not None else
                 [check_ids(source_text(c)) for c in nb.cells if is_test_cell(c)])
        lectures = []
        for ids in named:
            for cid in ids:
                lid = cid.split(".")[0]
                if lid in course.lectures and lid not in lectures:
                    lectures.append(lid)
        path = Path(resources["metadata"]["path"] or ".")
        _keep_warm()
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
        resources[KEY] = {"results": results, "headers": headers, "cells": cells}
        return nb, resources


_warm = []


def _keep_warm() -> None:
    """`nbgrader autograde` grades every student in one process: keep the lectures' fork
    servers (grader/sandbox/server.py) warm from the first notebook to the process's end (their
    atexit closes them), instead of one cold start per lecture per student."""
    if not _warm:
        from ..sandbox.server import POOL
        _warm.append(POOL.hold())
        _warm[0].__enter__()


_guards: dict[Path, CourseGuard] = {}


def _guard(root: Path, db: Path | None) -> CourseGuard:
    """One guard per course folder for the whole `nbgrader autograde` run (copies are kept
    between notebooks, so only what changed is copied again)."""
    root = root.resolve()
    if root not in _guards:
        if not _guards:
            atexit.register(lambda: [g.close() for g in _guards.values()])
        _guards[root] = CourseGuard(root, [db] if db else [])
    return _guards[root]


class SafeExecute(Execute):
    """Execute in a sandbox, with the course folder verified and restored after the kernel; a
    dead kernel fails the cell that killed it and skips the rest."""

    isolation = Unicode("", help="ask for a weaker sandbox layer for the kernel: uid-drop or "
                        "process (default: the strongest available)").tag(config=True)
    interrupt_grace = Float(5.0, help="seconds a kernel has to answer after a timed-out cell "
                            "was interrupted, before it is stopped").tag(config=True)
    landlock = Bool(True, help="outside bubblewrap, confine the kernel with Landlock (turn off "
                    "only to see guard.py restore what an unconfined kernel did)").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", BoxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        self._stopped = False
        resources = resources if resources is not None else {}
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        layer, note = choose_isolation(self.isolation or None)
        root = Path(CourseDirectory(config=self.config).root)
        db_url = resources.get("nbgrader", {}).get("db_url", "")
        db = Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None
        guard = _guard(root, db)
        guard.snapshot()
        try:
            self._box = Box(folder, layer, confine=self.landlock)
        except BoxError as e:       # the submission's folder is refused: no kernel at all
            self.log.warning("not running %s: %s", folder, e)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [_error("NotRun", f"the notebook was not run: {e}")]
            return nb, resources
        if layer != "bubblewrap" and not self.landlock:
            layer += " without landlock"
        self.log.info("zth: the kernel runs in the %s sandbox%s", layer,
                      f" ({note})" if note else "")
        try:
            return super().preprocess(nb, resources, km)
        finally:
            killed = self._box.close()
            fixed = guard.restore()
            if killed:
                self.log.warning("zth: killed %d process(es) the notebook's kernel left running",
                                 len(killed))
            for line in fixed:
                self.log.warning("zth: %s", line)
            resources.setdefault(KEY, {})["kernel"] = {"layer": layer, "restored": fixed,
                                                       "killed": len(killed)}

    async def _async_handle_timeout(self, timeout, cell=None):
        """nbclient interrupts a cell past its time limit; a kernel that ignores the interrupt
        (SIGINT caught, a C loop) would make every later cell wait as long, so it is stopped
        and the remaining cells are not run (their scores never depended on the kernel)."""
        reply = await super()._async_handle_timeout(timeout, cell)
        if not await self._responds(self.interrupt_grace):
            self.log.warning("zth: the kernel ignored the interrupt after a cell timed out: "
                             "stopping it; the remaining cells are not run")
            self._stopped = True
            await ensure_async(self.km.shutdown_kernel(now=True))
        return reply

    async def _responds(self, seconds: float) -> bool:
        """Whether the kernel answers a kernel_info request within `seconds`."""
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, BoxedKernelManager):
            km.use(self._box)
        return km

    def preprocess_cell(self, cell, resources, index):
        if self._died_in is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error("KernelDied", f"not run: the kernel died in cell "
                                       f"{self._died_in}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            if not self._stopped:
                raise
            self._died_in = index       # its output never came: the kernel was stopped
            cell.outputs.append(_error("KernelStopped", "this cell ran past its time limit and "
                                       "ignored the interrupt: the kernel was stopped"))
            return cell, resources
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
        trusted = resources[KEY].get("cells")
        if trusted is not None:
            if gid not in trusted:
                # not a graded cell of the assignment: it can record nothing
                cell.metadata.get("nbgrader", {})["grade"] = False
                cell.outputs = [_error("UnknownCell", f"cell {gid} is not a test cell of this "
                                       "assignment: not graded")]
                return cell, resources
            ids, cell_max = trusted[gid]
            cell.metadata["nbgrader"]["points"] = int(cell_max) if cell_max == int(cell_max) \
                else cell_max
        else:
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
        header = resources[KEY]["headers"][ids[0]]
        if kernel := resources[KEY].get("kernel"):
            header += f" · kernel: {kernel['layer']}"
        text = render(results, header, show_hidden=False)
        group_max = sum(r.max_points for r in results)
        cell_max = float(nbgrader_meta(cell).get("points", group_max))
        if group_max != cell_max:
            self.log.warning("test cell %s is worth %g points but its checks %g in course.yaml: "
                             "scaling (re-run `zth nbgrader init` and generate_assignment)",
                             gid, cell_max, group_max)
        score = cell_score(got, ids, cell_max)
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


class ZthSeal(NbGraderPreprocessor):
    """The last word: every test cell's score in the gradebook is the grader's, even for a test
    cell the submitted notebook lost (after SaveAutoGrades, in nbgrader_config.py)."""

    def preprocess(self, nb, resources):
        zth = resources.get(KEY, {})
        cells, results = zth.get("cells"), zth.get("results")
        if cells is None or results is None:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for gid, (ids, cell_max) in cells.items():
                if not ids:
                    continue
                grade = gb.find_grade(gid, info["notebook"], info["assignment"], info["student"])
                score = cell_score(results, ids, cell_max)
                if grade.auto_score is None or abs(grade.auto_score - score) > 1e-9:
                    self.log.warning("zth: %s: test cell %s recorded %s, the grader says %g: "
                                     "recording %g", info["student"], gid, grade.auto_score,
                                     score, score)
                grade.auto_score = score
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
        return nb, resources


def _error(name: str, message: str):
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])
