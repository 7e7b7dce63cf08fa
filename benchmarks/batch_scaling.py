"""Batch scaling: `zth grade DIR --batch` on 20 submissions with --jobs 1 vs --jobs 2.

Target (issue 8): --jobs 2 at least 1.7x faster than --jobs 1 on 2 cores.
Usage: python benchmarks/batch_scaling.py [--lecture micrograd] [--n 20]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.config import ROOT, load_course


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lecture", default="micrograd")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    pkg = load_course().lecture(args.lecture).package
    with tempfile.TemporaryDirectory() as d:
        for k in range(args.n):
            shutil.copytree(ROOT / "reference" / pkg, Path(d) / f"student{k:02d}" / pkg,
                            ignore=shutil.ignore_patterns("__pycache__"))
        times = {}
        for jobs in (1, 2):
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "grader", "grade", d, "--batch", "--jobs",
                                str(jobs), "--lecture", args.lecture, "--seed", "1", "--format",
                                "json", "-q"], capture_output=True, text=True)
            times[jobs] = time.perf_counter() - t0
            if r.returncode:
                print(r.stderr[-500:])
                return 1
    ratio = times[1] / times[2]
    print(f"{args.n} submissions of {args.lecture}: --jobs 1 {times[1]:.1f} s, --jobs 2 "
          f"{times[2]:.1f} s, speed-up {ratio:.2f}x (target ≥ 1.7x: "
          f"{'ok' if ratio >= 1.7 else 'UNDER'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
