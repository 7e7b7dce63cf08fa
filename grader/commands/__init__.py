"""The `zth` subcommands: each module here defines `add_commands(subparsers)` and its `cmd_*`
functions, and is picked up by `grader.cli.parser()`. The everyday commands come first in
`zth --help`, the rest alphabetically."""
from __future__ import annotations

import importlib
import pkgutil

FIRST = ["grade", "selftest", "build", "reproduce"]


def add_all(subparsers) -> None:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__))
    for name in [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]:
        importlib.import_module(f"{__name__}.{name}").add_commands(subparsers)
