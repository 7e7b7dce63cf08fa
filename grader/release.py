"""`zth release OUT`: the student build of the course.

OUT holds what students get and nothing else:
  assignments/            the stubs (and assignments/notebooks when built), from `zth build`
  grader/                 the grader with the visible checks only: no room ships its hidden.py,
                          hidden_probes.py or reproduce.py (grader/lectures/__init__.py)
  course.yaml             without the hidden checks
  pyproject.toml, README.md (for students), .gitignore, .github/workflows/zth.yml
No reference/ code and no hidden check ships. The build proves it before it finishes (`leaks`):
no `### BEGIN SOLUTION` marker, no line of a solution region, no hidden check id, title, hint or
source line is anywhere in OUT, and no shipped check imports the reference (grader/oracle.py):
every visible check's oracle is a library or the parent's own computation, so the release
grades exactly as the instructor build does, at any seed.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from .build import BEGIN, END, stale
from .config import ROOT, Course, load_course, parse_course
from .lectures import INSTRUCTOR_ONLY, LECTURES_DIR, probes_called, probes_defined

GRADER = ROOT / "grader"
JUNK = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}
MIN_LINE = 20   # shorter solution/hidden lines ("return out") are too common to call a leak
MIN_SHARED = 40   # grader code may share a short line with a solution ("for _ in range(n):")


class ReleaseError(Exception):
    """The release cannot be built (or would leak); the message says what to do."""


# -- what ships -----------------------------------------------------------------------------
def _ignore_junk(folder, names):
    return [n for n in names if n in JUNK or n.endswith(".pyc")]


def _copy_grader(dest: Path) -> None:
    def ignore(folder, names):
        rel = Path(folder).relative_to(GRADER).as_posix()
        skip = set(_ignore_junk(folder, names))
        if rel == ".":
            skip.add("expected")     # answers recorded by older releases: no longer used
        if Path(folder).parent == LECTURES_DIR:          # a room: its visible side only
            skip |= set(names) & set(INSTRUCTOR_ONLY)
        return skip
    shutil.copytree(GRADER, dest, ignore=ignore)


def _copy_assignments(dest: Path, packages: set[str], lectures: set[str]) -> None:
    def ignore(folder, names):
        skip = set(_ignore_junk(folder, names))
        rel = Path(folder).relative_to(ROOT / "assignments").as_posix()
        if rel == ".":
            skip |= {n for n in names if n not in packages and n != "notebooks"}
        elif rel == "notebooks":
            skip |= {n for n in names if Path(n).stem.split("_")[0] not in lectures}
        return skip
    shutil.copytree(ROOT / "assignments", dest, ignore=ignore)


def student_course(text: str, lectures: list[str] | None = None) -> str:
    """course.yaml without hidden checks (comments go too: they may describe hidden checks)."""
    raw = yaml.safe_load(text)
    if lectures:
        raw["lectures"] = {lid: lec for lid, lec in raw["lectures"].items() if lid in lectures}
    for lec in raw.get("lectures", {}).values():
        lec["checks"] = [c for c in lec.get("checks", []) if c.get("visibility") != "hidden"]
    body = yaml.safe_dump(raw, sort_keys=False, width=100, allow_unicode=True)
    return ("# The student release of the course (`zth release`): the visible checks only.\n"
            + body)


def student_readme(course: Course, ci: bool) -> str:
    from .ci import CPU_INDEX, torch_pin
    rows = []
    for lid, lec in course.lectures.items():
        pts = sum(c.points for c in lec.checks if not c.bonus)
        rows.append(f"| `{lid}` | {lec.title} | {len(lec.checks)} | {pts:g} |")
    first = next(iter(course.lectures), "micrograd")
    text = f"""\
# {course.course}: exercises and autograder

```bash
pip install torch=={torch_pin()} --index-url {CPU_INDEX} && pip install -e .   # once
zth check {first}                 # grade assignments/{first}: points, diffs, hints
```

Your exercises are the stub modules in `assignments/<lecture>/`. Fill in every
`# YOUR CODE HERE` / `raise NotImplementedError()`; each function's docstring names its check id
(e.g. `{first}.{course.lectures[first].checks[0].id.split('.', 1)[1] if course.lectures else 'x'}`),
the same id you see in the report. `zth check` grades every lecture you have, `zth check LECTURE`
one of them, `zth check --path DIR` another copy of your work.

| lecture | title | checks | points |
|---|---|---:|---:|
{chr(10).join(rows)}

## How your work is graded

- Your code runs in a separate process and is called with random inputs; gradients, losses and
  outputs are compared with PyTorch, tiktoken or the reference solution within the tolerances
  in `course.yaml`. A failure says what was expected, what came, and where.
- Every report prints its seed; `zth check --seed N` replays exactly the same inputs.
- Your instructor's grader runs the same checks with fresh inputs, plus a few hidden ones.
  Hard-coded answers fail there.
"""
    if ci:
        text += """
## Automatic grading on GitHub

`.github/workflows/zth.yml` grades every push: the score table appears on the run's summary
page, and the JUnit/Markdown/JSON reports are kept as an artifact.
"""
    return text


# -- leak scan ------------------------------------------------------------------------------
def solution_lines(reference: Path = ROOT / "reference",
                   stubs: Path = ROOT / "assignments") -> set[str]:
    """Stripped lines inside solution regions that appear nowhere in the stubs."""
    inside: set[str] = set()
    for f in sorted(reference.rglob("*.py")):
        if JUNK & set(f.parts):
            continue
        region = False
        for line in f.read_text(errors="replace").splitlines():
            if BEGIN.match(line):
                region = True
            elif END.match(line):
                region = False
            elif region and len(line.strip()) >= MIN_LINE:
                inside.add(line.strip())
    scaffold = {line.strip() for f in stubs.rglob("*.py") if not JUNK & set(f.parts)
                for line in f.read_text(errors="replace").splitlines()} if stubs.is_dir() else set()
    return inside - scaffold


def hidden_texts(course: Course, grader: Path = GRADER) -> set[str]:
    """Ids, titles and hints of hidden checks, and source lines only hidden modules have."""
    texts, shown = set(), set()
    for lec in course.lectures.values():
        for c in lec.checks:
            (texts if c.visibility == "hidden" else shown).update(
                t for t in (c.id, c.title, c.hint) if t)
    hidden_files = [f for name in ("hidden.py", "hidden_probes.py")
                    for f in sorted((grader / "lectures").glob(f"*/{name}"))]
    visible = {line.strip() for f in grader.rglob("*.py") if f not in hidden_files
               for line in f.read_text(errors="replace").splitlines()}
    texts -= shown
    for f in hidden_files:
        texts |= {line.strip() for line in f.read_text(errors="replace").splitlines()
                  if len(line.strip()) >= MIN_LINE and line.strip() not in visible
                  and not line.strip().startswith(("from ", "import "))}   # imports tell nothing
    return texts


def _texts(folder: Path):
    """(relative path, text, lines) of every text file; a notebook's lines are its cells'."""
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        if b"\0" in data[:4096]:
            continue
        text = data.decode(errors="replace")
        lines = text.splitlines()
        if f.suffix == ".ipynb":
            try:
                cells = json.loads(text).get("cells", [])
                lines = [line for c in cells for src in [c.get("source", "")]
                         for line in ("".join(src) if isinstance(src, list) else src).splitlines()]
            except (json.JSONDecodeError, AttributeError):
                pass
        yield f.relative_to(folder).as_posix(), text, lines


def room_leaks(lectures: Path) -> list[str]:
    """Instructor-only room files in a built grader, probes no shipped check calls (a probe
    only hidden checks use tells what the hidden checks test), and shipped checks that import
    the reference (it does not ship: such a check could not grade)."""
    found = []
    for room in sorted(p for p in lectures.glob("*") if p.is_dir()):
        rel = f"grader/lectures/{room.name}"
        for name in INSTRUCTOR_ONLY:
            if (room / name).exists():
                found.append(f"{rel}/{name}: instructor-only room file")
        for f in sorted(room.glob("*.py")):
            if re.search(r"^\s*from\s+[.\w]*oracle\s+import|^\s*import\s+[.\w]*oracle\b",
                         f.read_text(errors="replace"), re.M):
                found.append(f"{rel}/{f.name}: a shipped check imports the reference "
                             "(grader/oracle.py); compute the expectation in the parent instead")
        unused = probes_defined(room / "probes.py") - probes_called(room / "checks.py")
        for name in sorted(unused):
            found.append(f"{rel}/probes.py: probe {name!r} is called by no shipped check")
    return found


def leaks(folder: Path, course: Course) -> list[str]:
    """Everything in `folder` that must not ship: each entry names the file and what leaked."""
    found = []
    for f in sorted((folder / "reference").rglob("*.py")):
        found.append(f"{f.relative_to(folder)}: reference/ code must not ship")
    found += room_leaks(folder / "grader" / "lectures")
    solutions = solution_lines()
    hidden = hidden_texts(course)
    hidden_ids = {c.id for lec in course.lectures.values() for c in lec.checks
                  if c.visibility == "hidden"}
    id_pattern = re.compile("|".join(rf"(?<![\w.]){re.escape(i)}(?![\w])"
                                     for i in sorted(hidden_ids))) if hidden_ids else None
    for rel, text, lines in _texts(folder):
        code = rel.endswith(".py")
        if any(BEGIN.match(line) or END.match(line) for line in lines) or (
                not code and ("### BEGIN SOLUTION" in text or "### END SOLUTION" in text)):
            found.append(f"{rel}: a solution marker")
        if any(line.strip() == "### BEGIN HIDDEN TESTS" for line in lines):
            found.append(f"{rel}: nbgrader hidden tests")
        if id_pattern is not None and (m := id_pattern.search(text)):
            found.append(f"{rel}: hidden check id {m.group(0)}")
        shared_ok = rel.startswith("grader/") and code
        for line in sorted({line.strip() for line in lines} & solutions):
            if not shared_ok or len(line) >= MIN_SHARED:
                found.append(f"{rel}: solution line {line!r}")
        for t in sorted(t for t in hidden - hidden_ids if t in text):
            found.append(f"{rel}: hidden check text {t!r}")
    return found


# -- the build --------------------------------------------------------------------------------
def build_release(out: Path, ci: bool = True, force: bool = False,
                  lectures: list[str] | None = None,
                  log: Callable[[str], None] = print) -> Path:
    """Build the release in a temp folder beside `out`, prove it leaks nothing, then move it
    into place. `lectures` releases only those (e.g. one lecture a week)."""
    out = Path(out).resolve()
    if not (ROOT / "reference").is_dir():
        raise ReleaseError(f"no reference/ in {ROOT}: build the release from the instructor repo")
    if out == ROOT or ROOT in out.parents and out.parts[len(ROOT.parts)] in (
            "grader", "reference", "assignments"):
        raise ReleaseError(f"{out}: choose a folder outside the course's own files")
    if out.exists() and any(out.iterdir()) and not force:
        raise ReleaseError(f"{out} exists and is not empty (use --force to replace it)")
    instructor = load_course(ROOT / "course.yaml")
    for lid in lectures or []:
        instructor.lecture(lid)
    packages = {lec.package for lid, lec in instructor.lectures.items()
                if not lectures or lid in lectures}

    def released(diff: str) -> bool:
        parts = Path(diff.split(" ")[0]).parts
        if parts[0] == "notebooks":
            return not lectures or Path(parts[-1]).stem.split("_")[0] in lectures
        return parts[0] in packages
    if diffs := [d for d in stale() if released(d)]:
        raise ReleaseError("assignments/ is out of date with reference/ (run `zth build`): "
                           + ", ".join(diffs[:5]) + (" ..." if len(diffs) > 5 else ""))
    course_text = student_course((ROOT / "course.yaml").read_text(), lectures)
    course = parse_course(course_text, "release course.yaml")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _copy_assignments(stage / "assignments", packages, set(course.lectures))
        _copy_grader(stage / "grader")
        (stage / "course.yaml").write_text(course_text)
        shutil.copyfile(ROOT / "pyproject.toml", stage / "pyproject.toml")
        (stage / "README.md").write_text(student_readme(course, ci))
        (stage / ".gitignore").write_text("__pycache__/\n*.pyc\n*.egg-info/\nzth-report/\n"
                                          ".venv/\n")
        if ci:
            from .ci import github_workflow
            wf = stage / ".github" / "workflows" / "zth.yml"
            wf.parent.mkdir(parents=True)
            wf.write_text(github_workflow())
        log(f"checking {out.name} for instructor-only material")
        if problems := leaks(stage, instructor):
            raise ReleaseError("the release would leak instructor-only material:\n  "
                               + "\n  ".join(problems[:20]))
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out

