"""`zth selftest`: the reference scores full marks, the stubs score 0 as "not implemented",
nothing crashes and assignments/ is in sync with reference/."""
from __future__ import annotations

from ..util import EXIT_BUG, EXIT_OK, check_lectures


def cmd_selftest(args) -> int:
    from ..build import stale
    from ..config import ROOT, load_course
    from ..reports import to_table
    from ..runner import grade
    from .grade import stderr_console
    course = load_course(args.course)
    lectures = check_lectures(course, args.lecture) or [
        lid for lid in course.lectures
        if (ROOT / "reference" / course.lectures[lid].package).is_dir()]
    err = stderr_console()
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
    if diffs := stale():
        problems.append("assignments/ is out of date (run `zth build`): " + ", ".join(diffs))
    for p in problems:
        err.print(f"[red]✗ {p}[/]", highlight=False)
    if not problems:
        err.print("[green]selftest passed: reference scores full marks, stubs score 0[/]")
    return EXIT_BUG if problems else EXIT_OK


def add_commands(sub) -> None:
    s = sub.add_parser("selftest", help="reference = full marks, stubs = 0, nothing crashes")
    s.add_argument("--lecture", action="append", metavar="ID")
    s.add_argument("-v", "--verbose", action="store_true")
    s.add_argument("--seed", type=int)
    s.add_argument("--isolation", choices=["bubblewrap", "uid-drop", "process"])
    s.set_defaults(func=cmd_selftest)
