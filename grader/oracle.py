"""The reference solutions as an oracle, in the trusted parent only.

Checks whose oracle is a library (torch, tiktoken) need nothing from here. A check that needs the
reference (e.g. bigram sampling with a seeded generator) reaches it only through `reference()`:

    model = reference("bigram", "counts")          # inside a check
    expected = model.sample(P, torch.Generator().manual_seed(s), 20)

`reference()` returns a stand-in for the module that works in three modes:

- instructor build (reference/ present): attributes are the real module's, nothing else happens.
- recording (`zth release`): the release grades the reference submission at a few fixed seeds and
  every call or attribute read through the stand-in is logged per (check id, check seed): its
  name, a fingerprint of its arguments and its result as plain data. Objects the reference
  returns (a trained tokenizer, a model) become handles whose own calls are logged the same way.
- replay (student release: no reference/): the same calls are answered from
  `grader/expected/<lecture>.json.gz`, in order, after checking that the name and the argument
  fingerprint match. `grader/expected/index.json` lists the fixed run seeds; a release's
  `zth check` picks one of them (`release_seeds()`), so these checks score exactly as the
  instructor build does. Another seed, or arguments that differ from the recorded ones (a check
  that feeds the student's answer to the reference), is a clear "error" result, never a crash.

What a replayable reference call must be (the release build says which check breaks a rule):
results are plain data (numbers, strings, bytes, lists, tuples, dicts, sets, numpy arrays and
scalars, torch tensors, sizes and dtypes) or objects used only through attribute reads and calls;
arguments are never changed in place, except random generators (torch, numpy, `random`), whose
state after the call is recorded and restored.
"""
from __future__ import annotations

import base64
import builtins
import gzip
import hashlib
import importlib.util
import io
import json
import math
import random
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from .check import ProbeFailed
from .config import ROOT

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"
INDEX = "index.json"
FORMAT = 1

_RECORD: dict | None = None          # (lecture, check id, check seed) -> events, while recording
_REPLAY_DIR: Path | None = None      # force replay from this folder (release self-check, tests)


class NoReference(ProbeFailed):
    """No reference code in this build and no precomputed answer for this check and seed."""

    def __init__(self, message: str):
        super().__init__("error", message)


class OracleError(Exception):
    """A reference call cannot be recorded for the student release; the message says why."""


# -- the real reference ---------------------------------------------------------------------
def has_reference(package: str) -> bool:
    return (ROOT / "reference" / package / "__init__.py").is_file()


@cache
def _import(package: str, module: str | None) -> ModuleType:
    """Import `reference/<package>[/<module>]` under a private name (never the student's)."""
    pkg_dir = ROOT / "reference" / package
    if not has_reference(package):
        raise NoReference(f"no reference/{package} in this build")
    alias = f"_zth_reference_{package}"
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, pkg_dir / "__init__.py",
                                                      submodule_search_locations=[str(pkg_dir)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[alias] = mod
        spec.loader.exec_module(mod)
    return importlib.import_module(f"{alias}.{module}") if module else sys.modules[alias]


@cache
def reference(package: str, module: str | None = None) -> _Module:
    """The reference `package[.module]` as an oracle (see the module docstring for the modes)."""
    return _Module(package, module)


class _Module:
    def __init__(self, package: str, module: str | None):
        self._package, self._module = package, module
        self._name = f"{package}.{module}" if module else package

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if _RECORD is not None and _context() is not None:
            return _Recorded(_import(self._package, self._module), self._name)._get(attr)
        if _REPLAY_DIR is None and has_reference(self._package):
            return getattr(_import(self._package, self._module), attr)
        return _Replayed(self._name)._get(attr)

    def __repr__(self) -> str:
        return f"<reference {self._name}>"


# -- the check being graded -----------------------------------------------------------------
class _Episode:
    """The oracle's log for one check run (one Context): recorded events or a replay cursor."""

    def __init__(self, events: list, key: tuple):
        self.events, self.key, self.pos, self.handles = events, key, 0, 0


def _context():
    """The `Context` of the check that is calling (found on the stack: checks take `ctx`)."""
    from .check import Context
    frame = sys._getframe(2)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, Context):
                return value
        frame = frame.f_back
    return None


def _episode(recording: bool) -> _Episode:
    ctx = _context()
    if ctx is None:
        raise NoReference("the reference oracle was used outside a check")
    ep = ctx.__dict__.get("_zth_oracle")
    if ep is None:
        key = (ctx.lecture, ctx.cfg.id, ctx.seed)
        if recording:
            ep = _Episode([], key)
            _RECORD[key] = ep.events
        else:
            ep = _Episode(_load(ctx.lecture, ctx.cfg.id, ctx.seed), key)
        ctx.__dict__["_zth_oracle"] = ep
    return ep


# -- recording ------------------------------------------------------------------------------
class _Recorded:
    """The real object, with every call and attribute read logged for the release."""

    def __init__(self, target, name: str):
        self._target, self._name = target, name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._get(attr)

    def _get(self, attr: str):
        value = getattr(self._target, attr)
        name = f"{self._name}.{attr}"
        if callable(value):
            return _Recorded(value, name)
        ep = _episode(True)
        enc, live = _capture(value, ep)
        ep.events.append({"op": "get", "name": name, "value": enc})
        return live

    def __call__(self, *args, **kwargs):
        ep = _episode(True)
        call = (args, kwargs)
        fingerprint = _fingerprint(call)
        before = _fingerprint(call, rngs=False)
        event = {"op": "call", "name": self._name, "args": fingerprint}
        try:
            result = self._target(*_unwrap(args), **_unwrap(kwargs))
        except Exception as e:
            ep.events.append({**event, "raises": [type(e).__name__, str(e)]})
            raise
        if _fingerprint(call, rngs=False) != before:
            raise OracleError(f"{ep.key[1]}: the reference call {self._name}(...) changed its "
                              "arguments in place, which the student release cannot replay; "
                              "pass it copies or use what it returns")
        enc, live = _capture(result, ep)
        event["result"] = enc
        if rngs := _rngs(call):
            event["rngs"] = [_capture(_rng_state(g), ep)[0] for g in rngs]
        ep.events.append(event)
        return live

    def __repr__(self) -> str:
        return f"<reference {self._name}: {self._target!r}>"


def _unwrap(x):
    """The real objects behind handles passed back to the reference (containers are rebuilt
    only when they hold a handle, so an argument stays the check's own object otherwise)."""
    if isinstance(x, _Recorded):
        return x._target
    if type(x) in (list, tuple) and any(_has_handle(v) for v in x):
        return type(x)(_unwrap(v) for v in x)
    if type(x) is dict and any(_has_handle(v) for v in x.values()):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _has_handle(x) -> bool:
    if isinstance(x, _Recorded):
        return True
    if type(x) in (list, tuple):
        return any(_has_handle(v) for v in x)
    return type(x) is dict and any(_has_handle(v) for v in x.values())


# -- replay ---------------------------------------------------------------------------------
class _Replayed:
    """Answers the calls a check makes from the data recorded when the release was built."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._get(attr)

    def _get(self, attr: str):
        name = f"{self._name}.{attr}"
        ep = _episode(False)
        if ep.pos < len(ep.events):
            event = ep.events[ep.pos]
            if event["op"] == "get" and event["name"] == name:
                ep.pos += 1
                return _restore(event["value"])
        return _Replayed(name)

    def __call__(self, *args, **kwargs):
        ep = _episode(False)
        call = (args, kwargs)
        event = ep.events[ep.pos] if ep.pos < len(ep.events) else None
        if event is None or event["op"] != "call" or event["name"] != self._name:
            raise _diverged(ep, f"{self._name}(...)")
        if event["args"] != _fingerprint(call):
            raise _diverged(ep, f"{self._name}(...) with other arguments")
        ep.pos += 1
        if "raises" in event:
            kind, message = event["raises"]
            exc = getattr(builtins, kind, None)
            raise (exc if isinstance(exc, type) and issubclass(exc, Exception)
                   else RuntimeError)(message)
        for g, state in zip(_rngs(call), event.get("rngs", [])):
            _set_rng_state(g, _restore(state))
        return _restore(event["result"])

    def __repr__(self) -> str:
        return f"<recorded reference {self._name}>"


def _diverged(ep: _Episode, what: str) -> NoReference:
    return NoReference(
        f"this check compares with the reference solution, which the student release does not "
        f"ship; its answers were precomputed for the calls the reference solution makes, but "
        f"this run asked for {what}. The instructor's grader grades this check in full")


def _load(lecture: str, check_id: str, seed: int) -> list:
    events = _stored(_REPLAY_DIR or EXPECTED_DIR, lecture).get(check_id, {}).get(str(seed))
    if events is None:
        seeds = ", ".join(str(s) for s in release_seeds(_REPLAY_DIR or EXPECTED_DIR))
        raise NoReference(
            "this check compares with the reference solution, which the student release does "
            "not ship; its expected values are precomputed for the release's fixed seeds only"
            + (f" ({seeds}): run without --seed, or with one of them" if seeds else
               " and this build has none (ask your instructor for a `zth release` build)"))
    return events


@cache
def _stored(folder: Path, lecture: str) -> dict:
    f = folder / f"{lecture}.json.gz"
    if not f.is_file():
        return {}
    data = json.loads(gzip.decompress(f.read_bytes()))
    if data.get("format") != FORMAT:
        raise NoReference(f"{f}: expected data of format {FORMAT}, found {data.get('format')}")
    return data["checks"]


@cache
def release_seeds(folder: Path = EXPECTED_DIR) -> list[int]:
    """The fixed run seeds of a student release (empty in the instructor build)."""
    f = folder / INDEX
    if not f.is_file():
        return []
    return [int(s) for s in json.loads(f.read_text()).get("run_seeds", [])]


# -- modes, for `zth release` and tests -----------------------------------------------------
@contextmanager
def recording():
    """Log every reference call made by checks; yields {(lecture, check id, seed): events}."""
    global _RECORD
    _RECORD = {}
    try:
        yield _RECORD
    finally:
        _RECORD = None


@contextmanager
def replaying(folder: Path):
    """Answer reference calls from `folder` (as a release would), even where reference/ exists."""
    global _REPLAY_DIR
    _REPLAY_DIR = Path(folder)
    _stored.cache_clear()
    release_seeds.cache_clear()
    try:
        yield
    finally:
        _REPLAY_DIR = None
        _stored.cache_clear()
        release_seeds.cache_clear()


def write_store(folder: Path, recorded: dict, run_seeds: list[int], keep: set[str],
                meta: dict) -> list[Path]:
    """Write the recorded events of the check ids in `keep` as `<lecture>.json.gz` + index."""
    folder.mkdir(parents=True, exist_ok=True)
    by_lecture: dict[str, dict] = {}
    for (lecture, check_id, seed), events in sorted(recorded.items()):
        if check_id in keep and events:
            by_lecture.setdefault(lecture, {}).setdefault(check_id, {})[str(seed)] = events
    written = []
    for lecture, checks in sorted(by_lecture.items()):
        text = json.dumps({"format": FORMAT, "lecture": lecture, "checks": checks},
                          sort_keys=True, separators=(",", ":"))
        f = folder / f"{lecture}.json.gz"
        f.write_bytes(gzip.compress(text.encode(), mtime=0))
        written.append(f)
    index = {"format": FORMAT, "run_seeds": list(run_seeds), **meta,
             "lectures": {lid: sorted(checks) for lid, checks in sorted(by_lecture.items())}}
    (folder / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return [*written, folder / INDEX]


# -- plain data <-> JSON --------------------------------------------------------------------
def _npy(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode()


def _from_npy(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _capture(x, ep: _Episode):
    """(JSON encoding, value handed to the check) of something the reference returned."""
    t = type(x)
    torch = sys.modules.get("torch")
    if x is None or t in (bool, int, str):
        return x, x
    if t is float:
        return (x if math.isfinite(x) else {"__float": repr(x)}), x
    if t in (list, tuple, set, frozenset):   # (a namedtuple stays an object: see below)
        pairs = [_capture(v, ep) for v in x]
        enc = [e for e, _ in pairs]
        live = t(v for _, v in pairs)
        return (enc if t is list else {f"__{t.__name__}": enc}), live
    if isinstance(x, dict):   # Counter, defaultdict, OrderedDict: compared as plain dicts
        pairs = [(_capture(k, ep), _capture(v, ep)) for k, v in x.items()]
        return ({"__dict": [[k[0], v[0]] for k, v in pairs]},
                {k[1]: v[1] for k, v in pairs})
    if t is bytes:
        return {"__bytes": base64.b64encode(x).decode()}, x
    if t is np.ndarray or isinstance(x, np.generic):
        if np.asarray(x).dtype.hasobject:
            raise OracleError(f"{ep.key[1]}: the reference returned an object array, which the "
                              "student release cannot store; return numbers")
        return {"__nd" if t is np.ndarray else "__np": _npy(np.asarray(x))}, x
    if torch is not None and isinstance(x, torch.Tensor):
        t_ = x.detach().cpu()
        enc = {"__pt": _npy((t_.float() if t_.dtype == torch.bfloat16 else t_).numpy()),
               "dtype": str(t_.dtype).removeprefix("torch."), "grad": x.requires_grad}
        # the check gets what a replay would give it: the values, without autograd history
        return enc, t_.clone().requires_grad_(x.requires_grad)
    if torch is not None and t is torch.Size:
        return {"__size": list(x)}, x
    if torch is not None and t is torch.dtype:
        return {"__dtype": str(x).removeprefix("torch.")}, x
    name = f"#{ep.handles}"
    ep.handles += 1
    return {"__obj": name}, _Recorded(x, name)


def _restore(enc):
    if enc is None or type(enc) in (bool, int, float, str):
        return enc
    if type(enc) is list:
        return [_restore(v) for v in enc]
    (tag, value), = ((k, v) for k, v in enc.items() if k.startswith("__"))
    if tag == "__float":
        return float(value)
    if tag in ("__tuple", "__set", "__frozenset"):
        return {"__tuple": tuple, "__set": set, "__frozenset": frozenset}[tag](
            _restore(v) for v in value)
    if tag == "__dict":
        return {_restore(k): _restore(v) for k, v in value}
    if tag == "__bytes":
        return base64.b64decode(value)
    if tag == "__nd":
        return _from_npy(value)
    if tag == "__np":
        return _from_npy(value)[()]
    if tag == "__obj":
        return _Replayed(value)
    import torch
    if tag == "__pt":
        out = torch.from_numpy(_from_npy(value).copy()).to(getattr(torch, enc["dtype"]))
        return out.requires_grad_() if enc.get("grad") else out
    if tag == "__size":
        return torch.Size(value)
    if tag == "__dtype":
        return getattr(torch, value)
    raise ValueError(f"unknown tag {tag} in the expected data")


# -- argument fingerprints and random generators --------------------------------------------
def _fingerprint(x, rngs: bool = True) -> str:
    h = hashlib.sha256()
    _feed(x, h, rngs)
    return h.hexdigest()[:24]


def _feed(x, h, rngs: bool) -> None:
    torch = sys.modules.get("torch")
    t = type(x)
    if isinstance(x, (_Recorded, _Replayed)):
        h.update(b"P" + x._name.encode())
    elif x is None or t in (bool, int, float, complex, str, bytes):
        h.update(f"{t.__name__}:{x!r};".encode())
    elif isinstance(x, (list, tuple)):
        h.update(f"{t.__name__}[{len(x)}".encode())
        for v in x:
            _feed(v, h, rngs)
        h.update(b"]")
    elif isinstance(x, dict):
        h.update(f"dict{{{len(x)}".encode())
        for k, v in x.items():
            _feed(k, h, rngs)
            _feed(v, h, rngs)
        h.update(b"}")
    elif isinstance(x, (set, frozenset)):
        h.update(f"set{sorted(repr(v) for v in x)!r}".encode())
    elif isinstance(x, (np.ndarray, np.generic)):
        a = np.asarray(x)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(repr(a.tolist()).encode() if a.dtype.hasobject else a.tobytes())
    elif torch is not None and isinstance(x, torch.Tensor):
        a = x.detach().cpu()
        a = a.float() if a.dtype == torch.bfloat16 else a
        h.update(f"pt{x.dtype}{tuple(a.shape)}".encode() + a.numpy().tobytes())
    elif _is_rng(x):
        if rngs:
            h.update(b"rng")
            _feed(_rng_state(x), h, rngs)
    else:
        h.update(f"obj:{t.__module__}.{t.__qualname__};".encode())


def _is_rng(x) -> bool:
    torch = sys.modules.get("torch")
    return (isinstance(x, (np.random.Generator, np.random.RandomState, random.Random))
            or (torch is not None and isinstance(x, torch.Generator)))


def _rngs(x) -> list:
    """The random generators among a call's arguments, in a fixed order."""
    if _is_rng(x):
        return [x]
    if type(x) in (list, tuple):
        return [g for v in x for g in _rngs(v)]
    if type(x) is dict:
        return [g for v in x.values() for g in _rngs(v)]
    return []


def _rng_state(g):
    if isinstance(g, np.random.Generator):
        return json.dumps(g.bit_generator.state, sort_keys=True)
    if isinstance(g, np.random.RandomState):
        return g.get_state()
    if isinstance(g, random.Random):
        return g.getstate()
    return g.get_state()


def _set_rng_state(g, state) -> None:
    if isinstance(g, np.random.Generator):
        g.bit_generator.state = json.loads(state)
    elif isinstance(g, np.random.RandomState):
        g.set_state(state)
    elif isinstance(g, random.Random):
        g.setstate(state)
    else:
        g.set_state(state)
