"""`zth merge PART... [--format csv,json,markdown,nbgrader,junit]`: one gradebook from shards."""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_merge(args) -> int:
    from ..config import ConfigError, load_course
    from ..gradebook import FORMATS, MergeError, load_part, merge, read_roster, render
    from ..util import UsageError, check_outputs, parse_formats, write_outputs
    fmts = parse_formats(args.format, FORMATS)
    check_outputs(fmts, args.out, args.out_dir)
    files: list[Path] = []
    for p in map(Path, args.parts):
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    try:
        parts = [(str(f), load_part(f)) for f in files]
        run, warnings = merge(parts, partial=args.partial)
        roster = read_roster(Path(args.roster)) if args.roster else None
    except MergeError as e:
        raise UsageError(str(e)) from None
    for w in warnings:
        print(f"zth: warning: {w}", file=sys.stderr)
    try:
        order = list(load_course(args.course).lectures)
    except ConfigError:
        order = []
    write_outputs({fmt: render(fmt, run, roster, order) for fmt in fmts}, FORMATS, args.out,
                  args.out_dir)
    if not args.quiet:
        print(f"merged {len(parts)} part(s): {len(run.submissions)} students, seed {run.seed}",
              file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    m = subparsers.add_parser(
        "merge", help="merge the JSON reports of a sharded batch into one gradebook",
        description="Merge `zth grade DIR --batch --shard i/n --seed S --format json` reports. "
                    "Refuses parts of different runs (seed, grader, course.yaml), a missing or "
                    "repeated shard and a student graded twice.")
    m.add_argument("parts", nargs="+", metavar="PART",
                   help="part-*.json files (or a folder of them)")
    m.add_argument("--format", default="csv",
                   help="comma list of csv (one row per student), nbgrader (nbgrader export's "
                        "columns), json, markdown, junit (default csv)")
    m.add_argument("--out", help="write the (single) format to this file")
    m.add_argument("--out-dir", help="write each format to DIR: grades.csv, nbgrader.csv, "
                                     "report.json, grades.md, junit.xml")
    m.add_argument("--roster", metavar="CSV",
                   help="names and emails: a CSV with student_id (or id), first_name, "
                        "last_name, email; listed students without a submission get 0")
    m.add_argument("--partial", action="store_true",
                   help="merge even if shards are missing (with a warning)")
    m.add_argument("-q", "--quiet", action="store_true")
    m.set_defaults(func=cmd_merge)
