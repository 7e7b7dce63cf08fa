"""`zth build`: regenerate assignments/ (stubs and notebooks) from reference/."""
from __future__ import annotations

from ..util import EXIT_BUG, EXIT_OK, UsageError


def cmd_build(args) -> int:
    from ..build import BuildError, build, stale
    try:
        if args.check:
            diffs = stale()
            for d in diffs:
                print(f"stale: {d}")
            return EXIT_BUG if diffs else EXIT_OK
        for rel in build():
            print(f"wrote assignments/{rel}")
    except BuildError as e:
        raise UsageError(str(e)) from None
    return EXIT_OK


def add_commands(sub) -> None:
    b = sub.add_parser("build", help="regenerate assignments/ from reference/")
    b.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    b.set_defaults(func=cmd_build)
