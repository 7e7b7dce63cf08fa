"""nbgrader integration: the course as one notebook per lecture, scored by the sandboxed grader.

- `check(...)` (kernel.py): what a notebook's test cell runs; shows the grader's verdicts.
  `use_package(...)`: the setup cell's first line, so the notebook finds its package wherever
  it was opened.
- cells.py: test cells <-> course.yaml check ids and points (canonical cell source).
- autograde.py: preprocessors for `nbgrader autograde` that take each test cell's score from the
  grader run outside the kernel (needs nbgrader).
- release.py: release notebooks through nbgrader's own preprocessors (`zth build`).
- course.py: `zth nbgrader init DIR`, a ready nbgrader course.
"""
from .kernel import check, use_package

__all__ = ["check", "use_package"]
