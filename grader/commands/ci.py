"""`zth ci github OUT`: a GitHub Actions workflow that grades a student repo on every push."""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_github(args) -> int:
    from ..ci.github import github_workflow
    from ..config import load_course
    from ..util import UsageError, check_lectures, write_atomic
    check_lectures(load_course(args.course), args.lecture)
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError("--fail-under takes a percentage between 0 and 100")
    out = Path(args.out)
    if out.suffix not in (".yml", ".yaml"):
        out = out / ".github" / "workflows" / "zth.yml"
    write_atomic(out, github_workflow(args.path, args.fail_under, args.grader_repo,
                                      args.lecture or [], args.python))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    c = subparsers.add_parser("ci", help="write CI configuration that grades with zth")
    sub = c.add_subparsers(dest="ci_command", required=True)
    g = sub.add_parser("github", help="GitHub Actions workflow for the student template repo",
                       description="Writes a workflow that installs the grader, runs `zth grade "
                       "--visible-only --format junit,markdown,json`, posts report.md to the "
                       "job summary and keeps the reports as an artifact.")
    g.add_argument("out", metavar="OUT",
                   help="a .yml file, or a repo folder (writes .github/workflows/zth.yml)")
    g.add_argument("--path", help="what to grade (default: assignments, or . with "
                                  "--grader-repo)")
    g.add_argument("--fail-under", type=float, metavar="PCT",
                   help="fail the job when the score is below PCT percent")
    g.add_argument("--grader-repo", metavar="OWNER/NAME[@REF]",
                   help="check the grader out from this repo: a `zth release` of the course, "
                        "never the instructor repo (the job refuses one; default: the student "
                        "repo is a release, with the grader inside)")
    g.add_argument("--lecture", action="append", metavar="ID")
    g.add_argument("--python", default="3.11")
    g.set_defaults(func=cmd_github)
