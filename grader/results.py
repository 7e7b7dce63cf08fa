"""The one result model. Every report (table, JSON, JUnit, Gradescope, Markdown) is a view of it.

Timings are kept apart from results (`Run.timings`), so two runs with the same seed serialise
to the same bytes once timings are left out.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .text import clean

PASSED = "passed"
STATUSES = ("passed", "failed", "not_implemented", "missing", "error", "timeout", "crashed",
            "policy", "import_error", "bad_reply", "no_package", "refused", "not_graded")
# refused: the submission broke a bound of the snapshot or the policy scan (course.yaml limits)


@dataclass
class CheckResult:
    id: str
    title: str
    points: float
    max_points: float
    status: str
    message: str = ""
    visibility: str = "visible"
    bonus: bool = False
    # pictures that explain the verdict: [{"name": ..., "svg": "<svg ...>"}], deterministic
    # (no dates, fixed ids) so the same seed gives the same report
    figures: list[dict] = field(default_factory=list)

    def __post_init__(self):
        # the message may hold the student's text (an exception, a traceback, printed output):
        # control characters and escape sequences go, and its length is capped, here, where
        # every result is made (text.clean is idempotent, so a reloaded result stays the same)
        self.message = clean(self.message)

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass
class LectureResult:
    lecture: str
    title: str
    isolation: str
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def points(self) -> float:
        """Required points, plus bonus points only when every required check passed: a bonus
        never hides a failed required check (nor lifts a score past `--fail-under`)."""
        required = [c for c in self.checks if not c.bonus]
        bonus = sum(c.points for c in self.checks if c.bonus)
        return round(sum(c.points for c in required)
                     + (bonus if all(c.passed for c in required) else 0.0), 6)

    @property
    def max_points(self) -> float:
        return round(sum(c.max_points for c in self.checks if not c.bonus), 6)


@dataclass
class SubmissionResult:
    student: str
    path: str
    seed: int
    lectures: list[LectureResult] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(sum(lec.points for lec in self.lectures), 6)

    @property
    def max_points(self) -> float:
        return round(sum(lec.max_points for lec in self.lectures), 6)


@dataclass
class Run:
    seed: int
    versions: dict
    submissions: list[SubmissionResult] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # "student/lecture/check" -> seconds
    shard: str | None = None   # "i/n" when this run graded one shard of a batch (`zth merge`)

    def to_dict(self, timings: bool = True) -> dict:
        d = {"seed": self.seed, "versions": self.versions,
             "submissions": [_sub_dict(s) for s in self.submissions]}
        if self.shard:
            d["shard"] = self.shard
        if timings:
            d["timings"] = self.timings
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Run:
        subs = []
        for s in d["submissions"]:
            lecs = []
            for lec in s["lectures"]:
                fields = CheckResult.__dataclass_fields__
                checks = [CheckResult(**{k: c[k] for k in fields if k in c})
                          for c in lec["checks"]]
                lecs.append(LectureResult(lec["lecture"], lec["title"], lec["isolation"], checks,
                                          lec.get("notes", []), lec.get("output", "")))
            subs.append(SubmissionResult(s["student"], s["path"], s["seed"], lecs))
        return cls(d["seed"], d["versions"], subs, d.get("timings", {}), d.get("shard"))

    @property
    def points(self) -> float:
        return round(sum(s.points for s in self.submissions), 6)

    @property
    def max_points(self) -> float:
        return round(sum(s.max_points for s in self.submissions), 6)


def _sub_dict(s: SubmissionResult) -> dict:
    return {"student": s.student, "path": s.path, "seed": s.seed, "points": s.points,
            "max_points": s.max_points,
            "lectures": [{**{k: v for k, v in asdict(lec).items() if k != "checks"},
                          "points": lec.points, "max_points": lec.max_points,
                          "checks": [asdict(c) for c in lec.checks]} for lec in s.lectures]}
