"""`zth reproduce LECTURE`: rerun a lecture's headline result with the reference code.

Each lecture that has one provides `grader/lectures/<lecture>/reproduce.py` with `run(args) -> int`.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

LECTURES_DIR = Path(__file__).resolve().parent / "lectures"


def available() -> list[str]:
    return sorted(p.parent.name for p in LECTURES_DIR.glob("*/reproduce.py"))


def reproduce(lecture: str, args) -> int:
    if lecture not in available():
        print(f"zth: no reproduction for {lecture!r} (available: "
              f"{', '.join(available()) or 'none yet'})", file=sys.stderr)
        return 2
    from .data import DataError
    try:
        return importlib.import_module(f"grader.lectures.{lecture}.reproduce").run(args) or 0
    except DataError as e:
        print(f"zth: {e}", file=sys.stderr)
        return 1
