"""`zth gradescope build OUT.zip` (the autograder zip) and `zth gradescope run` (its grader)."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def cmd_build(args) -> int:
    from ..ci.gradescope import gradescope_zip
    from ..config import load_course
    from ..util import UsageError, check_lectures
    check_lectures(load_course(args.course), args.lecture)
    if not args.out.endswith(".zip"):
        raise UsageError(f"{args.out}: the autograder must be a .zip file")
    names = gradescope_zip(Path(args.out), args.lecture or [])
    print(f"wrote {args.out} ({len(names)} files): upload it as the assignment's autograder "
          "(Gradescope: Configure Autograder → Zip file upload)", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    from ..ci.gradescope import AUTOGRADER, gradescope_run
    from ..config import load_course
    root = Path(args.root or os.environ.get("ZTH_AUTOGRADER_ROOT") or AUTOGRADER)
    return gradescope_run(load_course(args.course), root, args.lecture or [], args.seed,
                          args.isolation)


def add_commands(subparsers) -> None:
    g = subparsers.add_parser("gradescope", help="Gradescope autograder: build the zip, or run it")
    sub = g.add_subparsers(dest="gradescope_command", required=True)
    b = sub.add_parser("build", help="write the autograder zip (setup.sh, run_autograder, grader)")
    b.add_argument("out", metavar="OUT.zip")
    b.add_argument("--lecture", action="append", metavar="ID",
                   help="grade only these lectures (one Gradescope assignment per lecture)")
    b.set_defaults(func=cmd_build)
    r = sub.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json "
                                   "(what run_autograder calls)")
    r.add_argument("--root", help="default $ZTH_AUTOGRADER_ROOT, else /autograder")
    r.add_argument("--lecture", action="append", metavar="ID")
    r.add_argument("--seed", type=int)
    r.add_argument("--isolation", choices=["bubblewrap", "uid-drop", "process"])
    r.set_defaults(func=cmd_run)
