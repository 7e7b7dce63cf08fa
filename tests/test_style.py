"""The project holds itself to ruff's rules (pyproject.toml's [tool.ruff.lint])."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import ROOT


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is part of the [test] extra: pip install -e '.[test]'")
    r = subprocess.run([ruff, "check", "grader", "tests", "benchmarks"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
