"""Sandbox overhead: the same checks graded in the sandboxed worker vs in-process.

Target (issue 8): sandboxed ≤ 1.3× in-process, per lecture, start-up included.
Usage: python benchmarks/sandbox_overhead.py [--lecture ID]... [--repeat N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inprocess import InProcessWorker  # noqa: E402

from grader import runner  # noqa: E402
from grader.config import ROOT, load_course  # noqa: E402
from grader.sandbox import Worker, choose_isolation  # noqa: E402


def timed(course, lid: str, worker_class, seed: int) -> tuple[float, float]:
    runner.WORKER_CLASS = worker_class
    t0 = time.perf_counter()
    run = runner.grade(course, ROOT / "reference", [lid], seed)
    dt = time.perf_counter() - t0
    return dt, run.points / max(run.max_points, 1e-9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lecture", action="append")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    course = load_course()
    lectures = args.lecture or [lid for lid, lec in course.lectures.items()
                                if (ROOT / "reference" / lec.package).is_dir()]
    layer, _ = choose_isolation()
    print(f"isolation: {layer}; median of {args.repeat} runs; reference submission")
    print(f"{'lecture':10s} {'in-process s':>13s} {'sandboxed s':>12s} {'ratio':>6s}  target ≤ 1.30")
    worst = 0.0
    for lid in lectures:
        inproc = [timed(course, lid, InProcessWorker, s)[0] for s in range(args.repeat)]
        boxed = [timed(course, lid, Worker, s)[0] for s in range(args.repeat)]
        a, b = statistics.median(inproc), statistics.median(boxed)
        worst = max(worst, b / a)
        print(f"{lid:10s} {a:13.2f} {b:12.2f} {b / a:6.2f}  {'ok' if b / a <= 1.3 else 'OVER'}")
    print(f"worst ratio {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
