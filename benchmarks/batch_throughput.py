"""Batch throughput of this grader vs an earlier commit's, side by side in one run.

A class of N students × 4 lectures (each student a copy of that commit's own reference
packages: every check runs to the end, the slowest case), graded with `zth grade --batch
--jobs 2`, each grader from a fresh process; the runs alternate (old, new, old, new, ...) so
both see the same machine load. Target (issue 19): ≥ 1.5× the throughput of commit d55b0a9.
Usage: python benchmarks/batch_throughput.py [--students 16] [--repeat 1]
       [--baseline d55b0a9] [--lecture ID ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LECTURES = ["bigram", "mlp", "batchnorm", "backprop"]   # the torch lectures with short checks


def checkout(rev: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def make_class(code: Path, lectures: list[str], students: int, dest: Path) -> Path:
    import yaml
    packages = {lid: spec["package"] for lid, spec in
                yaml.safe_load((code / "course.yaml").read_text())["lectures"].items()}
    for k in range(students):
        for lid in lectures:
            shutil.copytree(code / "reference" / packages[lid],
                            dest / f"student{k:02d}" / packages[lid],
                            ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def grade(code: Path, batch: Path, lectures: list[str], jobs: int) -> float:
    cmd = [sys.executable, "-m", "grader", "grade", str(batch), "--batch", "--jobs", str(jobs),
           "--seed", "1", "--format", "json", "-q"]
    for lid in lectures:
        cmd += ["--lecture", lid]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{code}: {' '.join(cmd)} failed:\n{r.stderr[-1500:]}")
    import json
    run = json.loads(r.stdout)
    got, full = sum(s["points"] for s in run["submissions"]), sum(
        s["max_points"] for s in run["submissions"])
    if got < full:
        print(f"  note: {code.name} scored {got}/{full} (throughput counts gradings, not marks)")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--baseline", default="d55b0a9")
    ap.add_argument("--lecture", action="append")
    args = ap.parse_args()
    lectures = args.lecture or LECTURES
    n = args.students * len(lectures)
    with tempfile.TemporaryDirectory(prefix="zth-bench-") as d:
        sides = {"old": checkout(args.baseline, Path(d) / "old"), "new": ROOT}
        classes = {side: make_class(code, lectures, args.students, Path(d) / f"class-{side}")
                   for side, code in sides.items()}
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.repeat):
            for side in ("old", "new"):
                t = grade(sides[side], classes[side], lectures, args.jobs)
                times[side].append(t)
                print(f"  {side}: {t:.1f} s", flush=True)
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"{args.students} students × {len(lectures)} lectures ({', '.join(lectures)}), "
          f"--jobs {args.jobs}, median of {args.repeat}:")
    print(f"  {args.baseline}: {old:6.1f} s  {n / old * 60:6.1f} gradings/min")
    print(f"  this tree: {new:6.1f} s  {n / new * 60:6.1f} gradings/min")
    ratio = old / new
    print(f"  throughput ratio {ratio:.2f}x ({'ok' if ratio >= 1.5 else 'UNDER'} vs ≥ 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
