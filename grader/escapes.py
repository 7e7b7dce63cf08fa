"""Escape scan: for lectures whose policy is enforced by a guard inside the worker (backprop: the
manual backward may not use autograd), refuse source that could switch that guard off or hide
what it does, before the worker starts.

Why: the worker's guard (a torch function mode plus saved-tensor hooks, see the backprop probes)
is thread-local Python state in a process the student controls. Code that runs its autograd in
another thread, pops the mode, disables torch function handling or reaches the guard's objects
through frames, `gc`, `sys.modules` or a computed attribute name defeats it without a trace. An
in-process guard alone cannot hold, so the trusted parent reads the package's source first and
refuses (status `policy`, 0 points, file and line named) every construct that could do that:

- imports outside a short allow-list (the lecture needs torch, math, random, matplotlib and a
  few pure helpers): no threading, _thread, multiprocessing, concurrent, subprocess, os, sys, gc,
  inspect, ctypes, importlib, builtins, pickle, operator, ...; of torch only torch, torch.nn,
  torch.nn.functional; and the package's own modules;
- attributes that lead to those from an allowed module (`torch.sys`, `torch.multiprocessing`,
  `torch.utils`, `torch.autograd.graph`, `torch.overrides`, `torch._C`, ...): any private
  attribute (`x._name`, except on `self`/`cls`), any dunder attribute but `__init__`,
  `__name__`, `__doc__`, frame and traceback attributes, and names of the torch function /
  dispatch / saved-tensor-hook machinery (`DisableTorchFunction*`, `TorchFunctionMode`,
  `saved_tensors_hooks`, `__torch_function__`, ...), wherever they appear;
- dynamic access that hides intent: `getattr`/`setattr`/`delattr`/`hasattr` unless called with
  a literal name that passes the rules above, and `__import__`, `exec`, `eval`, `compile`,
  `globals`, `locals`, `vars`, `breakpoint` at all;
- files Python would import that cannot be read as source (`.pyc`, `.so`, `.pyd`).

Legitimate lecture code (the reference, the differently written held-out solutions) uses none of
these. Autograd itself is not refused here (model.py builds the graph the notebook compares
with); the worker's guard catches it inside the graded functions, and with the guard's escapes
refused it stays on.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from .sources import Unscannable, parsed

ALLOWED_IMPORTS = {"__future__", "math", "random", "itertools", "functools", "collections",
                   "typing", "dataclasses", "string", "time", "copy", "statistics", "numpy",
                   "torch", "torch.nn", "torch.nn.functional", "matplotlib",
                   "matplotlib.pyplot"}
# module-level and class-level names a plain module uses
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__all__", "__file__", "__version__",
                   "__slots__"}
# module names that must not be reached as an attribute of an allowed module either
ESCAPE_MODULES = {"os", "sys", "gc", "inspect", "ctypes", "threading", "_thread",
                  "multiprocessing", "concurrent", "subprocess", "importlib", "builtins",
                  "pickle", "marshal", "operator", "signal", "asyncio", "types", "runpy",
                  "code", "codeop", "weakref", "copyreg", "atexit", "faulthandler", "socket"}
ESCAPE_ATTRS = ESCAPE_MODULES | {
    "modules", "overrides", "utils", "futures", "jit", "func", "functorch", "fx", "library",
    "export", "compile", "graph", "forward_ad", "functional_call", "saved_tensors_hooks",
    "save_on_cpu", "disable_saved_tensors_hooks", "TorchFunctionMode", "TorchDispatchMode",
    "DisableTorchFunction", "DisableTorchFunctionSubclass", "tb_frame", "tb_next", "f_back",
    "f_locals", "f_globals", "f_builtins", "f_code", "gi_frame", "cr_frame", "ag_frame",
    "co_code", "load"}
ESCAPE_PATTERN = re.compile(r"torch_?function|torch_?dispatch|function_?mode|mode_?stack|"
                            r"tensors_?hooks", re.IGNORECASE)
DYNAMIC_ATTR = {"getattr", "setattr", "delattr", "hasattr"}
REFUSED_NAMES = {"__import__", "exec", "eval", "compile", "globals", "locals", "vars",
                 "breakpoint", "__builtins__", "__loader__", "__spec__"}
COMPILED = {".pyc", ".pyo", ".so", ".pyd"}


def _attr_problem(name: str, owner: ast.expr | None) -> str | None:
    """Why attribute `name` (of `owner`) is refused, or None."""
    if name.startswith("__") and name.endswith("__"):
        return None if name in ALLOWED_DUNDERS else "a dunder attribute"
    if name.startswith("_"):
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            return None
        return "a private attribute"
    if name in ESCAPE_ATTRS or ESCAPE_PATTERN.search(name):
        return "a way around the worker's guard"
    return None


def _import_problem(module: str, package: str) -> str | None:
    if module in ALLOWED_IMPORTS or module == package or module.startswith(package + "."):
        return None
    return "a module outside the lecture's allow-list"


class _Visitor(ast.NodeVisitor):
    def __init__(self, rel: str, package: str):
        self.rel, self.package = rel, package
        self.found: list[str] = []

    def refuse(self, node: ast.AST, what: str, why: str) -> None:
        self.found.append(f"{self.rel}:{getattr(node, 'lineno', 0)}: {what} ({why})")

    def visit_Import(self, node: ast.Import):
        for a in node.names:
            why = _import_problem(a.name, self.package)
            if why:
                self.refuse(node, f"import {a.name}", why)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.level == 0:
            module = node.module or ""
            why = _import_problem(module, self.package)
            if why:
                self.refuse(node, f"from {module} import ...", why)
        for a in node.names:      # `from torch import _C`, `from . import sys`-style names
            why = _attr_problem(a.name, None) if a.name != "*" else None
            if node.level == 0 and not why and a.name != "*":
                full = f"{node.module}.{a.name}"
                if full.startswith("torch.") and full not in ALLOWED_IMPORTS and \
                        a.name in ESCAPE_MODULES | {"autograd", "overrides", "utils"}:
                    why = "a way around the worker's guard"
            if why:
                self.refuse(node, f"from {node.module or '.'} import {a.name}", why)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute):
        why = _attr_problem(node.attr, node.value)
        if why:
            self.refuse(node, f".{node.attr}", why)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if node.id in REFUSED_NAMES:
            self.refuse(node, node.id, "code or names built at run time hide what runs")
        elif node.id in DYNAMIC_ATTR and not getattr(node, "zth_literal_call", False):
            self.refuse(node, node.id, "an attribute name computed at run time hides what runs: "
                        "use plain attribute access")
        elif ESCAPE_PATTERN.search(node.id) or (node.id.startswith("__")
                                                and node.id.endswith("__")
                                                and node.id not in ALLOWED_DUNDERS):
            self.refuse(node, node.id, "a way around the worker's guard")

    def visit_Call(self, node: ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in DYNAMIC_ATTR:
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) \
                    and not node.keywords:
                f.zth_literal_call = True   # a literal name: judged like `obj.name`
                why = _attr_problem(name.value, node.args[0])
                if why:
                    self.refuse(node, f"{f.id}(..., {name.value!r})", why)
        self.generic_visit(node)

    def _named(self, node, name: str):
        if ESCAPE_PATTERN.search(name) or (name.startswith("__") and name.endswith("__")
                                           and name not in ALLOWED_DUNDERS | {"__call__"}
                                           and not _PLAIN_DUNDER.fullmatch(name)):
            self.refuse(node, f"def {name}", "a way around the worker's guard")

    def visit_FunctionDef(self, node: ast.FunctionDef):
        self._named(node, node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef):
        self._named(node, node.name)
        self.generic_visit(node)


# dunder methods a plain class may define (operators, containers, repr); the torch protocol
# hooks (__torch_function__, __torch_dispatch__) and attribute hooks are not among them
_PLAIN_DUNDER = re.compile(r"__(r|i)?(add|sub|mul|truediv|floordiv|mod|pow|matmul|neg|pos|"
                           r"abs|eq|ne|lt|le|gt|ge|len|iter|next|getitem|setitem|contains|"
                           r"repr|str|hash|bool|enter|exit|post_init)__")


def scan(pkg_dir: Path, package: str, max_bytes: int = 256 << 10) -> list[str]:
    """Violations in the package's source, each 'pkg/file.py:line: what (why)'; raises
    `Unscannable` for source past `max_bytes` or too deeply nested to parse."""
    found: list[str] = []
    files = sorted(pkg_dir.rglob("*"))
    for f in files:
        if f.suffix in COMPILED and f.is_file() and "__pycache__" not in f.parts:
            found.append(f"{f.relative_to(pkg_dir.parent).as_posix()}: a compiled module (its "
                         "source cannot be scanned)")
    for rel, tree in parsed(pkg_dir, max_bytes, "the escape scan", iter(files)):
        v = _Visitor(rel, package)
        try:
            v.visit(tree)
        except RecursionError:
            raise Unscannable(f"{rel} is nested too deeply for the escape scan",
                              rel) from None
        found += v.found
    return found
