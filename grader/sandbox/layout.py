"""What the worker runs: the runtime (`grader/worker/`) and one room's sandboxed probes, laid out
as the package `zth_worker` in a folder of its own (nothing else of the grader goes in)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..lectures import LECTURES_DIR, SANDBOXED

GRADER_DIR = Path(__file__).resolve().parent.parent
WORKER_DIR = GRADER_DIR / "worker"


def layout_worker(dest: Path, *lectures: str) -> Path:
    """The code the worker runs, and nothing else: the runtime (`grader/worker/`) as the package
    `zth_worker`, plus the sandboxed side of the lecture's room (its probes). Returns the folder
    to put on the worker's sys.path."""
    pkg = dest / "zth_worker"
    if not pkg.exists():
        shutil.copytree(WORKER_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for lecture in lectures:
        room = LECTURES_DIR / lecture
        for name, target in SANDBOXED.items():
            if (room / name).is_file():
                shutil.copyfile(room / name, pkg / "probes" / target.format(lecture=lecture))
    return dest
