"""nbgrader integration: the course as one notebook per lecture, scored by the sandboxed grader.

- `check(...)` (kernel.py): what a notebook's test cell runs; shows the grader's verdicts.
- cells.py: test cells <-> course.yaml check ids and points (canonical cell source).
- autograde.py: preprocessors for `nbgrader autograde` that take each test cell's score from the
  grader run outside the kernel (needs nbgrader).
- release.py: release notebooks through nbgrader's own preprocessors (`zth build`).
- course.py: `zth nbgrader init DIR`, a ready nbgrader course.
"""
from .kernel import check

__all__ = ["check"]
