"""Plan and run: submissions × lectures × checks, each check against one sandboxed worker.

The parent never imports student code. Seeds: the run seed → each submission's seed (derived
from the student id in a batch) → each check's seed (derived from the check id), so sharding or
reordering never changes a result.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import os
import platform
import re
import secrets
import string
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__
from .check import CheckFailed, Context, ProbeFailed, registry
from .config import ConfigError, Course, Lecture
from .escapes import scan as escape_scan
from .finder import locate
from .results import CheckResult, LectureResult, Run, SubmissionResult
from .sandbox import Worker, WorkerSpec, choose_isolation, instructor_paths, protected
from .sandbox.client import worker_env
from .sandbox.server import POOL
from .snapshot import Refused, snapshot
from .sources import Unscannable, parsed
from .worker import wire

NOT_IMPL = "not implemented yet: fill in the '# YOUR CODE HERE' part"
WORKER_ENV: dict[str, str] = {}   # extra env for every worker (e.g. TIKTOKEN_CACHE_DIR)
WORKER_BINDS: list[str] = []      # extra read-only paths inside the sandbox
WORKER_CLASS = Worker             # benchmarks/sandbox_overhead.py swaps in an in-process one


def new_seed() -> int:
    return secrets.randbelow(2**31)


def derive_seed(*parts) -> int:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def versions(course: Course) -> dict:
    import numpy
    import torch
    return {"grader": __version__, "course_sha256": course.sha256[:16], "torch": torch.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def lectures_in(path: Path, course: Course) -> list[str]:
    """Lecture ids whose package folder exists in this submission, in course order."""
    return [lid for lid, lec in course.lectures.items() if (path / lec.package).is_dir()]


def policy_scan(pkg_dir: Path, lec: Lecture, max_bytes: int = 256 << 10) -> list[str]:
    """Source scan for forbidden imports (the audit hook in the worker catches the rest).

    Reads at most `max_bytes` of Python source in all (course.yaml `scan_kb`: parsing costs
    ~0.6 GB and 10 s per MB); raises `Unscannable` for source past that, or source it cannot
    parse for its nesting (which Python may still import), so nothing goes unscanned."""
    bad = set(lec.policy.forbid_imports)
    found = []
    if not bad:
        return found
    for rel, tree in parsed(pkg_dir, max_bytes, "the policy scan (forbidden imports)"):
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "__import__" and node.args
                  and isinstance(node.args[0], ast.Constant)):
                names = [str(node.args[0].value)]
            for n in names:
                if n.split(".")[0] in bad:
                    found.append(f"{rel}:{node.lineno} imports "
                                 f"{n.split('.')[0]}")
    return found


def room_needs(lid: str) -> tuple[dict[str, str], list[str]]:
    """What a room says its worker needs (`grader/lectures/<id>/needs.py`: `worker_needs()`
    -> (env, binds)), asked when the worker starts; ({}, []) for a room that needs nothing."""
    name = f"grader.lectures.{lid}.needs"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return {}, []
    env, binds = mod.worker_needs()
    return dict(env), [str(b) for b in binds]


def worker_extras(lid: str, lec: Lecture, room_env: dict | None = None,
                  room_binds: list | None = None) -> tuple[dict[str, str], list[str]]:
    """The worker's extra env and read-only binds: the global ones, the lecture's own from
    course.yaml, and what its room needs (`room_needs`)."""
    def expand(value: str, key: str) -> str:
        try:
            return string.Template(value).substitute(os.environ)
        except (KeyError, ValueError) as e:
            raise ConfigError(f"course.yaml: lectures.{lid}.{key}: {value!r} names an unset "
                              f"or invalid variable ({e})") from None
    env = {**WORKER_ENV, **{k: expand(v, "worker_env") for k, v in lec.worker_env.items()},
           **(room_env or {})}
    binds = [*WORKER_BINDS, *(expand(b, "worker_binds") for b in lec.worker_binds),
             *(room_binds or [])]
    for b in binds:
        if not Path(b).is_absolute() or not Path(b).exists():
            raise ConfigError(f"course.yaml: lectures.{lid}.worker_binds: {b!r} is not an "
                              "existing absolute path")
    return env, binds


def _refusal(lec: Lecture, pkg_dir: Path, limits=None) -> tuple[str, str] | None:
    """(status, message) when this package is not graded at all, else None."""
    if not pkg_dir.is_dir() or pkg_dir.is_symlink():
        # a symlink may point anywhere the grader can read (e.g. reference/): never grade one
        msg = (f"{lec.package}/ is a symbolic link, not a folder: hand in the files themselves"
               if pkg_dir.is_symlink() else f"no {lec.package}/ package found in the submission")
        return "no_package", msg
    try:
        violations = policy_scan(pkg_dir, lec, *([limits.scan_kb << 10] if limits else []))
    except Unscannable as e:
        return "refused", f"refused: {e}"
    if violations:
        return "policy", f"policy violation: {lec.policy.message}\n  " + "\n  ".join(violations)
    if lec.policy.refuse_escapes:
        try:
            escapes = escape_scan(pkg_dir, lec.package,
                                  *([limits.scan_kb << 10] if limits else []))
        except Unscannable as e:
            return "refused", f"refused: {e}"
        if escapes:
            return "policy", (f"policy violation: {lec.policy.message}; so this package may "
                               "not use what could switch off or hide from the grader's guard "
                               "(grader/escapes.py):\n  " + "\n  ".join(escapes[:20]))
    return None


def worker_spec(course: Course, lid: str, pkg_dir: Path) -> WorkerSpec:
    """What a worker for lecture `lid` of the package at `pkg_dir` is given: limits, policy,
    preloads, the room's environment and read-only binds."""
    lec = course.lecture(lid)
    env, binds = worker_extras(lid, lec, *room_needs(lid))
    return WorkerSpec(lecture=lid, package=lec.package, package_dir=pkg_dir,
                      memory_mb=course.limits.memory_mb, output_kb=course.limits.output_kb,
                      reply_mb=course.limits.reply_mb, forbid=lec.policy.forbid_imports,
                      policy_message=lec.policy.message, preload=lec.preload,
                      env=env, binds=binds, bounds=wire.Bounds.from_limits(course.limits))


def start_worker(course: Course, lid: str, path: Path, layer: str):
    """Spawn the worker for one lecture of one submission now, or None if it won't be graded.

    The worker imports torch and its probes while the parent carries on, so the parent starts
    the next lecture's worker before grading the current one: start-up hides behind checks.
    """
    lec = course.lecture(lid)
    pkg_dir = path / lec.package
    if _refusal(lec, pkg_dir, course.limits):
        return None
    spec = worker_spec(course, lid, pkg_dir)
    server = None
    if issubclass(WORKER_CLASS, Worker):
        # the server's own environment (each child gets its own from the client)
        server = POOL.get(layer, lid, spec.preload, worker_env("/tmp", spec.env), spec.binds)
    worker = WORKER_CLASS(spec, layer, server) if server else WORKER_CLASS(spec, layer)
    try:
        worker.start()
    except BaseException:
        worker.close()       # its temp folder goes too (the submission gets an error status)
        raise
    return worker


def grade_lecture(course: Course, lid: str, path: Path, seed: int, layer: str,
                  layer_note: str = "", timings: dict | None = None, student: str = "",
                  on_check: Callable[[CheckResult], None] | None = None,
                  only: set[str] | None = None, worker=None,
                  stop_at_failure: bool = False) -> LectureResult:
    """Grade one lecture; `worker` is one already started by `start_worker`, if any.

    `stop_at_failure` (mutation testing, `zth mutate`): once a check has not passed, the rest
    are recorded as not graded instead of run; a submission that passes runs every check."""
    lec = course.lecture(lid)
    if only:
        lec = lec.model_copy(update={"checks": [c for c in lec.checks if c.id in only]})
    result = LectureResult(lid, lec.title, layer)
    if layer_note:
        result.notes.append(layer_note)
    checks = registry(lid)
    outcome: dict[str, CheckResult] = {}

    def add(cfg, status, message="", points=0.0, figures=()):
        r = CheckResult(cfg.id, cfg.title, points, cfg.points, status, message, cfg.visibility,
                        cfg.bonus, list(figures))
        result.checks.append(r)
        outcome[cfg.id] = r
        if on_check:
            on_check(r)

    # a worker started by `start_worker` means the package passed `_refusal` already
    refused = None if worker is not None else _refusal(lec, path / lec.package, course.limits)
    if refused:
        if worker is not None:
            worker.close()
        for cfg in lec.checks:
            add(cfg, *refused)
        return result
    worker = worker or start_worker(course, lid, path, layer)
    import_failure = None
    seen_imports: dict[str, str] = {}   # a module's import error -> what later checks say
    try:
        for cfg in roots_first(lec.checks):
            t0 = time.perf_counter()
            first = next((r.id for r in result.checks if not r.passed), None)
            if stop_at_failure and first is not None:
                add(cfg, "not_graded", f"not graded: stopped at the first failing check ({first})")
                continue
            fn = checks.get(cfg.id)
            if fn is None:
                add(cfg, "error", f"grader bug: no check function registered for {cfg.id}")
                continue
            if import_failure is not None:
                add(cfg, *import_failure)
                continue
            blocked = _blocked_by(cfg, outcome)
            if blocked:
                add(cfg, "not_graded", blocked)
                continue
            ctx = Context(lid, cfg, course.tolerance_for(lid, cfg), derive_seed(seed, cfg.id),
                          course.timeout_for(cfg), worker, {**lec.params, **cfg.params})
            try:
                note = fn(ctx)
                msg = "; ".join([*ctx.notes, note] if note else ctx.notes)
                add(cfg, "passed", msg, cfg.points, ctx.figures)
            except CheckFailed as e:
                hint = cfg.hint if e.hint is None else e.hint
                add(cfg, "failed", _with_hint(str(e), hint), figures=ctx.figures)
            except ProbeFailed as e:
                status = e.status
                msg = NOT_IMPL if status == "not_implemented" else str(e)
                if getattr(worker, "broken", None) is not None:
                    # the package itself failed to import: said once, here; the rest point here
                    import_failure = (status, _not_graded(cfg.id, msg))
                elif status == "import_error":   # one module failed: said once per error
                    if msg in seen_imports:
                        msg = seen_imports[msg]
                    else:
                        seen_imports[msg] = _not_graded(cfg.id, msg)
                add(cfg, status, msg)
            except Exception as e:  # a bug in a check must cost one check, never the run
                add(cfg, "error", f"grader bug in check {cfg.id} (not your fault; please report "
                    f"it): {type(e).__name__}: {e}")
            if timings is not None:
                timings[f"{student}/{lid}/{cfg.id}"] = round(time.perf_counter() - t0, 4)
        _withhold_bonus(result)
        if worker.spawns > 1:
            result.notes.append(f"the worker was restarted {worker.spawns - 1} time(s)")
    finally:
        worker.close()
    # read after close(), which joins the output readers: a line printed just before the last
    # reply may still be in the pipe when the reply arrives
    result.output = worker.out.text()[-2000:] if worker.spawns else ""
    return result


def _not_graded(first: str, msg: str) -> str:
    """What a check says when the import error it hit was reported in full by check `first`."""
    line = msg.split("\n", 1)[0]
    head, sep, rest = line.partition(" failed to import: ")
    kind = re.match(r"\w+(Error|Exception|Exit|Interrupt)\b", rest) if sep else None
    if kind and len(line) > 64:
        line = f"{head} failed to import ({kind.group(0)})"
    elif len(line) > 160:
        line = line[:159] + "…"
    return f"not graded (see {first}): {line}"


# a dependency that ended like this leaves its dependents ungraded (a stub's "not implemented",
# a missing name or a grader bug do not: the dependent runs and says so itself)
BLOCKING = ("failed", "error", "timeout", "crashed", "bad_reply", "not_graded")


def roots_first(checks: list) -> list:
    """The checks in course order, except that each comes after the checks it depends on: a
    root failure is graded, and reported, before what it breaks."""
    by_id = {c.id: c for c in checks}
    done: dict[str, None] = {}

    def visit(c, path=()):
        if c.id in done or c.id in path:
            return
        for d in c.depends_on:
            if d in by_id:
                visit(by_id[d], (*path, c.id))
        done[c.id] = None
    for c in checks:
        visit(c)
    return [by_id[i] for i in done]


def _blocked_by(cfg, outcome: dict[str, CheckResult]) -> str:
    """Why `cfg` is not graded (a dependency that did not pass), or "" to grade it.

    A dependency outside this run (`--check`) counts as met."""
    for d in cfg.depends_on:
        r = outcome.get(d)
        if r is None or r.status not in BLOCKING or r.message.startswith("grader bug"):
            continue
        if r.status == "not_graded":
            root = r.message.rsplit("depends on ", 1)[-1]
            return f"not graded: depends on {d}, which was not graded: it depends on {root}"
        what = {"failed": "failed", "error": "raised an error"}.get(
            r.status, f"ended with status {r.status}")
        return f"not graded: depends on {d}, which {what}"
    return ""


def _withhold_bonus(result: LectureResult) -> None:
    """A bonus counts only when every required check passed (LectureResult.points): say so on
    the bonus check itself, so its line and the lecture total agree."""
    missed = [c.id for c in sorted(result.checks, key=lambda c: c.status == "not_graded")
              if not c.bonus and not c.passed]
    for c in result.checks:
        if c.bonus and c.points and missed:
            c.points = 0.0
            c.message = "; ".join(filter(None, [c.message, (
                f"bonus not counted: it counts once every required check passes "
                f"(not yet: {', '.join(missed[:4])}{', ...' if len(missed) > 4 else ''})")]))


def _with_hint(msg: str, hint: str) -> str:
    return f"{msg}\nhint: {hint}" if hint else msg


def _every_check(course: Course, lid: str, layer: str, status: str, message: str,
                 only: set[str] | None, on_check=None) -> LectureResult:
    """A lecture none of whose checks ran: each gets `status` and `message`, 0 points."""
    lec = course.lecture(lid)
    result = LectureResult(lid, lec.title, layer)
    for cfg in lec.checks:
        if not only or cfg.id in only:
            r = CheckResult(cfg.id, cfg.title, 0.0, cfg.points, status, message, cfg.visibility,
                            cfg.bonus)
            result.checks.append(r)
            if on_check:
                on_check(r)
    return result


def grade_submission(course: Course, path: Path, lectures: list[str] | None, seed: int,
                     student: str, layer: str, layer_note: str = "", timings: dict | None = None,
                     on_check=None, only: set[str] | None = None,
                     stop_at_failure: bool = False) -> SubmissionResult:
    """Snapshot the submission once (grader/snapshot.py), then grade it from the snapshot; the
    snapshot is removed at the end, whatever happened. A refused snapshot, or any failure of the
    grader on this submission, becomes this submission's status (`refused` / `error`) and never
    stops the run."""
    sub = SubmissionResult(student, str(path), seed)
    try:
        snap = snapshot(path, course.limits)
    except Refused as e:
        # which lectures this refusal is reported under: folder listings and stat only, never
        # opening a file (the finder is bounded and follows no link)
        found = locate(path, course, lectures) or Path(path)
        todo = lectures or lectures_in(found, course) or list(course.lectures)
        sub.lectures = [_every_check(course, lid, layer, "refused", f"refused: {e}", only,
                                     on_check) for lid in todo]
        return sub
    try:
        # the packages may sit deeper (a GitHub Classroom clone: assignments/<pkg>/)
        root = locate(snap.root, course, lectures) or snap.root
        if root != snap.root:
            sub.path = str(Path(path) / root.relative_to(snap.root))
        _grade_snapshot(course, sub, root, lectures, seed, student, layer, layer_note,
                        timings, on_check, only, stop_at_failure)
    except ConfigError:
        raise                # the course's fault, the same for every submission
    except Exception as e:  # noqa: BLE001 - one submission costs one status, never the run
        done = {lec.lecture for lec in sub.lectures}
        msg = (f"the grader failed on this submission (not your fault; please report it): "
               f"{type(e).__name__}: {e}")[:2000]
        todo = lectures or lectures_in(snap.root, course) or list(course.lectures)
        sub.lectures += [_every_check(course, lid, layer, "error", msg, only, on_check)
                         for lid in todo if lid not in done]
    finally:
        snap.close()
    return sub


def _grade_snapshot(course: Course, sub: SubmissionResult, path: Path,
                    lectures: list[str] | None, seed: int, student: str, layer: str,
                    layer_note: str, timings: dict | None, on_check,
                    only: set[str] | None, stop_at_failure: bool = False) -> None:
    todo = lectures or lectures_in(path, course)
    nxt = start_worker(course, todo[0], path, layer) if todo else None
    try:
        for k, lid in enumerate(todo):
            t0 = time.perf_counter()
            worker, nxt = nxt, None
            if k + 1 < len(todo):
                nxt = start_worker(course, todo[k + 1], path, layer)
            sub.lectures.append(grade_lecture(course, lid, path, seed, layer, layer_note,
                                              timings, student, on_check, only, worker,
                                              stop_at_failure))
            if timings is not None:
                timings[f"{student}/{lid}"] = round(time.perf_counter() - t0, 4)
    finally:
        if nxt is not None:
            nxt.close()


def submissions_in(path: Path, batch: bool) -> list[tuple[str, Path]]:
    if not batch:
        return [(path.resolve().name, path)]
    return [(p.name, p) for p in sorted(path.iterdir())
            if p.is_dir() and not p.name.startswith(".")]


def shard(items: list, spec: str | None) -> list:
    if not spec:
        return items
    i, n = (int(x) for x in spec.split("/"))
    return [x for k, x in enumerate(items) if k % n == i - 1]


def grade(course: Course, path: Path, lectures: list[str] | None = None, seed: int | None = None,
          batch: bool = False, jobs: int = 1, shard_spec: str | None = None,
          isolation: str | None = None, on_check=None, protect: list[Path] = (),
          only: set[str] | None = None, stop_at_failure: bool = False) -> Run:
    seed = new_seed() if seed is None else seed
    layer, note = choose_isolation(isolation)
    run = Run(seed, {}, shard=shard_spec)
    subs = shard(submissions_in(path, batch), shard_spec)
    seeds = {sid: derive_seed(seed, sid) if batch else seed for sid, _ in subs}
    t0 = time.perf_counter()
    guarded = [*instructor_paths(), *protect, *([path] if batch else [])]
    with protected(guarded, layer), POOL.hold():
        def one(item):
            sid, p = item
            tell = on_check
            if on_check is not None and batch:     # whose verdict it is, as it streams
                def tell(r):
                    on_check(r, student=sid)
            return grade_submission(course, p, lectures, seeds[sid], sid, layer, note,
                                    run.timings, tell, only, stop_at_failure)
        if jobs > 1 and len(subs) > 1:
            with ThreadPoolExecutor(jobs) as pool:
                run.submissions = list(pool.map(one, subs))
        else:
            run.submissions = [one(s) for s in subs]
    run.versions = versions(course)  # imports torch: after the first worker was spawned
    run.timings["total"] = round(time.perf_counter() - t0, 4)
    return run
