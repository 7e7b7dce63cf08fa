"""The CLI is a layer on top: every subcommand lives in grader/commands/, and no library module
imports grader.cli (the helpers they share are in grader/util.py)."""
from __future__ import annotations

import ast
import subprocess
import sys

from grader.cli import parser
from grader.config import ROOT

GRADER = ROOT / "grader"
ABOVE = {"cli.py", "__main__.py"}       # the only modules allowed to import grader.cli


def imports_of(path) -> set[str]:
    """Absolute names of the grader modules a file imports (relative imports resolved)."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])     # for __init__.py: the package itself
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            names.add(mod)
            names |= {f"{mod}.{a.name}" for a in node.names}
    return names


def test_no_library_module_imports_the_cli():
    offenders = []
    for f in sorted(GRADER.rglob("*.py")):
        if f.relative_to(GRADER).as_posix() in ABOVE:
            continue
        if "grader.cli" in imports_of(f):
            offenders.append(f.relative_to(ROOT).as_posix())
    assert not offenders, f"these import grader.cli; use grader.util instead: {offenders}"


def test_the_scan_sees_a_relative_import_of_the_cli(tmp_path, monkeypatch):
    """The check above can fail: `from ..cli import X` inside grader/commands is caught."""
    fake = GRADER / "commands" / "_probe_layering.py"
    fake.write_text("from ..cli import UsageError\n")
    try:
        assert "grader.cli" in imports_of(fake)
    finally:
        fake.unlink()
    assert "grader.cli" not in imports_of(GRADER / "commands" / "grade.py")


def test_importing_the_library_does_not_load_the_cli():
    code = ("import sys, grader.runner, grader.reports, grader.gradebook, grader.ci.github, "
            "grader.ci.gradescope, grader.release, grader.build, grader.finder, grader.analytics\n"
            "assert 'grader.cli' not in sys.modules, 'grader.cli was imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_every_subcommand_lives_in_grader_commands():
    sub = next(a for a in parser()._actions if a.dest == "command")
    funcs = {name: p.get_default("func") for name, p in sub.choices.items()}
    assert {"grade", "check", "selftest", "build", "reproduce", "merge", "report"} <= set(funcs)
    for name, fn in funcs.items():
        if fn is None:        # a group such as `zth ci`: its own subcommands carry the func
            continue
        assert fn.__module__.startswith("grader.commands."), (name, fn.__module__)
    cli = (GRADER / "cli.py").read_text()
    assert "def cmd_" not in cli and "add_parser(" not in cli
