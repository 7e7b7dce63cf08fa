"""Where each second of grading goes, per lecture and per check (issue 19).

For one correct submission (the reference) it times, inside one run of the real grader:
  start-up  spawning the sandboxed worker and importing the student's package (the "import" op
            the first probe pays; interpreter + torch import + confinement)
  probe     time inside Worker.call for the probe requests (student code + wire)
  parent    the rest of each check: building inputs, the oracle, replays, comparing
  report    rendering every report format of the run
  first     from the parent being ready (the first check function called: torch and the checks
            imported, the plan made) to the first verdict reported (what `zth grade` streams)
Usage: python benchmarks/time_breakdown.py [--lecture ID]... [--seed N] [--top K]
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

from grader import runner
from grader.config import ROOT, load_course
from grader.sandbox import Worker

TIMES: dict = defaultdict(float)


class TimedWorker(Worker):
    check = ""

    def start(self):
        t0 = time.perf_counter()
        super().start()
        TIMES[("startup", self.spec.lecture)] += time.perf_counter() - t0

    def call(self, probe, args, seed, timeout, **kw):
        first = not self.imported
        t0 = time.perf_counter()
        reply = super().call(probe, args, seed, timeout, **kw)
        dt = time.perf_counter() - t0
        if first:   # the import op (and a spawn, when the worker died) rides on this call
            TIMES[("import", self.spec.lecture)] += dt
        TIMES[("probe", self.spec.lecture, TimedWorker.check)] += dt
        return reply


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lecture", action="append")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    course = load_course()
    lectures = args.lecture or list(course.lectures)
    runner.WORKER_CLASS = TimedWorker
    real_registry = runner.registry

    def timed_registry(lid):
        checks = real_registry(lid)

        def wrap(cid, fn):
            def timed(ctx):
                TIMES.setdefault(("ready", lid), time.perf_counter())
                TimedWorker.check = cid
                t0 = time.perf_counter()
                try:
                    return fn(ctx)
                finally:
                    TIMES[("check", lid, cid)] += time.perf_counter() - t0
            return timed
        return {cid: wrap(cid, fn) for cid, fn in checks.items()}
    runner.registry = timed_registry

    from grader import reports
    print(f"{'lecture':10s} {'total':>7s} {'start-up':>9s} {'probe':>7s} {'parent':>7s} "
          f"{'report':>7s} {'first':>6s}   slowest checks (probe s / parent s)")
    for lid in lectures:
        t0 = time.perf_counter()
        def on_check(r, lid=lid):
            TIMES.setdefault(("first", lid), time.perf_counter())
        run = runner.grade(course, ROOT / "reference", [lid], args.seed, on_check=on_check)
        total = time.perf_counter() - t0
        t1 = time.perf_counter()
        for fmt in ("json", "junit", "gradescope", "markdown", "html"):
            renderer = getattr(reports, f"to_{fmt}", None)
            if renderer is not None:
                renderer(run)
        report = time.perf_counter() - t1
        checks = [(k[2], TIMES[("probe", lid, k[2])], v - TIMES[("probe", lid, k[2])])
                  for k, v in TIMES.items() if k[0] == "check" and k[1] == lid]
        probe = sum(c[1] for c in checks)
        parent = sum(c[2] for c in checks)
        startup = TIMES[("startup", lid)] + TIMES[("import", lid)]
        first = TIMES[("first", lid)] - TIMES[("ready", lid)]
        slow = sorted(checks, key=lambda c: -(c[1] + c[2]))[:args.top]
        print(f"{lid:10s} {total:7.2f} {startup:9.2f} {probe - TIMES[('import', lid)]:7.2f} "
              f"{parent:7.2f} {report:7.3f} {first:6.2f}   " + ", ".join(
                  f"{c[0].split('.', 1)[1]} {c[1]:.2f}/{c[2]:.2f}" for c in slow))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
