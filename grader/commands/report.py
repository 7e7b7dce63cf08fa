"""`zth report RUN.json... [--format html,csv]`: how the class is doing, from a batch's JSON."""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_report(args) -> int:
    from ..analytics import FORMATS, class_stats, render, student_reports
    from ..config import ConfigError, load_course
    from ..gradebook import MergeError, load_part, merge
    from ..util import UsageError, check_outputs, parse_formats, write_atomic, write_outputs
    fmts = parse_formats(args.format, FORMATS)
    check_outputs(fmts, args.out, args.out_dir)
    files: list[Path] = []
    for p in map(Path, args.reports):
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory")
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    try:
        run, warnings = merge([(str(f), load_part(f)) for f in files], partial=True)
    except MergeError as e:
        raise UsageError(str(e)) from None
    for w in warnings:
        print(f"zth: warning: {w}", file=sys.stderr)
    if not run.submissions:
        raise UsageError("the reports hold no graded submission")
    try:
        order = list(load_course(args.course).lectures)
    except ConfigError:
        order = []
    stats = class_stats(run, order)
    write_outputs({fmt: render(fmt, stats) for fmt in fmts}, FORMATS, args.out, args.out_dir)
    if "html" in fmts and args.out_dir and not args.no_student_reports:
        for rel, text in student_reports(run).items():
            write_atomic(Path(args.out_dir) / rel, text)
    if not args.quiet:
        hardest = stats.checks[0] if stats.checks else None
        where = args.out_dir or args.out or "stdout"
        print(f"{len(run.submissions)} students, {len(stats.checks)} checks"
              + (f"; hardest: {hardest.id} ({100 * hardest.pass_rate:.0f}% passed)"
                 if hardest else "") + f" -> {where}", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    r = subparsers.add_parser(
        "report", help="class analytics from a batch's JSON report (HTML page, CSV)",
        description="Reads `zth grade DIR --batch --format json` reports (or the parts of a "
                    "sharded batch, or `zth merge --format json`) and writes one self-contained "
                    "HTML page: score histograms per lecture, pass rate per check (hardest "
                    "first), the most common failure messages, time per check and a table of "
                    "students linking to <student>/report.html. With --out-dir, each student's "
                    "report is written there too.")
    r.add_argument("reports", nargs="+", metavar="RUN.json",
                   help="JSON reports of one batch (or a folder of them)")
    r.add_argument("--format", default="html",
                   help="comma list of html (the page), csv (the per-check table); default html")
    r.add_argument("--out", help="write the (single) format to this file")
    r.add_argument("--out-dir", help="write index.html, checks.csv and <student>/report.html")
    r.add_argument("--no-student-reports", action="store_true",
                   help="with --out-dir: write the class page only")
    r.add_argument("-q", "--quiet", action="store_true")
    r.set_defaults(func=cmd_report)
