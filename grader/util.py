"""Helpers shared by the commands and the library, below the CLI: exit codes, usage errors,
atomic writes, format lists, lecture ids and the --out/--out-dir rule.

Library modules (ci, gradebook, release, ...) import from here, never from `grader.cli`, so the
command line stays a thin layer on top (tests/test_layering.py keeps it so).
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_LOW = 0, 1, 2, 3


class UsageError(Exception):
    """The user asked for something impossible; the CLI prints it and exits 2."""


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file + rename, so a crash never leaves half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_formats(spec: str, known: Iterable[str]) -> list[str]:
    """'json,junit' -> ['json', 'junit']; an unknown or empty list is a usage error."""
    known = list(known)
    fmts = [f.strip() for f in spec.split(",") if f.strip()]
    bad = [f for f in fmts if f not in known]
    if bad or not fmts:
        raise UsageError(f"unknown format {', '.join(bad) or spec!r}; choose from "
                         f"{', '.join(known)}")
    return fmts


def check_outputs(fmts: list[str], out: str | None, out_dir: str | None) -> None:
    """One format: --out FILE or stdout. Several: --out-dir DIR (fixed names)."""
    if len(fmts) > 1 and out:
        raise UsageError("--out takes one format; use --out-dir for several")
    if len(fmts) > 1 and not out_dir:
        raise UsageError("several formats need --out-dir DIR")


def write_outputs(texts: Mapping[str, str], names: Mapping[str, str], out: str | None,
                  out_dir: str | None) -> None:
    """Each format's text to --out, to --out-dir under its fixed name, or to stdout."""
    for fmt, text in texts.items():
        if out:
            write_atomic(Path(out), text)
        elif out_dir:
            write_atomic(Path(out_dir) / names[fmt], text)
        else:
            sys.stdout.write(text)


def check_lectures(course, ids: Iterable[str] | None) -> list[str] | None:
    """The lecture ids asked for (None: all found), each one known to course.yaml."""
    ids = list(ids or [])
    if not ids:
        return None
    for lid in ids:
        if lid not in course.lectures:
            raise UsageError(f"unknown lecture {lid!r}; choose from {', '.join(course.lectures)}")
    return ids
