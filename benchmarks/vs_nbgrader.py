"""Our grading of a lecture vs `nbgrader autograde` of the same submission's notebook.

Target (issue 8): `zth grade` of the lecture's modules ≥ 5× faster than `nbgrader autograde`.
Both start from a fresh process; the autograde run is the course `zth nbgrader init` writes
(our sandboxed verdicts plus nbgrader executing the notebook in a Jupyter kernel), which is what
an instructor runs. Usage: python benchmarks/vs_nbgrader.py [--lecture micrograd]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout[-800:]}{r.stderr[-800:]}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lecture", default="micrograd")
    args = ap.parse_args()
    try:
        import nbformat
    except ImportError:
        raise SystemExit('needs the nbgrader extra: pip install -e ".[nbgrader]"') from None
    sys.path.insert(0, str(ROOT))
    from grader.config import load_course
    lid = args.lecture
    pkg = load_course().lecture(lid).package
    with tempfile.TemporaryDirectory() as d:
        course = Path(d) / "course"
        zth = [sys.executable, "-m", "grader"]
        run([*zth, "nbgrader", "init", str(course), "--lecture", lid], ROOT)
        run([sys.executable, "-m", "nbgrader", "generate_assignment", lid], course)
        release = course / "release" / lid
        source = nbformat.read(course / "source" / lid / f"{lid}.ipynb", 4)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
        nb = nbformat.read(release / f"{lid}.ipynb", 4)
        for c in nb.cells:  # the reference's answers in the solution cells
            gid = c.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                c.source = answers[gid]
        dest = course / "submitted" / "student" / lid
        shutil.copytree(release, dest)
        shutil.rmtree(dest / pkg)
        shutil.copytree(ROOT / "reference" / pkg, dest / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
        nbformat.write(nb, dest / f"{lid}.ipynb")
        ours = run([*zth, "grade", str(dest), "--lecture", lid, "--seed", "1", "--format",
                    "json", "-q"], ROOT)
        theirs = run([sys.executable, "-m", "nbgrader", "autograde", lid], course)
    print(f"{lid}: zth grade {ours:.1f} s, nbgrader autograde {theirs:.1f} s, "
          f"ratio {theirs / ours:.1f}x (target ≥ 5x: {'ok' if theirs / ours >= 5 else 'UNDER'})")
    print("autograde = nbgrader start-up and database + our sandboxed grading of the modules + "
          "a Jupyter kernel executing every notebook cell (the lecture's demos and plots)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
