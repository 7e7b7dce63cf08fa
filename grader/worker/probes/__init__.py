"""Probes: worker-side functions that exercise the student's package and return plain data.

Each lecture's probes live in its room, `grader/lectures/<lecture>/probes.py`; the sandbox copies
that file (and nothing else of the room) into this package as `zth_worker.probes.<lecture>`.

A probe takes the student's package name plus plain arguments and returns JSON-able data or
numpy arrays. It never judges: the parent compares what comes back against its oracle.
"""
from __future__ import annotations

import importlib

_PROBES: dict[str, dict] = {}
HIDDEN = "_hidden"


class Missing(Exception):
    """The submission lacks a name the check needs (e.g. `Value.tanh`)."""


class PolicyViolation(ImportError):
    """The submission did something its lecture's policy forbids."""


class ImportFailed(Exception):
    """Importing one of the student's modules raised (a syntax error, a bad import, an error at
    module level): the worker reports it once, as the student's error, with file and line."""

    def __init__(self, what: str, error: BaseException):
        super().__init__(what)
        self.what, self.error = what, error


class WrongType(TypeError):
    """The student's function returned something of the wrong kind (see `expect`)."""


def _kind(value) -> str:
    t = type(value)
    if value is None or t.__module__ in ("builtins", None):
        return "None" if value is None else t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def expect(value, kind, what: str, expected: str | None = None):
    """Return `value` if it is an instance of `kind` (a type or a tuple of types), else fail
    the way a student reads it: "your Value.__add__ returned float; expected a Value".

    Probes call this on what the student's code returned before using it, so that a wrong
    return type is named, instead of showing the probe's own AttributeError:
        out = expect(a + b, Value, "Value.__add__")
    """
    if isinstance(value, kind):
        return value
    if expected is None:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(f"a {k.__name__}" for k in kinds)
    raise WrongType(f"your {what} returned {_kind(value)}; expected {expected}")


_parent = None   # set by the worker for each request: (name, args) -> the parent's answer


def callback(name: str, **args):
    """Call the check's handler `name` in the trusted parent with plain-data `args` and return
    its answer. Oracles the student's code calls (E03's `evaluate`) live there, so the parent,
    not the worker, keeps the log of those calls; a refused call raises TypeError here."""
    if _parent is None:
        raise RuntimeError("grader bug (not your fault): no channel to the grader for callbacks")
    return _parent(name, args)


def probe(fn):
    lecture = fn.__module__.rsplit(".", 1)[-1].removesuffix(HIDDEN)
    _PROBES.setdefault(lecture, {})[fn.__name__] = fn
    return fn


def registry(lecture: str) -> dict:
    """The lecture's probes: the sandbox copies its room's `probes.py` here as `<lecture>.py`
    (and, in the instructor build only, `hidden_probes.py` as `<lecture>_hidden.py`)."""
    importlib.import_module(f"{__name__}.{lecture}")
    try:
        importlib.import_module(f"{__name__}.{lecture}{HIDDEN}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{lecture}{HIDDEN}":
            raise
    return _PROBES.get(lecture, {})


def module(package: str, name: str):
    """Import `package.name` from the submission, or say it is missing, or that importing it
    failed (`ImportFailed`: reported once per distinct error, as the student's error)."""
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as e:
        if e.name in (f"{package}.{name}", package):
            raise Missing(f"{package}/{name}.py") from None
        raise ImportFailed(f"{package}/{name}.py", e) from None
    except (NotImplementedError, PolicyViolation, Missing):
        raise
    except Exception as e:  # noqa: BLE001 - SyntaxError, ImportError, errors at module level
        raise ImportFailed(f"{package}/{name}.py", e) from None


def attr(obj, name: str, label: str | None = None):
    """`getattr` that reports a missing name the way a student reads it."""
    try:
        return getattr(obj, name)
    except AttributeError:
        owner = getattr(obj, "__name__", type(obj).__name__).rsplit(".", 1)[-1]
        raise Missing(label or f"{owner}.{name}") from None
