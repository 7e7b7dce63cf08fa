"""The reference solutions, importable by instructor-only code: the reproduce scripts and tests.

No check compares with the reference: every check's oracle is a library (torch, tiktoken) or a
computation the parent does itself on inputs it chose (e.g. bigram and mlp sampling replay the
lecture's loop with the same seeded generator). So a student release, which has no reference/,
grades every visible check exactly as this repo does, at any seed, and the release build
refuses a shipped check that imports this module.

    counts = reference("bigram", "counts")     # in grader/lectures/bigram/reproduce.py
"""
from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from .config import ROOT


class NoReference(Exception):
    """This build has no reference/ code (e.g. a student release)."""


def has_reference(package: str) -> bool:
    return (ROOT / "reference" / package / "__init__.py").is_file()


@cache
def reference(package: str, module: str | None = None) -> ModuleType:
    """`reference/<package>[/<module>]`, imported under a private name (never the student's
    package of the same name, which the parent must never import)."""
    pkg_dir = ROOT / "reference" / package
    if not has_reference(package):
        raise NoReference(f"no reference/{package} in this build: reproducing a lecture needs "
                          "the instructor repo")
    alias = f"_zth_reference_{package}"
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, pkg_dir / "__init__.py",
                                                      submodule_search_locations=[str(pkg_dir)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[alias] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[alias]
            raise
    return importlib.import_module(f"{alias}.{module}") if module else sys.modules[alias]
