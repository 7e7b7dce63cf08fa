"""`zth reproduce LECTURE`: rerun a lecture's headline result with the reference code."""
from __future__ import annotations

import importlib
import sys

REPRODUCERS: dict[str, str] = {}  # lecture id -> "module:function", filled as lectures land


def reproduce(lecture: str, args) -> int:
    target = REPRODUCERS.get(lecture)
    if target is None:
        have = ", ".join(sorted(REPRODUCERS)) or "none yet"
        print(f"zth: no reproduction for {lecture!r} (available: {have})", file=sys.stderr)
        return 2
    mod, fn = target.split(":")
    return getattr(importlib.import_module(mod), fn)(args) or 0
