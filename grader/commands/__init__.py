"""Extra `zth` commands: each module here defines `add_commands(subparsers)` and is picked up
by `grader.cli.parser()` (e.g. `zth merge`, `zth release`, `zth nbgrader`)."""
from __future__ import annotations

import importlib
import pkgutil


def add_all(subparsers) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}").add_commands(subparsers)
