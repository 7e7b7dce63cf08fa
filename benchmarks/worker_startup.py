"""Worker start-up, cold (a fresh sandboxed interpreter per submission) vs warm (a child of the
lecture's fork server, grader/sandbox/server.py), side by side for each lecture.

Measured from `Worker.start()` to the answer of the first request (the student's package
imported, one probe call): what a submission waits before its first check can run.
Target (issue 19): warm ≤ 100 ms. Usage: python benchmarks/worker_startup.py [--repeat 5]
[--lecture ID ...] [--isolation LAYER]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.config import load_course  # noqa: E402
from grader.runner import worker_spec  # noqa: E402
from grader.sandbox import Worker, WorkerSpec, choose_isolation  # noqa: E402
from grader.sandbox.client import worker_env  # noqa: E402
from grader.sandbox.server import POOL  # noqa: E402


def first_reply_ms(spec: WorkerSpec, layer: str, server) -> float:
    w = Worker(spec, layer, server)
    t0 = time.perf_counter()
    w.start()
    r = w.call("no_such_probe", {}, 0, 120)    # the import, then one request answered
    ms = (time.perf_counter() - t0) * 1000
    w.close()
    assert r.status == "error" and "no probe" in r.message, r.message
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lecture", action="append")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--isolation")
    args = ap.parse_args()
    course = load_course()
    layer, _ = choose_isolation(args.isolation)
    print(f"isolation: {layer}; median of {args.repeat} (warm: the server already running)")
    print(f"{'lecture':10s} {'cold':>9s} {'warm':>9s} {'ratio':>7s}  target warm ≤ 100 ms")
    with POOL.hold():
        for lid in args.lecture or list(course.lectures):
            spec = worker_spec(course, lid, ROOT / "reference" / course.lecture(lid).package)
            server = POOL.get(layer, lid, spec.preload, worker_env("/tmp", spec.env), spec.binds)
            if server is None:
                print(f"{lid:10s} no fork server here (ZTH_WARM=0 or no Landlock)")
                continue
            first_reply_ms(spec, layer, server)          # the server warms up once
            cold, warm = [], []
            for _ in range(args.repeat):                 # interleaved: same load for both
                cold.append(first_reply_ms(spec, layer, None))
                warm.append(first_reply_ms(spec, layer, server))
            c, w = statistics.median(cold), statistics.median(warm)
            print(f"{lid:10s} {c:7.0f} ms {w:7.0f} ms {c / w:6.1f}x  "
                  f"{'ok' if w <= 100 else 'OVER'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
