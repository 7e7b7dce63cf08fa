"""The text a test cell shows: one line per check, the failure messages, the cell's points."""
from __future__ import annotations

from ..reports import LABELS
from ..results import CheckResult

WIDTH = 86  # `nbgrader validate` cuts longer lines


def _pts(x: float) -> str:
    return f"{x:g}"


def render(results: list[CheckResult], header: str, show_hidden: bool) -> str:
    """Verdict lines for one test cell. Hidden checks are summed, never named, unless
    `show_hidden` (the instructor's own notebook)."""
    lines = [header]
    hidden = [r for r in results if r.visibility == "hidden" and not show_hidden]
    width = max((len(r.id) for r in results if r not in hidden), default=0)
    for r in results:
        if r in hidden:
            continue
        line = (f"  {LABELS.get(r.status, r.status):<7} {r.id:<{width}}  "
                f"{_pts(r.points):>3}/{_pts(r.max_points):<3} {r.title}")
        lines.append(line if len(line) <= WIDTH else line[:WIDTH - 1] + "…")
        if not r.passed and r.message:
            lines += ["          " + line for line in r.message.splitlines()]
    if hidden:
        got = sum(r.points for r in hidden)
        lines.append(f"  hidden checks: {_pts(got)}/{_pts(sum(r.max_points for r in hidden))} "
                     f"points ({sum(r.passed for r in hidden)} of {len(hidden)} passed)")
    lines.append(f"{_pts(sum(r.points for r in results))}/"
                 f"{_pts(sum(r.max_points for r in results))} points")
    return "\n".join(lines) + "\n"
