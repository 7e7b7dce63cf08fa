"""`zth reproduce LECTURE`: rerun a lecture's headline result with the reference code."""
from __future__ import annotations


def cmd_reproduce(args) -> int:
    from ..reproduce import reproduce
    return reproduce(args.lecture, args)


def add_commands(sub) -> None:
    r = sub.add_parser("reproduce", help="reproduce a lecture's headline result")
    r.add_argument("lecture")
    r.add_argument("--out-dir", default="zth-reproduce")
    r.add_argument("--device", default="cpu")
    r.add_argument("--preset", default=None)
    r.add_argument("--data-dir", default=None)
    r.set_defaults(func=cmd_reproduce)
