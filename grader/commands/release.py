"""`zth release OUT`: the student build (stubs, notebooks, the visible checks)."""
from __future__ import annotations

import sys


def cmd_release(args) -> int:
    from ..config import load_course
    from ..release import ReleaseError, build_release
    from ..util import check_lectures
    check_lectures(load_course(args.course), args.lecture)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)
    try:
        out = build_release(args.out, ci=not args.no_ci, force=args.force,
                            lectures=args.lecture, log=log)
    except ReleaseError as e:
        print(f"zth: release failed: {e}", file=sys.stderr)
        return 1
    log(f"wrote the student release to {out}: no reference code, no hidden checks "
        f"(try: cd {out} && zth check)")
    return 0


def add_commands(subparsers) -> None:
    r = subparsers.add_parser(
        "release", help="build the student release: stubs, notebooks, visible checks",
        description="Writes OUT with assignments/, the grader without hidden checks or "
                    "reference code (every visible check grades at any seed), course.yaml "
                    "without hidden checks, a README for students and a GitHub workflow. Fails "
                    "if anything instructor-only would ship.")
    r.add_argument("out", metavar="OUT")
    r.add_argument("--lecture", action="append", metavar="ID",
                   help="release only these lectures (default: all)")
    r.add_argument("--no-ci", action="store_true", help="leave out .github/workflows/zth.yml")
    r.add_argument("--force", action="store_true", help="replace OUT if it exists")
    r.add_argument("-q", "--quiet", action="store_true")
    r.set_defaults(func=cmd_release)
