"""`zth merge`: one gradebook from the JSON reports of a sharded batch.

Each shard (`zth grade SUBMISSIONS/ --batch --shard i/n --seed S --format json --out
part-i.json`) is a complete report of its students. Merging checks that the parts belong to the
same run (same seed, grader and course.yaml; every shard present once; no student twice), then
sorts the students as an unsharded run does, so the merged JSON equals the unsharded report byte
for byte once timings are left out. Views of the merged run:

- `csv`: the gradebook, one row per student: nbgrader's student columns (student_id, last_name,
  first_name, email), one column per lecture, then score, max_score and percent.
- `nbgrader`: exactly the columns of `nbgrader export` (one row per lecture and student), for
  tools that already read nbgrader's CSV.
- `markdown`: the gradebook as a table; `json` and `junit`: the full report.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .results import Run

FORMATS = {"csv": "grades.csv", "nbgrader": "nbgrader.csv", "json": "report.json",
           "markdown": "grades.md", "junit": "junit.xml"}
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                    "first_name", "email", "raw_score", "late_submission_penalty", "score",
                    "max_score"]
MUST_MATCH = ("grader", "course_sha256")   # versions that make parts incomparable


class MergeError(Exception):
    """The parts cannot be merged; the message names the files and what to do."""


def load_part(path: Path) -> Run:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise MergeError(f"{path}: cannot read it ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise MergeError(f"{path}: not a JSON report ({e}); was its shard interrupted? "
                         "Rerun that shard alone") from None
    if not isinstance(data, dict) or not {"seed", "versions", "submissions"} <= set(data):
        raise MergeError(f"{path}: not a `zth grade --format json` report (it needs seed, "
                         "versions and submissions)")
    try:
        return Run.from_dict(data)
    except (KeyError, TypeError) as e:
        raise MergeError(f"{path}: malformed report ({e!r})") from None


def _shard(spec: str, path: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in spec.split("/"))
        assert 1 <= i <= n
    except (ValueError, AssertionError):
        raise MergeError(f"{path}: bad shard {spec!r} (expected i/n)") from None
    return i, n


def merge(parts: list[tuple[str, Run]], partial: bool = False) -> tuple[Run, list[str]]:
    """Merge (file name, run) parts into one run; returns it and warnings for the user."""
    if not parts:
        raise MergeError("no parts to merge")
    warnings = []
    first_name, first = parts[0]
    for name, run in parts[1:]:
        if run.seed != first.seed:
            raise MergeError(
                f"{first_name} and {name} were graded with different seeds ({first.seed} and "
                f"{run.seed}); every shard of a batch needs the same --seed. Rerun {name}'s "
                f"shard with --seed {first.seed}")
        for key in sorted(set(first.versions) | set(run.versions)):
            a, b = first.versions.get(key), run.versions.get(key)
            if a == b:
                continue
            what = "course.yaml" if key == "course_sha256" else key
            if key in MUST_MATCH:
                raise MergeError(f"{first_name} and {name} were graded with different {what} "
                                 f"({a} and {b}); regrade every shard with the same one")
            warnings.append(f"{first_name} and {name} differ in {what} ({a} and {b})")
    sharded = [(name, _shard(run.shard, name)) for name, run in parts if run.shard]
    if sharded and len(sharded) != len(parts):
        plain = [name for name, run in parts if not run.shard]
        raise MergeError(f"{', '.join(plain)} graded a whole batch, not a shard; merge either "
                         "the shards of one run or whole runs")
    if sharded:
        counts = {n for _, (_, n) in sharded}
        if len(counts) > 1:
            raise MergeError("the parts come from different shard counts: " + ", ".join(
                f"{name} is {i}/{n}" for name, (i, n) in sharded))
        n = counts.pop()
        seen: dict[int, str] = {}
        for name, (i, _) in sharded:
            if i in seen:
                raise MergeError(f"{seen[i]} and {name} are both shard {i}/{n}")
            seen[i] = name
        missing = [i for i in range(1, n + 1) if i not in seen]
        if missing:
            rerun = ", ".join(f"{i}/{n}" for i in missing)
            msg = (f"shard(s) {rerun} missing: rerun each alone with `zth grade ... --batch "
                   f"--shard i/{n} --seed {first.seed}`")
            if not partial:
                raise MergeError(msg + " (or merge what there is with --partial)")
            warnings.append(msg)
    owner: dict[str, str] = {}
    subs = []
    for name, run in parts:
        for sub in run.submissions:
            if sub.student in owner:
                raise MergeError(f"student {sub.student!r} is in both {owner[sub.student]} and "
                                 f"{name}; merge each shard once")
            owner[sub.student] = name
            subs.append(sub)
    merged = Run(first.seed, dict(first.versions), sorted(subs, key=lambda s: s.student))
    for _, run in parts:
        for key, secs in run.timings.items():
            if key == "total":
                merged.timings["total"] = round(merged.timings.get("total", 0) + secs, 4)
            else:
                merged.timings[key] = secs
    return merged, warnings


# -- the gradebook ----------------------------------------------------------------------------
def read_roster(path: Path) -> dict[str, dict]:
    """student id -> {last_name, first_name, email} from a CSV with an id/student_id column."""
    try:
        rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    except OSError as e:
        raise MergeError(f"{path}: cannot read the roster ({e.strerror})") from None
    key = next((k for k in ("student_id", "id") if rows and k in rows[0]), None)
    if key is None:
        raise MergeError(f"{path}: a roster needs a student_id (or id) column, plus optional "
                         "first_name, last_name, email")
    return {r[key]: {f: r.get(f) or "" for f in ("last_name", "first_name", "email")}
            for r in rows}


def lecture_columns(run: Run, order: list[str] = ()) -> list[tuple[str, float]]:
    """(lecture, max points) in course order, for every lecture any student was graded on."""
    best: dict[str, float] = {}
    for sub in run.submissions:
        for lec in sub.lectures:
            best[lec.lecture] = max(best.get(lec.lecture, 0.0), lec.max_points)
    known = [lid for lid in order if lid in best]
    return [(lid, best[lid]) for lid in known + [lid for lid in best if lid not in known]]


def _rows(run: Run, roster: dict | None, order: list[str]):
    columns = lecture_columns(run, order)
    graded = {s.student: s for s in run.submissions}
    students = sorted(set(graded) | set(roster or {}))
    total_max = round(sum(m for _, m in columns), 6)
    for sid in students:
        sub = graded.get(sid)
        points = {lec.lecture: lec.points for lec in sub.lectures} if sub else {}
        info = (roster or {}).get(sid, {})
        yield sid, info, [(lid, points.get(lid, 0.0), m) for lid, m in columns], total_max


def to_csv(run: Run, roster: dict | None = None, order: list[str] = ()) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    columns = lecture_columns(run, order)
    w.writerow(["student_id", "last_name", "first_name", "email",
                *(lid for lid, _ in columns), "score", "max_score", "percent"])
    for sid, info, cells, total_max in _rows(run, roster, order):
        score = round(sum(p for _, p, _ in cells), 6)
        w.writerow([sid, info.get("last_name", ""), info.get("first_name", ""),
                    info.get("email", ""), *(float(p) for _, p, _ in cells), float(score),
                    float(total_max), f"{100 * score / total_max:.1f}" if total_max else ""])
    return buf.getvalue()


def to_nbgrader_csv(run: Run, roster: dict | None = None, order: list[str] = ()) -> str:
    """nbgrader's export: one row per (lecture, student), its columns and number style."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(NBGRADER_COLUMNS)
    rows = list(_rows(run, roster, order))
    for lid, lec_max in lecture_columns(run, order):
        for sid, info, cells, _ in rows:
            score = next(p for name, p, _ in cells if name == lid)
            w.writerow([lid, "", "", sid, info.get("last_name", ""), info.get("first_name", ""),
                        info.get("email", ""), float(score), 0.0, float(score), float(lec_max)])
    return buf.getvalue()


def to_markdown(run: Run, roster: dict | None = None, order: list[str] = ()) -> str:
    from .reports import stamp
    columns = lecture_columns(run, order)
    rows = list(_rows(run, roster, order))
    total_max = round(sum(m for _, m in columns), 6)
    lines = [f"## Gradebook: {len(rows)} students\n",
             "| student | " + " | ".join(f"{lid} (/{m:g})" for lid, m in columns)
             + f" | total (/{total_max:g}) | % |",
             "|---|" + "---:|" * (len(columns) + 2)]
    scores = []
    for sid, info, cells, _ in rows:
        score = round(sum(p for _, p, _ in cells), 6)
        scores.append(score)
        name = " ".join(x for x in (info.get("first_name"), info.get("last_name")) if x)
        who = f"{sid} ({name})" if name else sid
        pct = f"{100 * score / total_max:.1f}" if total_max else ""
        lines.append(f"| {who.replace('|', '/')} | " + " | ".join(f"{p:g}" for _, p, _ in cells)
                     + f" | {score:g} | {pct} |")
    if scores and total_max:
        mean = sum(scores) / len(scores)
        lines.append(f"\nMean {mean:.2f}/{total_max:g} ({100 * mean / total_max:.1f}%) · "
                     f"{sum(s == total_max for s in scores)} with full marks")
    lines.append(f"\n{stamp(run)}")
    return "\n".join(lines) + "\n"


def render(fmt: str, run: Run, roster: dict | None = None, order: list[str] = ()) -> str:
    from .reports import to_json, to_junit
    if fmt == "csv":
        return to_csv(run, roster, order)
    if fmt == "nbgrader":
        return to_nbgrader_csv(run, roster, order)
    if fmt == "markdown":
        return to_markdown(run, roster, order)
    if fmt == "json":
        return to_json(run)
    if fmt == "junit":
        return to_junit(run)
    raise MergeError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
