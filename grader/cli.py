"""The `zth` command line (also `python -m grader`): the parser and the exit-code policy.

Every subcommand lives in `grader/commands/<name>.py` (`add_commands(subparsers)` plus its
`cmd_*` functions); the helpers they share with the library are in `grader/util.py`. Nothing
below the CLI imports this module.

Exit codes: 0 graded (whatever the score), 1 the grader itself failed, 2 usage error,
3 score below --fail-under.
"""
from __future__ import annotations

import argparse
import sys
import traceback

from .config import ROOT, ConfigError
from .util import EXIT_BUG, EXIT_LOW, EXIT_OK, EXIT_USAGE, UsageError, write_atomic

__all__ = ["EXIT_BUG", "EXIT_LOW", "EXIT_OK", "EXIT_USAGE", "UsageError", "main", "parser",
           "write_atomic"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zth", description="Autograder for Neural Networks: "
                                "Zero to Hero.")
    p.add_argument("--course", default=str(ROOT / "course.yaml"), help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)
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
