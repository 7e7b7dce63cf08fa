"""The hostile corpus: each `cases/<name>/` is a small submission plus a CASE.yaml saying what it
attacks and what the grader must answer.

A case folder holds only the files that differ from its honest `base`, so the attack is easy to
read: `materialise` copies the base package (from `reference/` or the generated stubs) into a
submission folder, then the case's files over it (a case may also add files beside the
package, e.g. a `sitecustomize.py` or a fake `torch/`). CASE.yaml:

    attack: one line: what the submission tries
    base: engine | reference | stub        # the honest work underneath the attack
    breaks: [Value.tanh, exercises.softmax] # ... minus the functions the attack replaces
    expect:                                # checks the attack affects: they must score 0 with
      micrograd.tanh: {status: timeout, message: "timed out"}   # this status and message text
      "*": {...}                           # ... or every check of the lecture
    layers:                                # optional: an isolation layer that honestly differs
      process: {why: "...", breaks: [], micrograd.exp: {status: passed, message: ""}}

The honest twin of a case is its base with the `breaks` functions replaced by wrong answers
(`Value(0.0)`, an empty list): what the same student scores without the attack. It is graded in
the same run, and every check not listed must score exactly what the twin scores: an attack
never earns a point its honest work does not, and never costs one on a check it does not touch.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
ROOT = HERE.parent.parent
BASES = ("engine", "reference", "stub")
# how a twin's function answers: wrong (a zero Value, an empty list) or, with ":raises", an error
BROKEN = {"Value": "lambda self, *a: _e.Value(0.0, (self,), 'broken')",
          "exercises": "lambda *a, **k: []", "raises": "_raises"}


@dataclass
class Case:
    name: str
    attack: str
    base: str
    lecture: str
    expect: dict[str, dict]
    breaks: tuple[str, ...] = ()
    layers: dict[str, dict] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return CASES / self.name

    def twin(self, layer: str) -> tuple[str, tuple[str, ...]]:
        """(base, breaks) of the honest twin under `layer`."""
        return self.base, tuple(self.layers.get(layer, {}).get("breaks", self.breaks))

    def expected(self, check_id: str, layer: str) -> dict | None:
        """What this check must report under `layer`, or None: the same as the honest base."""
        over = self.layers.get(layer, {})
        for key in (check_id, "*"):
            if key in over and key != "breaks":
                return over[key]
            if key in self.expect:
                return self.expect[key]
        return None


def load(name: str) -> Case:
    raw = yaml.safe_load((CASES / name / "CASE.yaml").read_text())
    assert set(raw) <= {"attack", "base", "breaks", "expect", "layers", "lecture"}, name
    assert raw["base"] in BASES, name
    layers = {k: {c: v for c, v in spec.items() if c != "why"}
              for k, spec in (raw.get("layers") or {}).items()}
    return Case(name, raw["attack"], raw["base"], raw.get("lecture", "micrograd"),
                raw.get("expect") or {}, tuple(raw.get("breaks") or ()), layers)


def all_cases() -> list[Case]:
    return [load(p.name) for p in sorted(CASES.iterdir()) if (p / "CASE.yaml").exists()]


def base_package(base: str, lecture: str, dest: Path) -> None:
    """The honest work: the reference, the stubs, or (engine) the reference with nn.py stubbed."""
    src = ROOT / ("assignments" if base == "stub" else "reference") / lecture
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    if base == "engine":
        shutil.copy(ROOT / "assignments" / lecture / "nn.py", dest / "nn.py")


def twin_name(base: str, breaks: tuple[str, ...]) -> str:
    return "honest-" + "-".join([base, *sorted(b.replace(".", "_").replace(":", "_")
                                               for b in breaks)])


def twin(base: str, breaks: tuple[str, ...], lecture: str, dest: Path) -> Path:
    """The honest twin: `base` with the `breaks` functions answering wrong, nothing else."""
    base_package(base, lecture, dest / lecture)
    lines = ['"""Honest twin of hostile cases: the base minus the attacked functions."""',
             "from . import engine as _e, exercises as _x", "",
             "def _raises(*a, **k):", "    raise RuntimeError('broken')", ""]
    for b in breaks:
        where, _, how = b.partition(":")
        owner, name = where.split(".")
        target = "_e.Value" if owner == "Value" else "_x"
        lines.append(f"{target}.{name} = {BROKEN[how or owner]}")
    (dest / lecture / "__init__.py").write_text("\n".join(lines) + "\n")
    return dest


def materialise(case: Case, dest: Path) -> Path:
    """Build the case's submission folder at `dest` (the base, then the case's files)."""
    base_package(case.base, case.lecture, dest / case.lecture)
    for f in sorted(case.path.rglob("*")):
        if f.is_file() and f.name != "CASE.yaml" and "__pycache__" not in f.parts:
            target = dest / f.relative_to(case.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, target)
    return dest


def batch_folder(cases: list[Case], layer: str, dest: Path) -> Path:
    """One folder per case plus one per honest twin they need: a `zth grade --batch` input."""
    dest.mkdir(parents=True, exist_ok=True)
    for c in cases:
        base, breaks = c.twin(layer)
        if not (dest / twin_name(base, breaks)).exists():
            twin(base, breaks, c.lecture, dest / twin_name(base, breaks))
    for c in cases:
        materialise(c, dest / c.name)
    return dest


def run_zth(args: list[str], env: dict | None = None, timeout: float = 900):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def by_student(report: dict) -> dict[str, dict]:
    """{student: {check id: check dict}} from a JSON report."""
    out = {}
    for s in report["submissions"]:
        out[s["student"]] = {c["id"]: c for lec in s["lectures"] for c in lec["checks"]}
    return out


def without_timings(text: str) -> str:
    d = json.loads(text)
    d.pop("timings", None)
    return json.dumps(d, sort_keys=True)
