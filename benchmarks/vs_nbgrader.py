"""Our grading of a lecture vs `nbgrader autograde` of the same submission's notebook.

Target (issue 8): `zth grade` of the lecture's modules ≥ 5× faster than `nbgrader autograde`;
(issue 19) ≥ 3× on every lecture. Both start from a fresh process; the autograde run is the
course `zth nbgrader init` writes (our sandboxed verdicts plus nbgrader executing the notebook in
a Jupyter kernel), which is what an instructor runs. With --students N, a class of N identical
correct submissions: `nbgrader autograde` grades them one after another, `zth grade --batch
--jobs J` (J = --jobs, default 2) through the lecture's warm fork server.
Usage: python benchmarks/vs_nbgrader.py [--lecture micrograd] [--students 8] [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path, out: list | None = None) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout[-800:]}{r.stderr[-800:]}")
    took = time.perf_counter() - t0
    if out is not None:
        out.append(r.stdout)
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lecture", action="append", help="default: every lecture")
    ap.add_argument("--students", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None, help="default: 2 with --students > 1")
    ap.add_argument("--skip-course", action="store_true",
                    help="do not time our own nbgrader course (sandboxed verdicts + kernel)")
    args = ap.parse_args()
    try:
        import nbformat
    except ImportError:
        raise SystemExit('needs the nbgrader extra: pip install -e ".[nbgrader]"') from None
    sys.path.insert(0, str(ROOT))
    from grader.config import load_course
    course = load_course()
    for lid in args.lecture or list(course.lectures):
        compare(lid, course.lecture(lid).package, nbformat, args.students,
                args.jobs or (2 if args.students > 1 else 1), not args.skip_course)
    print("plain autograde = nbgrader start-up and database + a Jupyter kernel executing every "
          "cell (the lecture's demos, plots and test cells); zth grade = start-up + torch import "
          "+ sandboxed checks")
    return 0


def compare(lid: str, pkg: str, nbformat, students: int = 1, jobs: int = 1,
            course_too: bool = True) -> None:
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
        for k in range(students):
            dest = course / "submitted" / f"student{k:02d}" / lid
            shutil.copytree(release, dest)
            shutil.rmtree(dest / pkg)
            shutil.copytree(ROOT / "reference" / pkg, dest / pkg,
                            ignore=shutil.ignore_patterns("__pycache__"))
            nbformat.write(nb, dest / f"{lid}.ipynb")
        plain = Path(d) / "plain"  # the same course with nbgrader's own autograde pipeline
        shutil.copytree(course, plain)
        with open(plain / "nbgrader_config.py", "a") as f:
            f.write("\nfrom nbgrader.converters.autograde import Autograde\n"
                    "c.Autograde.autograde_preprocessors = "
                    "Autograde.class_traits()['autograde_preprocessors'].default()\n")
        target = [str(dest)]
        if students > 1:     # one folder per student holding what they handed in
            batch = Path(d) / "batch"
            for k in range(students):
                shutil.copytree(course / "submitted" / f"student{k:02d}" / lid,
                                batch / f"student{k:02d}")
            target = [str(batch), "--batch", "--jobs", str(jobs)]
        report: list[str] = []
        ours = run([*zth, "grade", *target, "--lecture", lid, "--seed", "1", "--format",
                    "json", "-q"], ROOT, report)
        graded = json.loads(report[0])["submissions"]      # the time counts only if all of
        if len(graded) != students or any(g["points"] < g["max_points"] for g in graded):
            raise SystemExit(f"{lid}: zth grade did not give {students} full marks: "
                             f"{[(g['student'], g['points'], g['max_points']) for g in graded]}")
        theirs = run([sys.executable, "-m", "nbgrader", "autograde", lid], plain)
        both = run([sys.executable, "-m", "nbgrader", "autograde", lid], course) \
            if course_too else float("nan")
    ratio = theirs / ours
    who = f" ×{students} (--jobs {jobs})" if students > 1 else ""
    print(f"{lid:10s}{who} zth grade {ours:5.1f} s | plain nbgrader autograde {theirs:5.1f} s | "
          f"ratio {ratio:4.1f}x ({'ok' if ratio >= 3 else 'UNDER'} vs ≥ 3x) | our nbgrader "
          f"course (sandboxed verdicts + kernel) {both:5.1f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
