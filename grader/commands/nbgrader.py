"""`zth nbgrader init DIR`: a ready nbgrader course whose scores come from the sandboxed grader."""
from __future__ import annotations

from pathlib import Path


def cmd_init(args) -> int:
    from ..config import load_course
    from ..util import UsageError, check_lectures
    try:
        from ..nb.course import InitError, init_course
    except ImportError as e:
        raise UsageError(f"nbgrader is not installed ({e.name} missing): "
                         "pip install -e '.[nbgrader]'") from None
    course = load_course(args.course)
    check_lectures(course, args.lecture)
    dest = Path(args.dir)
    try:
        written = init_course(dest, course, Path(args.course), args.lecture, args.force)
    except InitError as e:
        raise UsageError(str(e)) from None
    for rel in written:
        print(f"wrote {dest / rel}")
    lectures = sorted({p.parts[1] for p in written if p.parts[0] == "source"})
    print(f"\nnext: cd {dest} && nbgrader generate_assignment {lectures[0]}   "
          f"(assignments: {', '.join(lectures)})")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("nbgrader", help="nbgrader course: one notebook per lecture")
    sub = p.add_subparsers(dest="nbgrader_command", required=True)
    i = sub.add_parser(
        "init", help="write a ready nbgrader course (config, source notebooks, stub modules)",
        description="Write DIR/nbgrader_config.py and DIR/source/<lecture>/ (the lecture's "
                    "notebook and the stub modules). Autograding then scores every test cell "
                    "with the sandboxed grader, not with the student's kernel.")
    i.add_argument("dir", metavar="DIR")
    i.add_argument("--lecture", action="append", metavar="ID",
                   help="only this lecture (repeatable; default: every lecture with a notebook)")
    i.add_argument("--force", action="store_true",
                   help="rewrite nbgrader_config.py and source/<lecture>/ if they exist")
    i.set_defaults(func=cmd_init)
