"""The reference solutions as an oracle, in the trusted parent only.

Checks whose oracle is a library (torch, tiktoken) need nothing from here. A check that needs the
reference (e.g. bigram sampling with a seeded generator) imports it through `reference()`, so
the student release (`zth release`, which ships no reference code) knows which checks must
carry precomputed expected data instead.
"""
from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from .config import ROOT


class NoReference(Exception):
    """This build has no reference code (a student release)."""


@cache
def reference(package: str, module: str | None = None) -> ModuleType:
    """Import `reference/<package>[/<module>]` under a private name (never the student's)."""
    pkg_dir = ROOT / "reference" / package
    if not (pkg_dir / "__init__.py").is_file():
        raise NoReference(f"no reference/{package} in this build")
    alias = f"_zth_reference_{package}"
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, pkg_dir / "__init__.py",
                                                      submodule_search_locations=[str(pkg_dir)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[alias] = mod
        spec.loader.exec_module(mod)
    return importlib.import_module(f"{alias}.{module}") if module else sys.modules[alias]
