"""Each lecture's buggy variants, one module per lecture (`bugs.<lecture>.BUGS`): graded by the
parametrised tests of tests/test_lectures.py and reused by the lecture's own tests."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    """A bug planted in the lecture's reference package, and how grading it must end.

    `edits`: file -> (old, new) replacements; each file's last pair is the bug, the pairs before
    it set the scene (e.g. an op written out so its `_backward` can hold the bug).
    `fails` / `raises`: the checks (names without the lecture prefix, space-separated) that must
    fail with 0 points, by a wrong answer (status failed) or because the student's code raised
    (status error). A check that depends on one of them is not graded; every other check of the
    lecture passes (the long ones, tests/test_lectures.py `LONG`, run only when named here).
    `named`: the checks whose message must name, on its first line, the function holding the
    bug; default: the first of `fails` and `raises` in report order."""
    edits: dict[str, list[tuple[str, str]]]
    fails: str = ""
    raises: str = ""
    named: str = ""

    def ids(self, lecture: str, field: str) -> set[str]:
        return {f"{lecture}.{name}" for name in getattr(self, field).split()}
