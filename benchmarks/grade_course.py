"""Whole course for one correct submission, printed per lecture, plus peak memory.

Targets (issue 8): the whole course ≤ 60 s wall on 2 cores; one lecture (`zth check`, interpreter
and torch start-up included) ≤ 10 s; peak RSS ≤ 2 GB.
Usage: python benchmarks/grade_course.py
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from grader.config import ROOT, load_course


def rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> int:
    course = load_course()
    lectures = [lid for lid, lec in course.lectures.items()
                if (ROOT / "reference" / lec.package).is_dir()]
    print(f"{'lecture':10s} {'zth check s':>12s} {'in-run s':>9s} {'points':>10s}   "
          "(zth check: fresh process, start-up included; target ≤ 10 s)")
    total_cli = 0.0
    for lid in lectures:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "grader", "grade", str(ROOT / "reference"),
                            "--lecture", lid, "--seed", "1", "--format", "json", "-q"],
                           capture_output=True, text=True)
        dt = time.perf_counter() - t0
        total_cli += dt
        if r.returncode:
            print(f"{lid:10s} failed: {r.stderr[-300:]}")
            continue
        d = json.loads(r.stdout)
        sub = d["submissions"][0]
        print(f"{lid:10s} {dt:12.2f} {d['timings'][f'reference/{lid}']:9.2f} "
              f"{sub['points']:>5g}/{sub['max_points']:<4g} {'ok' if dt <= 10 else 'OVER'}")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "grader", "grade", str(ROOT / "reference"),
                        "--seed", "1", "--format", "json", "-q"], capture_output=True, text=True)
    whole = time.perf_counter() - t0
    peak = rss_mb(resource.RUSAGE_CHILDREN)
    print(f"whole course in one `zth grade`: {whole:.1f} s (target ≤ 60 s: "
          f"{'ok' if whole <= 60 else 'OVER'}); sum of per-lecture runs {total_cli:.1f} s")
    print(f"peak RSS of any grader or worker process: {peak:.0f} MB (target ≤ 2048 MB: "
          f"{'ok' if peak <= 2048 else 'OVER'})")
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
