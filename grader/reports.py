"""Views of a `Run`: terminal table (rich), JSON, JUnit XML, Gradescope results.json, Markdown."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .results import Run

FORMATS = {"table": None, "json": "report.json", "junit": "junit.xml",
           "gradescope": "results.json", "markdown": "report.md"}
LABELS = {"passed": "PASS", "failed": "FAIL", "not_implemented": "TODO", "missing": "MISSING",
          "error": "ERROR", "timeout": "TIMEOUT", "crashed": "CRASH", "policy": "POLICY",
          "import_error": "IMPORT", "bad_reply": "BAD REPLY", "no_package": "NO PACKAGE"}


def _pts(x: float) -> str:
    return f"{x:g}"


def stamp(run: Run) -> str:
    """The version stamp every report carries: enough to replay and to compare runs."""
    v = run.versions
    return (f"seed {run.seed} · grader {v.get('grader')} · course.yaml {v.get('course_sha256')} "
            f"· torch {v.get('torch')}")


def to_json(run: Run, timings: bool = True) -> str:
    return json.dumps(run.to_dict(timings), indent=2, sort_keys=True) + "\n"


def to_table(run: Run, console=None, verbose: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    for sub in run.submissions:
        for lec in sub.lectures:
            secs = run.timings.get(f"{sub.student}/{lec.lecture}")
            t = Table(title=f"{sub.student} · {lec.lecture}: {lec.title}",
                      caption=f"{_pts(lec.points)}/{_pts(lec.max_points)} points · isolation: "
                              f"{lec.isolation}" + (f" · {secs:.1f} s" if secs else ""),
                      show_lines=False, expand=False)
            t.add_column("check")
            t.add_column("result")
            t.add_column("points", justify="right")
            t.add_column("details", overflow="fold", max_width=90)
            for c in lec.checks:
                style = "green" if c.passed else ("yellow" if c.status == "not_implemented"
                                                  else "red")
                detail = c.message if (verbose or not c.passed) else ""
                t.add_row(c.id + (" (bonus)" if c.bonus else ""),
                          f"[{style}]{LABELS.get(c.status, c.status)}[/]",
                          f"{_pts(c.points)}/{_pts(c.max_points)}", detail)
            console.print(t)
            for n in lec.notes:
                console.print(f"[dim]note: {n}[/]")
    console.print(f"[bold]total {_pts(run.points)}/{_pts(run.max_points)}[/] · seed {run.seed} "
                  f"(replay with --seed {run.seed})")
    console.print(f"[dim]{stamp(run)}[/]", highlight=False)


def to_junit(run: Run) -> str:
    suites = ET.Element("testsuites", name="zth", tests=str(_count(run)))
    for sub in run.submissions:
        for lec in sub.lectures:
            failures = sum(c.status == "failed" for c in lec.checks)
            errors = sum(not c.passed and c.status != "failed" for c in lec.checks)
            suite = ET.SubElement(suites, "testsuite", name=f"{sub.student}.{lec.lecture}",
                                  tests=str(len(lec.checks)), failures=str(failures),
                                  errors=str(errors))
            props = ET.SubElement(suite, "properties")
            for key, value in [("seed", sub.seed), *sorted(run.versions.items())]:
                ET.SubElement(props, "property", name=key, value=str(value))
            for c in lec.checks:
                secs = run.timings.get(f"{sub.student}/{lec.lecture}/{c.id}", 0)
                case = ET.SubElement(suite, "testcase", classname=f"{sub.student}.{lec.lecture}",
                                     name=c.id, time=f"{secs:.3f}")
                if not c.passed:
                    tag = "failure" if c.status == "failed" else "error"
                    el = ET.SubElement(case, tag, type=c.status,
                                       message=(c.message.splitlines() or [c.status])[0])
                    el.text = c.message
                ET.SubElement(case, "system-out").text = (
                    f"{_pts(c.points)}/{_pts(c.max_points)} points")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _count(run: Run) -> int:
    return sum(len(lec.checks) for s in run.submissions for lec in s.lectures)


def to_gradescope(run: Run) -> str:
    """Gradescope's results.json for one submission (the first, if several were graded)."""
    tests = []
    sub = run.submissions[0] if run.submissions else None
    for lec in sub.lectures if sub else []:
        for c in lec.checks:
            tests.append({"name": f"{c.id}: {c.title}", "score": c.points,
                          "max_score": c.max_points,
                          "status": "passed" if c.passed else "failed",
                          "output": c.message or LABELS.get(c.status, c.status),
                          "visibility": ("visible" if c.visibility == "visible"
                                         else "after_published")})
    out = {"score": sub.points if sub else 0.0, "max_score": sub.max_points if sub else 0.0,
           "tests": tests, "output": f"{stamp(run)} · isolation "
           f"{sub.lectures[0].isolation if sub and sub.lectures else 'n/a'}",
           "visibility": "visible", "stdout_visibility": "hidden"}
    return json.dumps(out, indent=2) + "\n"


def to_markdown(run: Run) -> str:
    lines = []
    for sub in run.submissions:
        lines.append(f"## {sub.student}: {_pts(sub.points)}/{_pts(sub.max_points)} points\n")
        for lec in sub.lectures:
            lines.append(f"### {lec.lecture}: {_pts(lec.points)}/{_pts(lec.max_points)} "
                         f"(isolation: {lec.isolation})\n")
            lines.append("| check | result | points | details |")
            lines.append("|---|---|---:|---|")
            for c in lec.checks:
                msg = c.message.replace("|", "\\|").replace("\n", "<br>")
                icon = "✅" if c.passed else "❌"
                lines.append(f"| `{c.id}` | {icon} {LABELS.get(c.status, c.status)} | "
                             f"{_pts(c.points)}/{_pts(c.max_points)} | {msg} |")
            lines.append("")
    lines.append("S" + stamp(run)[1:])
    return "\n".join(lines) + "\n"


RENDER = {"json": to_json, "junit": to_junit, "gradescope": to_gradescope,
          "markdown": to_markdown}
