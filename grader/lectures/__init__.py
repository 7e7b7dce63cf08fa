"""One room per lecture: everything that grades lecture `<id>` lives in `grader/lectures/<id>/`.

    checks.py          trusted    visible checks; run in the grader's own process (the parent)
    hidden.py          trusted    hidden checks (visibility: hidden); instructor build only
    reproduce.py       trusted    `zth reproduce <id>` with the reference code; instructor only
    probes.py          SANDBOXED  copied into the worker next to the student's code: treat
                                  everything it returns as the student's answer, never as truth
    hidden_probes.py   SANDBOXED  probes only hidden checks call; instructor build only
    needs.py           trusted    optional: `worker_needs() -> (env, binds)`, what the worker
                                  needs besides the package (minbpe: the tiktoken cache); the
                                  runner calls it when it starts the worker, never on import

A check asks the worker for a probe by name (`ctx.probe("name", ...)`); the contract test
(tests/test_rooms.py) proves every such name is a `@probe` of the room's sandboxed side, and
`Context.probe` refuses an unknown name as a grader bug before anything reaches the worker.
"""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

LECTURES_DIR = Path(__file__).resolve().parent
# the sandboxed side of a room: these files, and only these, are copied into the worker
SANDBOXED = {"probes.py": "{lecture}.py", "hidden_probes.py": "{lecture}_hidden.py"}
# never in a student release
INSTRUCTOR_ONLY = ("hidden.py", "hidden_probes.py", "reproduce.py")


def rooms() -> list[str]:
    return sorted(p.parent.name for p in LECTURES_DIR.glob("*/checks.py"))


def probes_called(path: Path) -> set[str]:
    """Probe names a checks file asks for: the literal first argument of `ctx.probe(...)`."""
    if not path.is_file():
        return set()
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "probe" and node.args
                and isinstance(node.args[0], ast.Constant)):
            names.add(node.args[0].value)
    return names


def probes_defined(path: Path) -> set[str]:
    """`@probe` functions of a sandboxed file."""
    if not path.is_file():
        return set()
    return {node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef)
            and any(isinstance(d, ast.Name) and d.id == "probe" for d in node.decorator_list)}


@cache
def known_probes(lecture: str) -> frozenset[str]:
    room = LECTURES_DIR / lecture
    return frozenset(set().union(*(probes_defined(room / f) for f in SANDBOXED)))
