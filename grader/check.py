"""Checks: one small function per check id, registered with `@check("lecture.name")`.

A check runs in the trusted parent. It builds seeded inputs, asks the sandboxed worker to run a
probe on the student's code, validates the plain data that comes back (exact type, dtype, shape)
and compares it with an oracle (torch, tiktoken or its own computation on the inputs it chose)
within course.yaml's tolerance; oracles the student's code calls are callbacks answered here.
It passes by returning (optionally a short note) and fails by raising `CheckFailed`.

The rule every check follows (verify, don't trust): a verdict rests only on values this process
computes itself from inputs the worker could not predict, or on evidence kept outside the
worker. Everything in the worker, our probes included, is the student's: a reply the worker
could produce without running the student's function correctly (an echo of the request, zeros
of the right shape, an answer memorised at another seed, a self-consistent made-up run) must
never pass. So requests carry parent-chosen values (weights, inputs, labels, learning-rate
schedules), worker seeds are keyed (`worker_seed`), training runs are replayed here from the
parent's initial weights, and oracles the student calls are callbacks whose log stays here.
`tests/hostile/test_audit.py` forges every check's replies and requires 0 points.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .config import Check, Tolerance
from .lectures import known_probes
from .sandbox import CallbackRefused, Worker

_CHECKS: dict[str, Callable] = {}


class CheckFailed(Exception):
    """The student's answer is wrong; the message says what, by how much, and where.

    `hint`: advice for this very failure, in place of the check's hint from course.yaml (which
    is about the check's main part); "" for none (a part the course hint would misdirect)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class GraderBug(Exception):
    """Our mistake, not the student's (e.g. a check names a probe its room lacks)."""


class ProbeFailed(Exception):
    """The worker could not produce an answer (not implemented, crash, timeout, ...)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _secret() -> bytes:
    """The key for worker seeds. $ZTH_SECRET (instructors grading for marks may set one) or a
    fixed key. Either way the worker never sees it (the grader's files are not visible in the
    sandbox), and inverting the keyed hash would take ~2^31 tries per check within its timeout."""
    return os.environ.get("ZTH_SECRET", "zth worker seed v1").encode()


def worker_seed(seed: int) -> int:
    digest = hmac.new(_secret(), str(seed).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFFFFFFFFFFFFFF


def check(check_id: str):
    def register(fn):
        _CHECKS[check_id] = fn
        return fn
    return register


def registry(lecture: str) -> dict[str, Callable]:
    """Checks of one lecture: its room's `checks.py` plus `hidden.py` if it has one."""
    for name in (f"grader.lectures.{lecture}.checks", f"grader.lectures.{lecture}.hidden"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    if "torch" in sys.modules:  # oracles are small: one thread is faster, and deterministic
        sys.modules["torch"].set_num_threads(1)
    return {k: v for k, v in _CHECKS.items() if k.split(".")[0] == lecture}


@dataclass
class Context:
    lecture: str
    cfg: Check
    tol: Tolerance
    seed: int
    timeout: float
    worker: Worker
    params: dict
    notes: list[str] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)   # the parent's log of the last callbacks

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    @property
    def worker_seed(self) -> int:
        """The seed the worker's RNGs get: keyed, so what the worker sees (torch.initial_seed())
        says nothing about `self.seed`, which drives every input the parent draws."""
        return worker_seed(self.seed)

    def figure(self, name: str, svg: str) -> None:
        """Attach a picture (SVG text) that explains this check's verdict to its result."""
        self.figures.append({"name": name, "svg": svg})

    # -- talking to the worker --------------------------------------------------------------
    def probe(self, name: str, callbacks: dict[str, Callable] | None = None,
              max_calls: int = 1000, **args):
        """Run probe `name` in the worker on `args`. `callbacks` are oracles the student's code
        calls (e.g. {"evaluate": fn}): the probe reaches them over the wire (`probes.callback`),
        the parent runs them and logs every call in `self.calls` (name, args, value or refusal),
        at most `max_calls` of them. A handler refuses bad arguments with `CallbackRefused`."""
        if name not in known_probes(self.lecture):
            raise GraderBug(f"the check asks for probe {name!r}, which grader/lectures/"
                            f"{self.lecture}/ does not define")
        extra = {}
        if callbacks is not None:
            self.calls = []
            extra = {"callbacks": self._dispatcher(callbacks), "max_callbacks": max_calls}
        reply = self.worker.call(name, args, self.worker_seed, self.timeout, **extra)
        if reply.status != "ok":
            raise ProbeFailed(reply.status, reply.message)
        return reply.value

    def _dispatcher(self, handlers: dict[str, Callable]) -> Callable:
        def dispatch(name: str, args):
            entry = {"name": name, "args": args}
            self.calls.append(entry)
            fn = handlers.get(name)
            try:
                if fn is None:
                    raise CallbackRefused(f"the grader has no callback {name!r} here")
                if type(args) is not dict:
                    raise CallbackRefused(f"{name}: arguments must come as a dict")
                try:
                    inspect.signature(fn).bind(**args)
                except TypeError as e:
                    raise CallbackRefused(f"{name}: {e}") from None
                entry["value"] = fn(**args)
            except CallbackRefused as e:
                entry["refused"] = str(e)
                raise
            return entry["value"]
        return dispatch

    # -- validating replies (they are plain data, but of the right kind?) ---------------------
    def array(self, value, what: str, shape: tuple | None = None, kinds: str = "fiub",
              dtype=None) -> np.ndarray:
        if type(value) is not np.ndarray:
            raise CheckFailed(f"{what}: expected an array, got {_kind(value)}")
        if value.dtype.kind not in kinds or value.dtype.hasobject:
            raise CheckFailed(f"{what}: expected a numeric array, got dtype {value.dtype}")
        if dtype is not None and value.dtype != np.dtype(dtype):
            raise CheckFailed(f"{what}: expected dtype {np.dtype(dtype)}, got {value.dtype}")
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise CheckFailed(f"{what}: expected shape {tuple(shape)}, got {tuple(value.shape)}")
        return value

    def number(self, value, what: str) -> float:
        if type(value) not in (int, float):
            raise CheckFailed(f"{what}: expected a number, got {_kind(value)}")
        return float(value)

    def numbers(self, value, what: str, n: int | None = None) -> np.ndarray:
        if type(value) is not list or any(type(v) not in (int, float) for v in value):
            raise CheckFailed(f"{what}: expected a list of numbers, got {_kind(value)}")
        if n is not None and len(value) != n:
            raise CheckFailed(f"{what}: expected {n} numbers, got {len(value)}")
        return np.array(value, dtype=np.float64)

    def mapping(self, value, what: str, keys: tuple[str, ...]) -> dict:
        if type(value) is not dict or not set(keys) <= set(value):
            raise CheckFailed(f"{what}: expected a dict with keys {', '.join(keys)}, "
                              f"got {_kind(value)}")
        return value

    # -- comparing --------------------------------------------------------------------------
    def close(self, actual, expected, what: str, where: Callable[[int], str] | None = None,
              tol: Tolerance | None = None) -> None:
        """Fail unless `actual` matches `expected` elementwise within tolerance."""
        tol = tol or self.tol
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
        if a.shape != e.shape:
            raise CheckFailed(f"{what}: expected shape {e.shape}, got {a.shape}")
        ok = np.isclose(a, e, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
        if ok.all():
            return
        bad = np.flatnonzero(~ok.ravel())
        err = np.abs(a - e).ravel()
        excess = np.where(np.isnan(err), np.inf, err - (tol.atol + tol.rtol * np.abs(e).ravel()))
        worst = int(np.argmax(np.where(ok.ravel(), -np.inf, excess)))
        loc = where(worst) if where else _index(worst, e.shape)
        av, ev = a.ravel()[worst], e.ravel()[worst]
        rel = err[worst] / abs(ev) if ev != 0 else float("inf")
        raise CheckFailed(
            f"{what}: {len(bad)} of {a.size} values outside tolerance ({tol}); worst at {loc}: "
            f"got {_g(av)}, expected {_g(ev)} (abs err {_g(err[worst])}, rel err {_g(rel)})")

    def equal(self, actual, expected, what: str, where: Callable[[int], str] | None = None):
        """Exact equality for integer data (counts, ids, shapes)."""
        a, e = np.asarray(actual), np.asarray(expected)
        if a.shape != e.shape:
            raise CheckFailed(f"{what}: expected shape {e.shape}, got {a.shape}")
        diff = np.flatnonzero((a != e).ravel())
        if diff.size:
            i = int(diff[0])
            loc = where(i) if where else _index(i, e.shape)
            raise CheckFailed(f"{what}: {diff.size} of {a.size} entries differ; first at {loc}: "
                              f"got {a.ravel()[i]!r}, expected {e.ravel()[i]!r}")

    def ensure(self, ok: bool, message: str, hint: str | None = None) -> None:
        if not ok:
            raise CheckFailed(message, hint)


def _index(i: int, shape: tuple) -> str:
    if len(shape) <= 1:
        return f"index {i}"
    return "index " + str(tuple(int(x) for x in np.unravel_index(i, shape)))


def _g(x) -> str:
    """Three significant digits: printed errors must not make equal runs differ."""
    return f"{float(x):.3g}"


def _kind(value) -> str:
    if type(value) is np.ndarray:
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"
