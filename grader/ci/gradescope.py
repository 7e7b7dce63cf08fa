"""Gradescope: the autograder zip `zth gradescope build` writes, and the grading its
`run_autograder` does for each submission (`zth gradescope run`).

- `gradescope_zip()`: the instructor build (grader with hidden checks, reference, course.yaml),
  `setup.sh` and `run_autograder`.
- `gradescope_run()`: grades `$ROOT/submission` in the sandbox and writes
  `$ROOT/results/results.json` only at the end, atomically, so nothing a submission writes there
  survives. It prints a short log for the instructor's debug view (Gradescope keeps stdout
  hidden from students): the folder it graded, the isolation layer, one line per check with its
  time. `$ZTH_AUTOGRADER_ROOT` moves ROOT from `/autograder` (tests unpack the zip into a temp
  folder shaped like Gradescope's).
- Where the packages are: `grader.finder.locate` (the upload itself, `assignments/` in a repo,
  up to three folders down). Loose `*.py` files (a drag-and-drop upload) go into the lecture's
  package when the assignment is one lecture, or when their names fit one lecture only; when
  they fit several (data.py, model.py, nn.py, ...) the student is told to upload the folder.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

from ..config import ROOT, Course
from ..finder import describe, locate
from ..util import write_atomic
from . import install_torch

AUTOGRADER = Path("/autograder")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_DIRS = ("reference/notebooks/", "grader/expected/")   # not needed to grade
LOG_WIDTH = 100   # characters of a failure message in the log


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image; the zip is unpacked
# in /autograder/source. A venv keeps pip away from the system Python (PEP 668 images).
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
# bubblewrap is the strongest sandbox; without it the grader drops student code to 'nobody'
(apt-get update -qq && apt-get install -y -qq bubblewrap python3-venv) || true
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --no-cache-dir --upgrade pip
# the CPU build of torch from PyTorch's own index: the default wheel is a multi-GB CUDA build
/autograder/venv/bin/{install_torch}
/autograder/venv/bin/python -m pip install --no-cache-dir -e /autograder/source
/autograder/venv/bin/python -m grader --help >/dev/null
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission and write
# /autograder/results/results.json. ZTH_AUTOGRADER_ROOT moves /autograder (tests);
# ZTH_PYTHON picks the interpreter (default: the venv setup.sh made).
set -uo pipefail
root="${{ZTH_AUTOGRADER_ROOT:-/autograder}}"
python="${{ZTH_PYTHON:-$root/venv/bin/python}}"
cd "$root/source" || exit 1
exec "$python" -m grader gradescope run --root "$root"{lectures}
"""


def _files(base: Path, rel: str) -> list[tuple[Path, str]]:
    top = base / rel
    if top.is_file():
        return [(top, rel)]
    out = []
    for f in sorted(top.rglob("*")):
        name = f.relative_to(base).as_posix()
        if (f.is_file() and not set(f.relative_to(base).parts) & SKIP_PARTS
                and not name.startswith(SKIP_DIRS) and f.suffix != ".pyc"):
            out.append((f, name))
    return out


def gradescope_zip(out: Path, lectures: list[str] = ()) -> list[str]:
    """Write the autograder zip (deterministic: sorted names, fixed times). Returns its names."""
    members: list[tuple[str, bytes, int]] = [
        ("setup.sh", SETUP_SH.format(install_torch=install_torch("python").replace(
            "pip install", "pip install --no-cache-dir")).encode(), 0o755),
        ("run_autograder", RUN_AUTOGRADER.format(
            lectures="".join(f" --lecture {lid}" for lid in lectures)).encode(), 0o755)]
    for rel in ("course.yaml", "pyproject.toml", "README.md", "grader", "reference"):
        if (ROOT / rel).exists():
            members += [(name, f.read_bytes(), 0o644) for f, name in _files(ROOT, rel)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, out)
    return [name for name, _, _ in sorted(members)]



def _package_files(course: Course, lid: str) -> set[str]:
    """The top-level module names of a lecture's package (reference, else the stubs)."""
    pkg = course.lecture(lid).package
    for base in (ROOT / "reference", ROOT / "assignments"):
        if (base / pkg).is_dir():
            return {f.name for f in (base / pkg).glob("*.py")}
    return set()


def _loose_files(upload: Path) -> list[Path]:
    """Regular *.py files at the top of the upload (drag and drop), never links."""
    try:
        return sorted(p for p in upload.iterdir()
                      if p.suffix == ".py" and p.is_file() and not p.is_symlink())
    except OSError:
        return []


def place_loose_files(upload: Path, dest: Path, course: Course,
                      lectures: list[str]) -> tuple[str | None, str]:
    """Put an upload of loose *.py files into `dest/<package>/`.

    Returns (lecture id, "") when placed, (None, the message for the student) when not.
    """
    files = _loose_files(upload)
    if not files:
        return None, ""
    names = sorted(f.name for f in files)
    ids = list(lectures or course.lectures)
    if len(ids) == 1:
        lid = ids[0]
    else:
        fits = [lid for lid in ids
                if set(names) - {"__init__.py"} <= _package_files(course, lid)]
        if len(fits) != 1:
            where = (f"belong to several lectures ({', '.join(fits)})" if fits
                     else "match no lecture's files")
            return None, (f"Your upload holds loose files ({', '.join(names)}) that {where}, so "
                          "the autograder cannot tell which lecture they are for. Upload the "
                          f"lecture folder itself (one of {describe(course, ids)}) with the "
                          "files inside, or your whole assignments/ folder.")
        lid = fits[0]
    pkg = course.lecture(lid).package
    (dest / pkg).mkdir(parents=True)
    for f in files:
        shutil.copyfile(f, dest / pkg / f.name, follow_symlinks=False)
    init = ROOT / "reference" / pkg / "__init__.py"
    if not (dest / pkg / "__init__.py").exists() and init.is_file() \
            and "BEGIN SOLUTION" not in init.read_text():
        shutil.copyfile(init, dest / pkg / "__init__.py")   # the scaffold's, as in the stubs
    return lid, ""


def _failure(message: str) -> str:
    return json.dumps({"score": 0.0, "output": message, "tests": [], "visibility": "visible",
                       "stdout_visibility": "hidden"}, indent=2) + "\n"


def _oneline(text: str) -> str:
    """First line of a message, printable characters only, capped: for the log."""
    line = (text.strip().splitlines() or [""])[0]
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line if len(line) <= LOG_WIDTH else line[:LOG_WIDTH - 1] + "…"


def log_run(run) -> None:
    """The instructor's debug view (Gradescope shows stdout to instructors only): the folder,
    the isolation layer, one line per check with its time, the total."""
    from ..reports import LABELS
    out = sys.stdout
    for sub in run.submissions:
        for lec in sub.lectures:
            secs = run.timings.get(f"{sub.student}/{lec.lecture}", 0.0)
            print(f"{lec.lecture}: {lec.points:g}/{lec.max_points:g} points in {secs:.1f} s "
                  f"· isolation {lec.isolation}", file=out)
            for note in lec.notes:
                print(f"  note: {_oneline(note)}", file=out)
            for c in lec.checks:
                t = run.timings.get(f"{sub.student}/{lec.lecture}/{c.id}", 0.0)
                line = (f"  {LABELS.get(c.status, c.status):10s} {c.id:28s} "
                        f"{c.points:g}/{c.max_points:g}  {t:6.2f} s"
                        + ("  [hidden]" if c.visibility != "visible" else ""))
                if not c.passed and c.message:
                    line += f"  {_oneline(c.message)}"
                print(line, file=out)
    print(f"total {run.points:g}/{run.max_points:g} · seed {run.seed} · "
          f"{run.timings.get('total', 0):.1f} s", file=out)


def gradescope_run(course: Course, root: Path, lectures: list[str] = (),
                   seed: int | None = None, isolation: str | None = None) -> int:
    """Grade `root/submission`, write `root/results/results.json`; 0 graded, 1 grader failure.

    The upload is snapshotted first (regular files only, bounded; a link out of it refuses it),
    and the packages are found in the snapshot: nothing later reads the student's tree."""
    from ..reports import to_gradescope
    from ..runner import grade
    from ..snapshot import Refused, snapshot
    results = root / "results" / "results.json"
    upload = root / "submission"
    rc = 0
    print(f"zth gradescope run: {upload}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="zth-gradescope-") as tmp:
            text, target = "", None
            try:
                snap = snapshot(upload, course.limits, dest=Path(tmp) / "upload")
            except Refused as e:
                text = _failure(f"Your upload was not graded: {e}")
            else:
                target = locate(snap.root, course, lectures)
                if target is not None:
                    print(f"graded folder: {target.relative_to(snap.root).as_posix()}")
                else:
                    placed = Path(tmp) / "placed"
                    lid, refusal = place_loose_files(snap.root, placed, course, list(lectures))
                    if lid:
                        print(f"loose files placed into {course.lecture(lid).package}/")
                        target = placed
                    else:
                        text = _failure(refusal or (
                            f"No lecture package found in your submission (looked for "
                            f"{describe(course, lectures)} at its top level and up to 3 "
                            "folders down). Upload your assignments/ folder, or the lecture "
                            "folders themselves."))
            if target is not None:
                run = grade(course, target, list(lectures) or None, seed, isolation=isolation,
                            protect=[root / "results", root / "source"])
                log_run(run)
                text = to_gradescope(run)
            else:
                print(f"nothing graded: {json.loads(text)['output']}")
    except Exception:  # noqa: BLE001 - Gradescope must get a results.json whatever happened
        rc = 1
        print("the grader failed:\n" + traceback.format_exc())
        text = _failure("The autograder itself failed (not your fault); please tell your "
                        "instructor.\n" + traceback.format_exc(limit=3))
    # written last and atomically: whatever the submission wrote at this path is replaced
    write_atomic(results, text)
    os.chmod(results, 0o644)
    print(f"wrote {results}", flush=True)
    return rc
