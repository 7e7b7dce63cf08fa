"""`zth mutate LECTURE [--sample N --seed S]`: mutation testing of the grader on one lecture."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..util import EXIT_BUG, EXIT_OK, UsageError


def cmd_mutate(args) -> int:
    from ..config import load_course
    from ..mutate import MUTATION_DIR, MutationError, write_report

    course = load_course(Path(args.course))
    if args.lecture not in course.lectures:
        raise UsageError(f"unknown lecture {args.lecture!r} (choose from "
                         f"{', '.join(course.lectures)})")
    if args.sample is not None and args.sample < 1:
        raise UsageError("--sample must be at least 1")
    out_dir = Path(args.out_dir) if args.out_dir else MUTATION_DIR
    try:
        report = _report(args, course, out_dir)
    except MutationError as e:
        print(f"zth mutate: {e}", file=sys.stderr)
        return EXIT_BUG
    paths = write_report(report, out_dir)
    score = f"{report['score']:.1%}" if report["score"] is not None else "n/a"
    print(f"{args.lecture}: {report['mutants_graded']} of {report['mutants_total']} mutants, "
          f"{report['killed']} killed, {report['timeout']} timed out, {report['survived']} "
          f"survived, {report['equivalent']} equivalent: score {score}"
          + (" (FLAGGED: more than 10% declared equivalent)" if report["flagged"] else ""))
    print("wrote " + ", ".join(str(p) for p in paths))
    return EXIT_OK


def _report(args, course, out_dir: Path) -> dict:
    from ..mutate import regrade_survivors, run_mutants, summarise

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.resummarise or args.survivors:
        path = out_dir / f"{args.lecture}.json"
        if not path.is_file():
            raise UsageError(f"{path}: no earlier report to recount")
        report = json.loads(path.read_text())
        if args.survivors:  # a check was strengthened: grade survivors and timeouts again
            report = regrade_survivors(course, report, args.jobs, log=log)
        report = summarise(report)  # equivalents declared after a run are counted
    else:
        report = run_mutants(course, args.lecture, args.sample, args.seed,
                             (args.seed, args.seed + 1), args.jobs, log=log)
    return report


def add_commands(sub) -> None:
    m = sub.add_parser("mutate", help="mutation testing: plant bugs in the reference, count "
                       "the ones the checks catch")
    m.add_argument("lecture")
    m.add_argument("--sample", type=int, default=None, help="grade N mutants drawn with --seed")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--out-dir", default=None, help="default: mutation/ in the repo")
    m.add_argument("--resummarise", action="store_true",
                   help="recount the last report after declaring equivalents (no grading)")
    m.add_argument("--survivors", action="store_true",
                   help="grade the last report's survivors and timeouts again and merge")
    m.set_defaults(func=cmd_mutate)
