"""Grading in CI, one module per host:

- `grader.ci.github`: the GitHub Actions workflow `zth ci github` writes for students' repos
  (feedback only: students control their repo, and it never grades hidden checks).
- `grader.ci.gradescope`: the autograder zip `zth gradescope build` writes and the grading
  `run_autograder` does for each submission (grades of record, hidden checks included).

Both install the CPU build of torch at the version the grader is pinned to.
"""
from __future__ import annotations

import re

from ..config import ROOT

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_pin() -> str:
    """The torch version the grader is pinned to (pyproject.toml), else the installed one."""
    try:
        m = re.search(r'"torch==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    except OSError:
        m = None
    if m:
        return m.group(1)
    import torch
    return torch.__version__.split("+")[0]


def install_torch(python: str = "python") -> str:
    return f"{python} -m pip install torch=={torch_pin()} --index-url {CPU_INDEX}"


def github_workflow(*args, **kwargs) -> str:
    """See `grader.ci.github.github_workflow` (kept here for `from grader.ci import ...`)."""
    from .github import github_workflow as workflow
    return workflow(*args, **kwargs)
