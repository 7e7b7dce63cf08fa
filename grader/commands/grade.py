"""`zth grade PATH` (one submission, or a folder of them with --batch) and `zth check` (a
student's working copy, as a table)."""
from __future__ import annotations

from pathlib import Path

from ..util import EXIT_LOW, EXIT_OK, UsageError, check_lectures, check_outputs, parse_formats


def stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def emit(run, fmts: list[str], out: str | None, out_dir: str | None) -> None:
    """Render `run` in each format: to --out, to --out-dir under fixed names, or to stdout."""
    from ..reports import FORMATS, RENDER, to_table
    from ..util import write_outputs
    check_outputs(fmts, out, out_dir)
    for fmt in fmts:
        if fmt == "table":
            if out or out_dir:
                from io import StringIO

                from rich.console import Console
                buf = StringIO()
                to_table(run, Console(file=buf, width=140, color_system=None))
                write_outputs({fmt: buf.getvalue()}, {fmt: "report.txt"}, out, out_dir)
            else:
                to_table(run)
            continue
        write_outputs({fmt: RENDER[fmt](run)}, FORMATS, out, out_dir)


WORD = {"not_implemented": "TODO", "not_graded": "BLOCKED", "bad_reply": "BADREPLY"}


def _progress(console, quiet: bool):
    """Each check's verdict on stderr as soon as it is decided (the report itself, in course
    order, comes at the end on stdout): coloured in a terminal, plain flushed lines when piped,
    so a CI log or `| tee` shows progress too. In a batch each line names the student."""
    if quiet:
        return None
    import sys

    from ..text import clean
    plain = not console.is_terminal

    def on_check(r, student: str | None = None):
        who = f"{student}: " if student else ""
        first = clean(r.message, 200).splitlines()[0] if r.message and not r.passed else ""
        pts = f"{r.points:g}/{r.max_points:g}"
        if plain:
            mark = "PASS" if r.passed else WORD.get(r.status, r.status.upper())
            sys.stderr.write(f"{mark:8} {who}{r.id}  {pts}" + (f"  {first}" if first else "")
                             + "\n")
            sys.stderr.flush()
            return
        from rich.text import Text
        line = Text("  ")
        line.append("✓ " if r.passed else "✗ ", style="green" if r.passed else "red")
        line.append(f"{who}{r.id}  ")
        line.append(pts, style="dim")
        if first:
            line.append(f"  {first[:max(20, console.width - len(line) - 4)]}", style="dim")
        console.print(line, highlight=False, no_wrap=True, overflow="ellipsis")
    return on_check


def _shard_spec(args) -> None:
    if args.shard and not args.batch:
        raise UsageError("--shard splits a folder of submissions: add --batch")
    if args.shard and args.seed is None:
        raise UsageError("--shard needs --seed N, the same for every shard, so that the parts "
                         "can be merged")
    if args.shard:
        try:
            i, n = (int(x) for x in args.shard.split("/"))
            assert 1 <= i <= n
        except (ValueError, AssertionError):
            raise UsageError(f"--shard takes i/n with 1 <= i <= n, got {args.shard!r}") from None


def cmd_grade(args) -> int:
    from ..config import load_course
    from ..reports import FORMATS
    from ..runner import grade
    course = load_course(args.course)
    path = Path(args.path)
    packages = ", ".join(lec.package + "/" for lec in course.lectures.values())
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise UsageError(f"{path}: expected a folder holding lecture packages (e.g. {packages})")
    _shard_spec(args)
    fmts = parse_formats(args.format, FORMATS)
    check_outputs(fmts, args.out, args.out_dir)
    lectures = check_lectures(course, args.lecture)
    err = stderr_console()
    if not args.batch and lectures is None:
        from ..finder import DEPTH, locate
        if locate(path, course) is None:
            raise UsageError(f"{path}: no lecture package found (looked for {packages} in it "
                             f"and up to {DEPTH} folders down, e.g. in assignments/)")
    only = set(args.check_ids) if args.check_ids else None
    if only:
        known = {c.id for lec in course.lectures.values() for c in lec.checks}
        if unknown := sorted(only - known):
            raise UsageError(f"unknown check id {', '.join(unknown)}")
    if getattr(args, "visible_only", False):
        # the output is for students (a CI summary): hidden checks are not even graded
        visible = {c.id for lec in course.lectures.values() for c in lec.checks
                   if c.visibility == "visible"}
        if only and not only & visible:
            raise UsageError("--visible-only leaves none of the --check ids: they are hidden")
        only = only & visible if only else visible
    run = grade(course, path, lectures, args.seed, args.batch, args.jobs, args.shard,
                args.isolation, _progress(err, args.quiet), only=only)
    if not args.quiet and fmts != ["table"]:
        err.print(f"[dim]seed {run.seed} · {run.timings.get('total', 0):.1f} s[/]")
    emit(run, fmts, args.out, args.out_dir)
    if "html" in fmts and args.out_dir and args.batch:
        # the layout `zth report` links to: OUT/<student>/report.html beside OUT/report.html
        from ..analytics import student_reports
        from ..util import write_atomic
        for rel, page in student_reports(run).items():
            write_atomic(Path(args.out_dir) / rel, page)
    if args.fail_under is not None and run.max_points:
        pct = 100 * run.points / run.max_points
        if pct < args.fail_under:
            err.print(f"[red]score {pct:.1f}% is below --fail-under {args.fail_under:g}%[/]")
            return EXIT_LOW
    return EXIT_OK


def cmd_check(args) -> int:
    args.path = args.path or "assignments"
    args.lecture = args.lectures or None
    args.batch, args.jobs, args.shard, args.format = False, 1, None, "table"
    args.out = args.out_dir = args.fail_under = None
    return cmd_grade(args)


def common(sp) -> None:
    """Options every grading command takes."""
    sp.add_argument("--seed", type=int, help="replay a run (default: a fresh seed, printed)")
    sp.add_argument("--check", dest="check_ids", action="append", metavar="CHECK_ID",
                    help="run only this check (repeatable)")
    sp.add_argument("--isolation", choices=["bubblewrap", "uid-drop", "process"],
                    help="ask for a weaker isolation layer (default: strongest available)")


def add_commands(sub) -> None:
    g = sub.add_parser("grade", help="grade a submission (or a folder of them with --batch)")
    g.add_argument("path")
    g.add_argument("--lecture", action="append", metavar="ID")
    g.add_argument("--format", default="table",
                   help="comma list of table, json, junit, gradescope, markdown, html (with "
                        "--batch and --out-dir, html also writes <student>/report.html)")
    g.add_argument("--out", help="write the (single) format to this file")
    g.add_argument("--out-dir", help="write each format to DIR with its fixed name")
    g.add_argument("--batch", action="store_true", help="PATH holds one folder per student")
    g.add_argument("--jobs", type=int, default=1)
    g.add_argument("--shard", help="grade only shard i of n (1-based), e.g. 2/20")
    g.add_argument("--fail-under", type=float, metavar="PCT")
    g.add_argument("--visible-only", action="store_true",
                   help="grade the visible checks only: for outputs students read (CI summaries)")
    g.add_argument("-q", "--quiet", action="store_true")
    common(g)
    g.set_defaults(func=cmd_grade)

    c = sub.add_parser("check", help="grade your working copy (./assignments by default)")
    c.add_argument("lectures", nargs="*", metavar="LECTURE")
    c.add_argument("--path", help="folder holding your lecture packages")
    c.add_argument("-q", "--quiet", action="store_true")
    common(c)
    c.set_defaults(func=cmd_check)
