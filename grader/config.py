"""course.yaml: the single source of truth for lectures, checks, points, tolerances and limits.

Loaded with pydantic (unknown keys are errors, so a typo never silently falls back to a default)
and every error names the key and the line of course.yaml it came from.
"""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COURSE = ROOT / "course.yaml"


class ConfigError(Exception):
    """course.yaml is missing or invalid; the message says where and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


class Limits(Strict):
    timeout: float = Field(gt=0, description="wall-clock seconds per check")
    memory_mb: int = Field(gt=0, description="address-space limit of the worker")
    output_kb: int = Field(gt=0, description="stdout/stderr kept per worker (head and tail)")
    reply_mb: int = Field(gt=0, description="largest reply accepted from the worker")
    # a reply's JSON part is checked against these before any Python object is built
    reply_json_kb: int = Field(8192, gt=0, description="largest JSON part of one reply")
    reply_values: int = Field(1_000_000, gt=0, description="JSON values in one reply")
    reply_containers: int = Field(100_000, gt=0, description="JSON lists + objects in one reply")
    reply_depth: int = Field(64, gt=0, le=500, description="deepest JSON nesting in one reply")
    # the submission snapshot (grader/snapshot.py): one private copy, regular files only
    submission_depth: int = Field(32, gt=0, le=200, description="deepest folder nesting")
    submission_files: int = Field(5000, gt=0, description="files and folders in a submission")
    submission_file_mb: int = Field(32, gt=0, description="largest single file")
    submission_mb: int = Field(128, gt=0, description="all files of a submission together")
    scan_kb: int = Field(256, gt=0, description="Python source per package the policy scan "
                         "parses (~0.6 GB and 10 s per MB)")


class Policy(Strict):
    forbid_imports: list[str] = []
    message: str = ""
    # refuse source that could switch off or hide from the worker's guard (grader/escapes.py)
    refuse_escapes: bool = False


class Check(Strict):
    id: str
    title: str
    points: float = Field(ge=0)
    visibility: Literal["visible", "hidden"] = "visible"
    tolerance: Tolerance | None = None
    timeout: float | None = Field(default=None, gt=0)
    hint: str = ""
    params: dict = {}
    bonus: bool = False
    # checks of the same lecture whose subject this check needs (e.g. gpt.generate runs the
    # student's forward, gpt.model's subject): when one fails, this one is "not graded"
    depends_on: list[str] = []


class Lecture(Strict):
    title: str
    package: str
    policy: Policy = Policy()
    tolerance: Tolerance | None = None
    preload: list[str] = []
    checks: list[Check]
    params: dict = {}
    # extra environment and read-only paths for this lecture's worker; "${VAR}" in a value is the
    # grader's own $VAR at grading time (e.g. minbpe: TIKTOKEN_CACHE_DIR, seeded by its checks)
    worker_env: dict[str, str] = {}
    worker_binds: list[str] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Lecture:
        seen = set()
        for c in self.checks:
            if c.id in seen:
                raise ValueError(f"duplicate check id {c.id!r}")
            seen.add(c.id)
        for c in self.checks:
            unknown = [d for d in c.depends_on if d not in seen or d == c.id]
            if unknown:
                raise ValueError(f"{c.id}: depends_on names {unknown}, not another check of this "
                                 "lecture")
        return self


class Course(Strict):
    course: str
    version: int
    tolerance: Tolerance
    limits: Limits
    lectures: dict[str, Lecture]
    sha256: str = ""

    def lecture(self, lid: str) -> Lecture:
        if lid not in self.lectures:
            raise ConfigError(f"unknown lecture {lid!r}; "
                              f"course.yaml has: {', '.join(self.lectures)}")
        return self.lectures[lid]

    def tolerance_for(self, lid: str, check: Check) -> Tolerance:
        return check.tolerance or self.lectures[lid].tolerance or self.tolerance

    def timeout_for(self, check: Check) -> float:
        return check.timeout or self.limits.timeout


def _line_map(text: str) -> dict[tuple, int]:
    """Map each key path in the YAML document to its 1-based line number."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, path + (k.value,))
                lines[path + (k.value,)] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def _where(loc: tuple, lines: dict[tuple, int]) -> int:
    for n in range(len(loc), -1, -1):
        if tuple(loc[:n]) in lines:
            return lines[tuple(loc[:n])]
    return 1


def parse_course(text: str, source: str = "course.yaml") -> Course:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        course = Course.model_validate(raw)
    except ValidationError as e:
        lines = _line_map(text)
        msgs = []
        for err in e.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc) or "(top level)"
            what = "unknown key (typo?)" if err["type"] == "extra_forbidden" else err["msg"]
            msgs.append(f"{source}:{_where(loc, lines)}: {key}: {what}")
        raise ConfigError("invalid course.yaml\n  " + "\n  ".join(msgs)) from None
    course.sha256 = hashlib.sha256(text.encode()).hexdigest()
    return course


@cache
def load_course(path: str | Path = DEFAULT_COURSE) -> Course:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    return parse_course(text, str(path))
