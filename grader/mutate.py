"""Mutation testing of the grader: plant small bugs in the reference's solution regions and see
which ones the checks catch (`zth mutate LECTURE`).

A mutant is one edit of one `### BEGIN SOLUTION` … `### END SOLUTION` region of
`reference/<pkg>/`: an operator swapped (`+`→`-`, `<`→`<=`, `+=`→`=`), a constant nudged
(`1`→`2`, `True`→`False`), a sign dropped, a call statement deleted. Each mutant is graded as a
copied submission (the reference itself is never edited: a check whose oracle is the reference
would compare the mutant with itself), at two seeds, with the checks that can see the mutated
function (checks → the probes they call → the student's functions those name → what those call;
an over-approximation). Running fewer checks can only miss kills, never invent one.

Survivors are bugs the grader cannot see, or equivalent mutants (the same program: `x * 1.0`
for `x`): those are recorded with a one-line reason in `mutation/<lecture>.equivalent.yaml`.
"""
from __future__ import annotations

import ast
import difflib
import json
import random
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from .build import BEGIN, END
from .config import ROOT, Course
from .runner import grade
from .sandbox.server import POOL

MUTATION_DIR = ROOT / "mutation"
FLAG_EQUIVALENT = 0.10   # a lecture where more than this share is "equivalent" is flagged

SWAP_BINOP = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
              ast.Div: [ast.Mult], ast.FloorDiv: [ast.Div], ast.Pow: [ast.Mult],
              ast.Mod: [ast.FloorDiv]}
SWAP_CMP = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE, ast.Lt],
            ast.GtE: [ast.Gt], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn],
            ast.NotIn: [ast.In], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
SWAP_AUG = {ast.Add: [None, ast.Sub], ast.Sub: [None, ast.Add], ast.Mult: [None, ast.Div],
            ast.Div: [None, ast.Mult]}    # None: `x += y` becomes `x = y`
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Pow: "**", ast.Mod: "%", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
          ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
          ast.IsNot: "is not", ast.And: "and", ast.Or: "or"}


@dataclass
class Mutant:
    id: str            # file:line:col:operator — stable while the reference does not change
    file: str          # relative to the lecture package
    line: int
    function: str      # enclosing function, e.g. "Value.__pow__"
    operator: str      # e.g. "+ -> -"
    old: str           # the source segment replaced ...
    new: str           # ... and what replaces it
    start: tuple[int, int] = (0, 0)     # (line, col) of the segment, 1-based line
    end: tuple[int, int] = (0, 0)

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        offs = [0]
        for line in lines:
            offs.append(offs[-1] + len(line.encode()))
        data = source.encode()
        a = offs[self.start[0] - 1] + self.start[1]
        b = offs[self.end[0] - 1] + self.end[1]
        assert data[a:b].decode() == self.old, (self.id, data[a:b], self.old)
        return (data[:a] + self.new.encode() + data[b:]).decode()

    def diff(self, source: str) -> str:
        new = self.apply(source)
        return "".join(difflib.unified_diff(source.splitlines(keepends=True),
                                            new.splitlines(keepends=True),
                                            f"a/{self.file}", f"b/{self.file}", n=1))


def solution_lines(source: str) -> set[int]:
    """1-based numbers of the lines inside solution regions."""
    inside, out = False, set()
    for i, line in enumerate(source.splitlines(), 1):
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif inside:
            out.add(i)
    return out


class _Finder(ast.NodeVisitor):
    def __init__(self, source: str, lines: set[int], file: str):
        self.source, self.lines, self.file = source, lines, file
        self.stack: list[str] = []
        self.found: list[Mutant] = []

    # -- where we are -------------------------------------------------------------------------
    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_FunctionDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _inside(self, node) -> bool:
        return all(n in self.lines for n in range(node.lineno, node.end_lineno + 1))

    # output is not graded: a mutant inside print(...) or an f-string is equivalent by design
    def visit_Call(self, node):
        if not (isinstance(node.func, ast.Name) and node.func.id == "print"):
            self.generic_visit(node)

    def visit_JoinedStr(self, node):
        pass

    def _add(self, node, operator: str, new: str, old: str | None = None) -> None:
        old = ast.get_source_segment(self.source, node) if old is None else old
        if old is None or old == new:
            return
        col = node.col_offset
        self.found.append(Mutant(
            f"{self.file}:{node.lineno}:{col}:{operator}", self.file, node.lineno,
            ".".join(self.stack) or "<module>", operator, old, new, (node.lineno, col),
            (node.end_lineno, node.end_col_offset)))

    def _replace(self, node, replacement, operator: str) -> None:
        self._add(node, operator, _unparse(replacement))

    # -- the operators --------------------------------------------------------------------------
    def visit_BinOp(self, node):
        if self._inside(node):
            for new in SWAP_BINOP.get(type(node.op), []):
                self._replace(node, ast.BinOp(node.left, new(), node.right),
                              f"{SYMBOL[type(node.op)]} -> {SYMBOL[new]}")
        self.generic_visit(node)

    def visit_Compare(self, node):
        if self._inside(node) and len(node.ops) == 1:
            for new in SWAP_CMP.get(type(node.ops[0]), []):
                self._replace(node, ast.Compare(node.left, [new()], node.comparators),
                              f"{SYMBOL[type(node.ops[0])]} -> {SYMBOL[new]}")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        if self._inside(node):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            self._replace(node, ast.BoolOp(new(), node.values),
                          f"{SYMBOL[type(node.op)]} -> {SYMBOL[new]}")
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if self._inside(node) and isinstance(node.op, (ast.USub, ast.Not)):
            self._add(node, "drop " + ("-" if isinstance(node.op, ast.USub) else "not"),
                      ast.get_source_segment(self.source, node.operand) or "")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if self._inside(node):
            for new in SWAP_AUG.get(type(node.op), []):
                sym = SYMBOL[type(node.op)]
                if new is None:
                    self._replace(node, ast.Assign([node.target], node.value, lineno=0),
                                  f"{sym}= -> =")
                else:
                    self._replace(node, ast.AugAssign(node.target, new(), node.value),
                                  f"{sym}= -> {SYMBOL[new]}=")
            self._add(node, "delete statement", "pass")
        self.generic_visit(node)

    def visit_Expr(self, node):
        call = node.value
        if (self._inside(node) and isinstance(call, ast.Call)
                and not (isinstance(call.func, ast.Name) and call.func.id == "print")):
            self._add(node, "delete call", "pass")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if not self._inside(node):
            return
        v = node.value
        if type(v) is bool:
            self._add(node, f"{v} -> {not v}", str(not v))
        elif type(v) is int:
            self._add(node, f"{v} -> {v + 1}", str(v + 1))
            if v != 0:
                self._add(node, f"{v} -> 0", "0")
        elif type(v) is float:
            self._add(node, f"{v!r} -> {v * 2!r}", repr(v * 2))


def _unparse(node) -> str:
    return ast.unparse(ast.fix_missing_locations(node))


def find_mutants(package_dir: Path) -> list[Mutant]:
    """Every mutant of the package's solution regions, in file and source order."""
    out = []
    for f in sorted(package_dir.rglob("*.py")):
        source = f.read_text()
        lines = solution_lines(source)
        if not lines:
            continue
        finder = _Finder(source, lines, f.relative_to(package_dir).as_posix())
        finder.visit(ast.parse(source))
        for m in finder.found:
            try:
                ast.parse(m.apply(source))
            except SyntaxError:
                continue
            out.append(m)
    seen, unique = set(), []
    for m in out:
        if m.id not in seen:
            seen.add(m.id)
            unique.append(m)
    return unique


def _names_used(node) -> set[str]:
    """Every name a piece of code could reach something by: identifiers, attribute names and
    string constants (probes look student functions up with `attr(module, "name")`)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier():
            out.add(n.value)
    return out


def _defs(tree) -> dict[str, list]:
    """Simple name -> the function/class definitions with that name (methods included)."""
    out: dict[str, list] = {}
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(n.name, []).append(n)
    return out


def _closure(start: set[str], defs: dict[str, list]) -> set[str]:
    """Names reachable from `start` through the definitions: a class reaches all its methods
    (operators call dunders without naming them), a function everything its body names."""
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for d in defs.get(name, []):
            todo += _names_used(d)
            if isinstance(d, ast.ClassDef):
                todo += [m.name for m in d.body
                         if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return seen


def reach(package_dir: Path, lecture: str) -> dict[str, set[str]]:
    """Check id -> names of the package it can reach: checks name probes (`ctx.probe("x")`),
    probes name the student's functions, those call others. An over-approximation (any
    attribute `.foo` reaches every `foo`), so scoping by it never drops a check that could
    see a mutant."""
    from .lectures import LECTURES_DIR, SANDBOXED

    room = LECTURES_DIR / lecture
    pkg_defs: dict[str, list] = {}
    for f in sorted(package_dir.rglob("*.py")):
        for k, v in _defs(ast.parse(f.read_text())).items():
            pkg_defs.setdefault(k, []).extend(v)
    probe_defs: dict[str, list] = {}
    for name in SANDBOXED:
        if (room / name).is_file():
            for k, v in _defs(ast.parse((room / name).read_text())).items():
                probe_defs.setdefault(k, []).extend(v)
    # hidden.py calls helpers of checks.py (`from .checks import shape_walk`): the helpers of
    # both files are one pool, or a hidden check's reach would stop at the import
    trees = [ast.parse((room / name).read_text()) for name in ("checks.py", "hidden.py")
             if (room / name).is_file()]
    check_defs: dict[str, list] = {}
    for tree in trees:
        for k, v in _defs(tree).items():
            check_defs.setdefault(k, []).extend(v)
    out = {}
    for tree in trees:
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            ids = [d.args[0].value for d in fn.decorator_list
                   if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "check"
                   and d.args and isinstance(d.args[0], ast.Constant)]
            if not ids:
                continue
            in_checks = _closure({fn.name}, check_defs)          # helpers of the check
            probes = {p for p in in_checks if p in probe_defs}
            student = _closure(probes, probe_defs) | in_checks   # names passed as arguments
            for cid in ids:
                out[cid] = _closure(student, pkg_defs)
    return out


def checks_for(package_dir: Path, m: Mutant, lecture: str, ids: list[str],
               reached: dict[str, set[str]] | None = None) -> list[str]:
    """The checks that can reach the mutated function (see `reach`); every check when the
    mutant is module-level code or a check's reach is unknown."""
    reached = reach(package_dir, lecture) if reached is None else reached
    parts = m.function.split(".")
    if parts == ["<module>"] or any(i not in reached for i in ids):
        return list(ids)
    return [i for i in ids if any(p in reached[i] for p in parts)]


@dataclass
class Outcome:
    id: str
    function: str
    operator: str
    verdict: str                 # killed | survived | timeout | equivalent
    killed_by: list[str] = field(default_factory=list)       # first failing check, each seed
    seeds_killing: list[int] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)          # the scoped checks
    seconds: float = 0.0
    diff: str = ""
    killed_at: dict[str, str] = field(default_factory=dict)  # seed -> first failing check
    statuses: dict[str, str] = field(default_factory=dict)   # seed -> its status
    messages: dict[str, str] = field(default_factory=dict)   # seed -> its message (cut)


class MutationError(RuntimeError):
    """The run cannot say anything about mutants (e.g. the unmutated reference fails)."""


def load_equivalent(lecture: str) -> dict[str, str]:
    path = MUTATION_DIR / f"{lecture}.equivalent.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or []
    return {e["id"]: e["reason"] for e in data}


def _ordered(course: Course, lecture: str, order: list[str]) -> Course:
    """The course with this lecture's checks in `order` (ids missing from it keep their place
    after it). Each check's seed comes from its id, so order changes no check's inputs; the
    runner still grades a check's dependencies before it (`roots_first`)."""
    lec = course.lecture(lecture)
    rank = {cid: k for k, cid in enumerate(order)}
    checks = sorted(lec.checks, key=lambda c: rank.get(c.id, len(rank)))
    return course.model_copy(update={"lectures": {
        **course.lectures, lecture: lec.model_copy(update={"checks": checks})}})


def _baseline(course: Course, lecture: str, sub: Path, seeds: tuple[int, ...],
              jobs: int) -> list[str]:
    """Grade the unmutated copy at every grading seed with every check: each must pass (else a
    "kill" would mean nothing). Returns the check ids, cheapest first (the most any seed took),
    the order mutants are graded in: with stop_at_failure the cheap checks decide most kills."""
    with ThreadPoolExecutor(max(1, min(jobs, len(seeds)))) as pool:
        runs = list(pool.map(lambda s: grade(course, sub, [lecture], s), seeds))
    cost: dict[str, float] = {}
    for s, run in zip(seeds, runs):
        bad = [c for c in run.submissions[0].lectures[0].checks if not c.passed]
        if bad:
            raise MutationError(
                f"the unmutated reference does not pass {lecture} at grading seed {s} "
                f"({bad[0].id}: {bad[0].status}: {bad[0].message[:300]}): no mutant's verdict "
                "would mean anything")
        for key, t in run.timings.items():
            parts = key.rsplit("/", 2)
            if len(parts) == 3 and parts[1] == lecture:
                cost[parts[2]] = max(cost.get(parts[2], 0.0), t)
    ids = [c.id for c in course.lecture(lecture).checks]
    return sorted(ids, key=lambda i: cost.get(i, 0.0))


def run_mutants(course: Course, lecture: str, sample: int | None, seed: int,
                seeds: tuple[int, int], jobs: int = 2, log=print,
                only_ids: set[str] | None = None) -> dict:
    """Grade the mutants (a seeded sample, or only those with `only_ids`).

    Each mutant is graded at every seed with `stop_at_failure`: one failing check kills it, so
    the checks after it are not run (checks go cheapest first; at the second seed the check
    that killed at the first goes first). A survivor runs every scoped check at every seed."""
    lec = course.lecture(lecture)
    pkg = ROOT / "reference" / lec.package
    everything = find_mutants(pkg)
    picked = sorted(random.Random(seed).sample(range(len(everything)), sample)) \
        if sample and sample < len(everything) else range(len(everything))
    mutants = [everything[i] for i in picked]
    if only_ids is not None:
        mutants = [m for m in everything if m.id in only_ids]
    ids = [c.id for c in lec.checks]
    reached = reach(pkg, lecture)
    equivalent = load_equivalent(lecture)
    sources = {f.relative_to(pkg).as_posix(): f.read_text() for f in pkg.rglob("*.py")}
    work = Path(tempfile.mkdtemp(prefix="zth-mutate-"))
    t0 = time.perf_counter()

    def copy(name: str) -> Path:
        sub = work / name
        shutil.copytree(pkg, sub / lec.package, ignore=shutil.ignore_patterns("__pycache__"))
        return sub

    def one(k_m):
        k, m = k_m
        t1 = time.perf_counter()
        sub = copy(f"m{k}")
        (sub / lec.package / m.file).write_text(m.apply(sources[m.file]))
        only = set(checks_for(pkg, m, lecture, ids, reached))
        killed_at, statuses, messages = {}, {}, {}
        for s in seeds:
            first = list(killed_at.values())     # the check that killed it at the first seed
            # once a crash or timeout happened twice at one seed, it is the mutant's
            confirmed = any(v in ("crashed", "timeout") for v in statuses.values())
            for _attempt in range(1 if confirmed else 2):
                run = grade(_ordered(cheap_first, lecture, first) if first else cheap_first,
                            sub, [lecture], s, only=only, stop_at_failure=True)
                # a bonus check that fails sees the mutant too (CausalSelfAttention has no other)
                bad = [c for c in run.submissions[0].lectures[0].checks
                       if not c.passed and c.status != "not_graded"]
                # a crash or a timeout may be the machine's (load, a worker that failed to
                # start), not the mutant's: it kills only if it happens again
                if not bad or bad[0].status not in ("crashed", "timeout"):
                    break
                log(f"  (grading {m.id} again at seed {s}: {bad[0].id} {bad[0].status}: "
                    f"{bad[0].message[:160]!r})")
            if bad:
                killed_at[str(s)], statuses[str(s)] = bad[0].id, bad[0].status
                messages[str(s)] = bad[0].message[:300]
        shutil.rmtree(sub, ignore_errors=True)
        timed_out = bool(killed_at) and all(v == "timeout" for v in statuses.values())
        verdict = ("timeout" if timed_out else "killed") if killed_at else (
            "equivalent" if m.id in equivalent else "survived")
        out = Outcome(m.id, m.function, m.operator, verdict,
                      sorted(set(killed_at.values()), key=ids.index),
                      [s for s in seeds if str(s) in killed_at], sorted(only, key=ids.index),
                      round(time.perf_counter() - t1, 2), m.diff(sources[m.file]),
                      killed_at, statuses, messages)
        by = ", ".join(f"{s}: {c}" for s, c in killed_at.items())
        log(f"  {verdict:10} {m.id}  ({m.function}: {m.operator})" + (f"  [{by}]" if by else "")
            + f"  {out.seconds:.0f} s")
        return out

    try:
        with POOL.hold():    # a warmed fork server per lecture for every grading here
            cheap_first = _ordered(course, lecture, _baseline(course, lecture, copy("base"),
                                                              tuple(seeds), jobs))
            log(f"  reference passes every check at seeds {', '.join(map(str, seeds))} "
                f"({time.perf_counter() - t0:.0f} s)")
            with ThreadPoolExecutor(max(1, jobs)) as pool:
                outcomes = list(pool.map(one, enumerate(mutants)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summarise({
        "lecture": lecture, "mutants_total": len(everything), "mutants_graded": len(mutants),
        "sample_seed": seed, "grading_seeds": list(seeds),
        "seconds": round(time.perf_counter() - t0, 1), "jobs": jobs,
        "outcomes": [asdict(o) for o in outcomes]})


def regrade_survivors(course: Course, report: dict, jobs: int = 2, log=print) -> dict:
    """Grade a report's survivors and timeouts again (after a check was strengthened, or when
    a timeout may have come from a loaded machine) and merge."""
    again_ids = {o["id"] for o in report["outcomes"] if o["verdict"] in ("survived", "timeout")}
    if not again_ids:
        return summarise(report)
    again = run_mutants(course, report["lecture"], None, report["sample_seed"],
                        tuple(report["grading_seeds"]), jobs, log, only_ids=again_ids)
    new = {o["id"]: o for o in again["outcomes"]}
    report["outcomes"] = [new.get(o["id"], o) for o in report["outcomes"]]
    report["seconds_regrade"] = round(report.get("seconds_regrade", 0) + again["seconds"], 1)
    return summarise(report)


def summarise(report: dict) -> dict:
    """Counts, score and flags from the outcomes; a survivor listed in the lecture's
    equivalent file (declared after a run) is counted as equivalent, with its reason."""
    equivalent = load_equivalent(report["lecture"])
    outcomes = report["outcomes"]
    for o in outcomes:
        if o["verdict"] == "survived" and o["id"] in equivalent:
            o["verdict"] = "equivalent"
        if o["verdict"] == "equivalent":
            o["reason"] = equivalent.get(o["id"], "")
    counts = {v: sum(o["verdict"] == v for o in outcomes)
              for v in ("killed", "timeout", "survived", "equivalent")}
    scored = counts["killed"] + counts["timeout"] + counts["survived"]
    n = len(outcomes)
    return {**{k: v for k, v in report.items() if k != "outcomes"}, **counts,
            "score": round((counts["killed"] + counts["timeout"]) / scored, 4) if scored else None,
            "equivalent_share": round(counts["equivalent"] / n, 4) if n else 0.0,
            "flagged": bool(n) and counts["equivalent"] / n > FLAG_EQUIVALENT,
            "seed_dependent": [o["id"] for o in outcomes if len(o["seeds_killing"]) == 1],
            "outcomes": outcomes}


def markdown(report: dict) -> str:
    r = report
    score = f"{r['score']:.1%}" if r["score"] is not None else "n/a"
    lines = [f"# Mutation report: {r['lecture']}", "",
             f"{r['mutants_graded']} of {r['mutants_total']} mutants graded (sample seed "
             f"{r['sample_seed']}, grading seeds {', '.join(map(str, r['grading_seeds']))}) in "
             f"{r['seconds']} s" + (f" on {r['jobs']} jobs" if r.get("jobs") else "")
             + (f" (survivors and timeouts graded again: {r['seconds_regrade']} s)"
                if r.get("seconds_regrade") else "") + ".", "",
             "| killed | timed out | survived | equivalent | score |",
             "|---|---|---|---|---|",
             f"| {r['killed']} | {r['timeout']} | {r['survived']} | {r['equivalent']} | "
             f"{score} |", ""]
    if r["flagged"]:
        lines += [f"**Flagged:** {r['equivalent_share']:.0%} of the mutants are declared "
                  "equivalent (more than 10%).", ""]
    if r["seed_dependent"]:
        lines += ["Kills that depend on the seed: " + ", ".join(
            f"`{i}`" for i in r["seed_dependent"]), ""]
    lines += ["## Kills by check", "",
              "Each mutant is graded until its first failing check (cheapest checks first; "
              "at the second seed, the check that killed at the first goes first): a count is "
              "the mutants a check was the first to kill at some seed.", ""]
    by_check: dict[str, int] = {}
    for o in r["outcomes"]:
        for c in o["killed_by"]:
            by_check[c] = by_check.get(c, 0) + 1
    lines += [f"- `{c}`: {n}" for c, n in sorted(by_check.items(), key=lambda x: -x[1])]
    killed = [o for o in r["outcomes"] if o["verdict"] in ("killed", "timeout")]
    if killed:
        seeds = [str(s) for s in r["grading_seeds"]]
        lines += ["", "## Which check killed each", "",
                  "| mutant | function: operator | " + " | ".join(f"seed {s}" for s in seeds)
                  + " |", "|---|---|" + "---|" * len(seeds)]
        for o in killed:
            at = o.get("killed_at") or {}
            cells = [f"`{at[s]}`" if s in at else ("survived" if at else "?") for s in seeds]
            if not at:            # a report from before killed_at was recorded
                cells = [", ".join(o["killed_by"])] + [""] * (len(seeds) - 1)
            lines.append(f"| `{o['id']}` | {o['function']}: `{o['operator']}` | "
                         + " | ".join(cells) + " |")
    survivors = [o for o in r["outcomes"] if o["verdict"] == "survived"]
    equivalent = [o for o in r["outcomes"] if o["verdict"] == "equivalent"]
    if equivalent:
        lines += ["", f"## Declared equivalent ({len(equivalent)})", ""]
        lines += [f"- `{o['id']}` ({o['function']}: {o['operator']}): {o.get('reason', '')}"
                  for o in equivalent]
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for o in survivors:
        lines += [f"### `{o['id']}` — {o['function']}: {o['operator']}",
                  f"checks run: {', '.join(o['checks'])}", "", "```diff", o["diff"].rstrip(),
                  "```", ""]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: Path = MUTATION_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"{report['lecture']}.md"
    js = out_dir / f"{report['lecture']}.json"
    md.write_text(markdown(report))
    js.write_text(json.dumps({k: v for k, v in report.items()}, indent=1) + "\n")
    return [md, js]
