"""Release notebooks from the reference notebooks, through nbgrader's own preprocessors.

The steps of `nbgrader generate_assignment` that change a notebook (LockCells, ClearSolutions,
ClearOutput, ComputeChecksums, ClearHiddenTests, ClearMarkScheme, CheckCellMetadata), in its
order, without its database step: `zth build` writes `assignments/notebooks/` with them, and the
end-to-end test checks that `nbgrader generate_assignment` gives the same notebook.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from ..config import Course, load_course
from .cells import sync

STEPS = [LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
         ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata]


def source_notebook(path: Path, course: Course | None = None) -> nbformat.NotebookNode:
    """The reference notebook with its test cells made canonical for course.yaml."""
    nb = nbformat.read(path, as_version=4)
    sync(nb, course or load_course(), path.name)
    return nb


def release(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's version of a source notebook (solutions and hidden tests removed)."""
    nb = copy.deepcopy(nb)
    resources: dict = {}
    for step in STEPS:
        nb, resources = step().preprocess(nb, resources)
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def release_text(path: Path, course: Course | None = None) -> str:
    return text(release(source_notebook(path, course)))
