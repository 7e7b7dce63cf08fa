"""Every Python source file of a package, parsed, within a byte budget: what the parent's source
scans (the forbidden-import policy in runner.py, the escape scan in escapes.py) read.

Parsing costs ~0.6 GB and 10 s per MB and a deep enough expression overflows the parser, so the
reading is bounded (course.yaml `scan_kb`) and source past the budget, or nested too deeply to
parse, raises `Unscannable`: the package is refused, never half scanned. A file Python cannot
compile either is skipped (importing it fails visibly in the worker).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .snapshot import show


class Unscannable(Exception):
    """The source cannot be scanned (too large, too deeply nested): the package is refused."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


def parsed(pkg_dir: Path, max_bytes: int, scan: str,
           files: Iterator[Path] | None = None) -> Iterator[tuple[str, ast.AST]]:
    """(path relative to the package's parent, syntax tree) of each `*.py` file in order;
    `scan` names the scan in refusals ("the escape scan")."""
    left = max_bytes
    for f in files if files is not None else sorted(pkg_dir.rglob("*.py")):
        if f.suffix != ".py" or not f.is_file():
            continue
        rel = f.relative_to(pkg_dir.parent).as_posix()
        try:
            with open(f, "rb") as fh:
                data = fh.read(left + 1)
        except OSError:
            continue
        left -= len(data)
        if left < 0:
            raise Unscannable(f"{pkg_dir.name}/ holds more than {max_bytes // 1024} kB of "
                              f"Python source (scan_kb), reached at {show(rel)}: {scan} reads "
                              "no more", rel)
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        except (RecursionError, MemoryError) as e:
            raise Unscannable(f"{show(rel)} is nested too deeply for {scan} to parse "
                              f"({type(e).__name__}): split the expression", rel) from None
        yield rel, tree
