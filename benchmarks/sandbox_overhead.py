"""Sandbox overhead: the same checks graded in the sandboxed worker vs in-process.

Target (issue 8): sandboxed ≤ 1.3× in-process. Both are timed end to end as a student waits for
them (`zth grade reference --lecture ID` in a fresh process, interpreter and torch start-up
included); the in-process run swaps in `_inprocess.InProcessWorker`, which exists only for this
benchmark. The sandboxed worker's start-up (bwrap, python, torch) overlaps with the parent's own.
Usage: python benchmarks/sandbox_overhead.py [--lecture ID]... [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BOOT = ("import sys; sys.path.insert(0, {here!r}); from _inprocess import InProcessWorker; "
        "from grader import runner; runner.WORKER_CLASS = InProcessWorker; "
        "from grader.cli import main; raise SystemExit(main(sys.argv[1:]))")


def timed(lid: str, inprocess: bool, seed: int) -> tuple[float, float]:
    args = ["grade", str(ROOT / "reference"), "--lecture", lid, "--seed", str(seed),
            "--format", "json", "-q"]
    cmd = ([sys.executable, "-c", BOOT.format(here=str(HERE)), *args] if inprocess
           else [sys.executable, "-m", "grader", *args])
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{lid}: {r.stderr[-400:]}")
    sub = json.loads(r.stdout)["submissions"][0]
    return dt, sub["points"] / sub["max_points"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lecture", action="append")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader.config import load_course
    from grader.sandbox import choose_isolation
    course = load_course()
    lectures = args.lecture or [lid for lid, lec in course.lectures.items()
                                if (ROOT / "reference" / lec.package).is_dir()]
    print(f"isolation: {choose_isolation()[0]}; median of {args.repeat} fresh `zth grade` runs "
          "of the reference, start-up included")
    print(f"{'lecture':10s} {'in-process s':>13s} {'sandboxed s':>12s} {'ratio':>6s}  "
          "(target ≤ 1.30)")
    ratios = []
    for lid in lectures:
        inproc, boxed = [], []
        for s in range(args.repeat):
            inproc.append(timed(lid, True, s)[0])
            boxed.append(timed(lid, False, s)[0])
        a, b = statistics.median(inproc), statistics.median(boxed)
        ratios.append(b / a)
        print(f"{lid:10s} {a:13.2f} {b:12.2f} {b / a:6.2f}  {'ok' if b / a <= 1.3 else 'OVER'}")
    print(f"worst ratio {max(ratios):.2f}, median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
