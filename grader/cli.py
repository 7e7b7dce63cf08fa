"""The `zth` command line (also `python -m grader`).

Exit codes: 0 graded (whatever the score), 1 the grader itself failed, 2 usage error,
3 score below --fail-under.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path

from .config import ROOT, ConfigError, load_course

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_LOW = 0, 1, 2, 3


class UsageError(Exception):
    pass


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file + rename, so a crash never leaves half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def _formats(spec: str) -> list[str]:
    from .reports import FORMATS
    fmts = [f.strip() for f in spec.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise UsageError(f"unknown format {', '.join(bad) or spec!r}; choose from "
                         f"{', '.join(FORMATS)}")
    return fmts


def emit(run, fmts: list[str], out: str | None, out_dir: str | None, console=None) -> None:
    from .reports import FORMATS, RENDER, to_table
    if len(fmts) > 1 and out:
        raise UsageError("--out takes one format; use --out-dir for several")
    if len(fmts) > 1 and not out_dir:
        raise UsageError("several formats need --out-dir DIR")
    for fmt in fmts:
        if fmt == "table":
            if out or out_dir:
                from io import StringIO

                from rich.console import Console
                buf = StringIO()
                to_table(run, Console(file=buf, width=140, color_system=None))
                text = buf.getvalue()
                write_atomic(Path(out) if out else Path(out_dir) / "report.txt", text)
            else:
                to_table(run, console)
            continue
        text = RENDER[fmt](run)
        if out:
            write_atomic(Path(out), text)
        elif out_dir:
            write_atomic(Path(out_dir) / FORMATS[fmt], text)
        else:
            sys.stdout.write(text)


def _lectures(course, ids: list[str] | None) -> list[str] | None:
    if not ids:
        return None
    for lid in ids:
        if lid not in course.lectures:
            raise UsageError(f"unknown lecture {lid!r}; choose from {', '.join(course.lectures)}")
    return ids


def _progress(console, quiet: bool):
    if quiet or not console.is_terminal:
        return None

    def on_check(r):
        mark = "[green]✓[/]" if r.passed else "[red]✗[/]"
        console.print(f"  {mark} {r.id}", highlight=False)
    return on_check


def cmd_grade(args) -> int:
    from .runner import grade
    course = load_course(args.course)
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise UsageError(f"{path}: expected a folder holding lecture packages "
                         f"(e.g. "
                         f"{', '.join(lec.package + '/' for lec in course.lectures.values())})")
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
    fmts = _formats(args.format)
    if len(fmts) > 1 and args.out:
        raise UsageError("--out takes one format; use --out-dir for several")
    if len(fmts) > 1 and not args.out_dir:
        raise UsageError("several formats need --out-dir DIR")
    lectures = _lectures(course, args.lecture)
    err = _stderr_console()
    if not args.batch and lectures is None:
        from .runner import lectures_in
        if not lectures_in(path, course):
            raise UsageError(f"{path}: no lecture package found (looked for "
                             f"{', '.join(lec.package + '/' for lec in course.lectures.values())})")
    only = set(args.check_ids) if args.check_ids else None
    if only:
        known = {c.id for lec in course.lectures.values() for c in lec.checks}
        if unknown := sorted(only - known):
            raise UsageError(f"unknown check id {', '.join(unknown)}")
    run = grade(course, path, lectures, args.seed, args.batch, args.jobs, args.shard,
                args.isolation, _progress(err, args.quiet or fmts != ["table"]), only=only)
    if not args.quiet and fmts != ["table"]:
        err.print(f"[dim]seed {run.seed} · {run.timings.get('total', 0):.1f} s[/]")
    emit(run, fmts, args.out, args.out_dir)
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


def cmd_selftest(args) -> int:
    from .reports import to_table
    from .runner import grade
    course = load_course(args.course)
    lectures = _lectures(course, args.lecture) or [
        lid for lid in course.lectures
        if (ROOT / "reference" / course.lectures[lid].package).is_dir()]
    err = _stderr_console()
    problems = []
    for name, want_full in (("reference", True), ("assignments", False)):
        run = grade(course, ROOT / name, lectures, args.seed, isolation=args.isolation)
        if args.verbose:
            to_table(run, err)
        for lec in run.submissions[0].lectures:
            for c in lec.checks:
                if want_full and not c.passed:
                    problems.append(f"reference {c.id}: {c.status}: {c.message}")
                if not want_full and (c.points or c.status != "not_implemented"):
                    problems.append(f"stub {c.id}: expected 0 and 'not implemented', got "
                                    f"{c.status} ({c.points:g} points): {c.message}")
            err.print(f"{name:11s} {lec.lecture:10s} {lec.points:g}/{lec.max_points:g} "
                      f"({lec.isolation}, {run.timings.get(f'{name}/{lec.lecture}', 0):.1f} s)")
    from .build import stale
    if diffs := stale():
        problems.append("assignments/ is out of date (run `zth build`): " + ", ".join(diffs))
    for p in problems:
        err.print(f"[red]✗ {p}[/]", highlight=False)
    if not problems:
        err.print("[green]selftest passed: reference scores full marks, stubs score 0[/]")
    return EXIT_BUG if problems else EXIT_OK


def cmd_build(args) -> int:
    from .build import BuildError, build, stale
    try:
        return _build(args, build, stale)
    except BuildError as e:
        raise UsageError(str(e)) from None


def _build(args, build, stale) -> int:
    if args.check:
        diffs = stale()
        for d in diffs:
            print(f"stale: {d}")
        return EXIT_BUG if diffs else EXIT_OK
    for rel in build():
        print(f"wrote assignments/{rel}")
    return EXIT_OK


def cmd_reproduce(args) -> int:
    from .reproduce import reproduce
    return reproduce(args.lecture, args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zth", description="Autograder for Neural Networks: "
                                "Zero to Hero.")
    p.add_argument("--course", default=str(ROOT / "course.yaml"), help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--seed", type=int, help="replay a run (default: a fresh seed, printed)")
        sp.add_argument("--check", dest="check_ids", action="append", metavar="CHECK_ID",
                        help="run only this check (repeatable)")
        sp.add_argument("--isolation", choices=["bubblewrap", "uid-drop", "process"],
                        help="ask for a weaker isolation layer (default: strongest available)")

    g = sub.add_parser("grade", help="grade a submission (or a folder of them with --batch)")
    g.add_argument("path")
    g.add_argument("--lecture", action="append", metavar="ID")
    g.add_argument("--format", default="table",
                   help="comma list of table, json, junit, gradescope, markdown")
    g.add_argument("--out", help="write the (single) format to this file")
    g.add_argument("--out-dir", help="write each format to DIR with its fixed name")
    g.add_argument("--batch", action="store_true", help="PATH holds one folder per student")
    g.add_argument("--jobs", type=int, default=1)
    g.add_argument("--shard", help="grade only shard i of n (1-based), e.g. 2/20")
    g.add_argument("--fail-under", type=float, metavar="PCT")
    g.add_argument("-q", "--quiet", action="store_true")
    common(g)
    g.set_defaults(func=cmd_grade)

    c = sub.add_parser("check", help="grade your working copy (./assignments by default)")
    c.add_argument("lectures", nargs="*", metavar="LECTURE")
    c.add_argument("--path", help="folder holding your lecture packages")
    c.add_argument("-q", "--quiet", action="store_true")
    common(c)
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("selftest", help="reference = full marks, stubs = 0, nothing crashes")
    s.add_argument("--lecture", action="append", metavar="ID")
    s.add_argument("-v", "--verbose", action="store_true")
    s.add_argument("--seed", type=int)
    s.add_argument("--isolation", choices=["bubblewrap", "uid-drop", "process"])
    s.set_defaults(func=cmd_selftest)

    b = sub.add_parser("build", help="regenerate assignments/ from reference/")
    b.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("reproduce", help="reproduce a lecture's headline result")
    r.add_argument("lecture")
    r.add_argument("--out-dir", default="zth-reproduce")
    r.add_argument("--device", default="cpu")
    r.add_argument("--preset", default=None)
    r.add_argument("--data-dir", default=None)
    r.set_defaults(func=cmd_reproduce)

    from .commands import add_all
    add_all(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as e:
        print(f"zth: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as e:
        print(f"zth: {e}", file=sys.stderr)
        return EXIT_BUG
    except KeyboardInterrupt:
        print("zth: interrupted", file=sys.stderr)
        return EXIT_BUG
    except Exception:
        print("zth: internal error (this is a grader bug, please report it):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_BUG
