"""`zth release OUT`: the student build of the course.

OUT holds what students get and nothing else:
  assignments/            the stubs (and assignments/notebooks when built), from `zth build`
  grader/                 the grader with the visible checks only: no room ships its hidden.py,
                          hidden_probes.py or reproduce.py (grader/lectures/__init__.py)
  grader/expected/        answers of the reference for the checks that compare with it, at a
                          few fixed seeds (see grader/oracle.py); `zth check` uses those seeds
  course.yaml             without the hidden checks
  pyproject.toml, README.md (for students), .gitignore, .github/workflows/zth.yml
No reference/ code and no hidden check ships. The build proves it before it finishes (`leaks`):
no `### BEGIN SOLUTION` marker, no line of a solution region, no hidden check id, title, hint or
source line is anywhere in OUT, the expected data included. It also grades the reference with
the release's own course.yaml and expected data, and fails unless every visible check scores as
it does in the instructor build.
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

from . import __version__, oracle
from .build import BEGIN, END, stale
from .config import ROOT, Course, load_course, parse_course
from .lectures import INSTRUCTOR_ONLY, LECTURES_DIR, probes_called, probes_defined
from .runner import derive_seed, grade

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
            skip.add("expected")                       # a stale store from elsewhere
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


def _pyproject(text: str) -> str:
    """The instructor's pyproject.toml, with the expected data as package data."""
    new, n = re.subn(r'(\[tool\.setuptools\.package-data\]\s*\ngrader\s*=\s*\[)',
                     r'\1"expected/*.json", "expected/*.json.gz", ', text)
    if not n:
        raise ReleaseError("pyproject.toml has no [tool.setuptools.package-data] grader = [...] "
                           "entry to add grader/expected to")
    return new


def student_readme(course: Course, seeds: list[int], ci: bool) -> str:
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
- Checks that compare with the reference solution use answers computed in advance for a few
  fixed seeds ({', '.join(map(str, seeds)) or 'none in this release'}), because the reference
  does not ship; `zth check` picks one of them for you.
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


# -- expected data ------------------------------------------------------------------------------
def fixed_seeds(course_sha256: str, n: int) -> list[int]:
    """Deterministic per course version, so rebuilding a release changes nothing."""
    return [derive_seed("release", course_sha256, k) for k in range(n)]


def _results(run) -> dict[str, tuple]:
    return {c.id: (c.status, c.points, c.message)
            for lec in run.submissions[0].lectures for c in lec.checks}


def record_expected(course: Course, store: Path, seeds: list[int], keep: set[str],
                    meta: dict, log: Callable[[str], None] = print) -> list[Path]:
    """Grade the reference at each seed while recording its answers; write them to `store`;
    then grade it again answering from `store` and insist on identical results."""
    lectures = [lid for lid, lec in course.lectures.items()
                if (ROOT / "reference" / lec.package).is_dir()]
    if not lectures:
        return oracle.write_store(store, {}, seeds, keep, meta)
    recorded_runs = {}
    with oracle.recording() as rec:
        for s in seeds:
            log(f"recording the reference's answers at seed {s} ({', '.join(lectures)})")
            try:
                recorded_runs[s] = _results(grade(course, ROOT / "reference", lectures, s))
            except Exception as e:   # a check broke under recording: say which, and why
                raise ReleaseError(f"grading the reference at seed {s} while recording its "
                                   f"answers failed: {type(e).__name__}: {e} (grader/oracle.py "
                                   "says what a replayable reference call may do)") from e
    problems = [f"{cid} (seed {s}): {status}: {msg}" for s, res in recorded_runs.items()
                for cid, (status, _, msg) in res.items() if status != "passed"]
    if problems:
        raise ReleaseError("the reference does not score full marks while its answers are "
                           "recorded (see grader/oracle.py for what a replayable reference "
                           "call may do):\n  " + "\n  ".join(problems))
    written = oracle.write_store(store, rec, seeds, keep, meta)
    replayed = sorted({key[0] for key, events in rec.items() if key[1] in keep and events})
    if replayed:
        with oracle.replaying(store):
            for s in seeds:
                log(f"checking the recorded answers at seed {s} ({', '.join(replayed)})")
                again = _results(grade(course, ROOT / "reference", replayed, s))
                diff = [f"{cid} (seed {s}): {again[cid][0]} instead of {want[0]}: "
                        f"{again[cid][2]}" for cid, want in recorded_runs[s].items()
                        if cid in again and again[cid] != want]
                if diff:
                    raise ReleaseError("replaying the recorded answers does not reproduce the "
                                       "instructor build's results:\n  " + "\n  ".join(diff))
    return written


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
    """Instructor-only room files in a built grader, and probes no shipped check calls (a probe
    only hidden checks use tells what the hidden checks test)."""
    found = []
    for room in sorted(p for p in lectures.glob("*") if p.is_dir()):
        rel = f"grader/lectures/{room.name}"
        for name in INSTRUCTOR_ONLY:
            if (room / name).exists():
                found.append(f"{rel}/{name}: instructor-only room file")
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
def build_release(out: Path, n_seeds: int = 3, ci: bool = True, force: bool = False,
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
    seeds = fixed_seeds(instructor.sha256, n_seeds)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _copy_assignments(stage / "assignments", packages, set(course.lectures))
        _copy_grader(stage / "grader")
        (stage / "course.yaml").write_text(course_text)
        (stage / "pyproject.toml").write_text(_pyproject((ROOT / "pyproject.toml").read_text()))
        (stage / "README.md").write_text(student_readme(course, seeds, ci))
        (stage / ".gitignore").write_text("__pycache__/\n*.pyc\n*.egg-info/\nzth-report/\n"
                                          ".venv/\n")
        if ci:
            from .ci import github_workflow
            wf = stage / ".github" / "workflows" / "zth.yml"
            wf.parent.mkdir(parents=True)
            wf.write_text(github_workflow())
        visible = {c.id for lec in course.lectures.values() for c in lec.checks}
        record_expected(course, stage / "grader" / "expected", seeds, visible,
                        {"grader": __version__, "course_sha256": instructor.sha256[:16]},
                        log)
        if problems := leaks(stage, instructor):
            raise ReleaseError("the release would leak instructor-only material:\n  "
                               + "\n  ".join(problems[:20]))
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out

