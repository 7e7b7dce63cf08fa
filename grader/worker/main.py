"""The worker: imports one student package and answers probe requests until told to stop.

Runs inside the sandbox as `python -I -c "...zth_worker.main.serve(...)"`. Before any student
code runs it applies its rlimits, confines itself for good (confine.py: seccomp, landlock, no
capabilities) and adds its audit hook (import policy, no processes). Then it loops: read a
request from the protocol fd, import the package (op "import") or call a probe, write back plain
data. It never decides a score.
"""
from __future__ import annotations

import faulthandler
import gc
import importlib
import json
import os
import resource
import sys
import time
import traceback

from . import confine, wire
from . import probes as probe_runtime
from .probes import ImportFailed, Missing, PolicyViolation, WrongType, registry

# audit events that start or signal other processes: blocked with a message a student can read
# (the seccomp filter in confine.py is the real wall; this only explains it)
PROCESS_EVENTS = {"os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn",
                  "subprocess.Popen", "os.killpg"}


class Policy:
    """Import policy enforced with an audit hook (hooks cannot be removed once added)."""

    def __init__(self, forbid: list[str], message: str):
        self.forbid = set(forbid)
        self.message = message
        self.violations: list[str] = []

    def hook(self, event, args):
        if event == "import" and self.forbid:
            top = str(args[0]).split(".")[0]
            if top in self.forbid:
                note = f"imported {top}"
                if note not in self.violations:
                    self.violations.append(note)
                raise PolicyViolation(f"{self.message} (tried to import {top!r})")
        elif event in PROCESS_EVENTS or (event == "os.kill" and args[0] != os.getpid()):
            raise PolicyViolation(f"the grader's sandbox does not let your code start or signal "
                                  f"other processes ({event.replace('.Popen', '')})")


def _limit(kind, value):
    try:
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


MESSAGE_CHARS = 16_000   # of an exception's message sent back (the parent cuts to 4 kB anyway)
FRAMES = 8               # of the student's own frames shown, innermost last


def describe(exc: BaseException, root: str, file: str = "") -> str:
    """What went wrong, in the student's words: the exception, then the student's own frames
    only (the grader's, importlib's and libraries' frames dropped), paths relative to the
    submission. The first line says what it was, for one-line views (JUnit, the log)."""
    if isinstance(exc, SystemExit):
        return f"your code called sys.exit({_short(repr(exc.code), 200)})"
    if isinstance(exc, KeyboardInterrupt):
        return "your code raised KeyboardInterrupt"
    if isinstance(exc, MemoryError):
        return "MemoryError: the worker ran out of its memory limit"
    if isinstance(exc, RecursionError):
        what = "RecursionError: maximum recursion depth exceeded"
        return _placed(what, exc, root, file) + _where(exc, root)
    if isinstance(exc, WrongType):
        return _short(str(exc), MESSAGE_CHARS)
    if isinstance(exc, SyntaxError) and _mine(exc.filename or "", root):
        # the offending line and the caret, as Python shows them, without importlib's frames
        shown = traceback.format_exception_only(exc)
        body = "".join(shown[:-1]).rstrip("\n").replace(f'File "{root}/', 'File "')
        rel = _rel(exc.filename, root)
        place = f"line {exc.lineno}" if rel == file else f"{rel}, line {exc.lineno}"
        return f"{type(exc).__name__}: {_short(str(exc.msg), 500)} ({place})\n{body}"
    try:
        what = "".join(traceback.format_exception_only(exc)).rstrip("\n")
    except Exception:  # noqa: BLE001 - a __str__ that raises is the student's too
        what = f"{type(exc).__name__}: <its message could not be shown>"
    what = _short(what.replace(root + "/", ""), MESSAGE_CHARS)
    frames = traceback.extract_tb(exc.__traceback__)
    inner = next((f for f in reversed(frames) if _mine(f.filename, root) or _ours(f.filename)),
                 None)
    if inner is not None and _ours(inner.filename):
        # our probe, not the student's code, raised: on something the student's code returned.
        # A `raise` of the probe's own says what it expected in words meant for the student
        if (inner.line or "").lstrip().startswith("raise "):
            return what
        return (f"{what}\nraised by the grader while using what your code returned (in its "
                f"probe {inner.name}): check the types and values your functions return")
    return _placed(what, exc, root, file) + _where(exc, root)


def _placed(what: str, exc: BaseException, root: str, file: str) -> str:
    """`what` with where in the student's code it went wrong on its first line: the function
    the grader called (the entry point, where the bug usually is: generate passing too long a
    context) and, if not the same, the function that was running when it raised (`In
    GPTLanguageModel.generate → forward (gpt/model.py:198): ...`). A module's own code reads
    `At file:line: ...`, or `... (line N)` when the message names that module already (`x.py
    failed to import: `), as for a syntax error."""
    mine = []
    tb = exc.__traceback__
    while tb is not None:
        if _mine(tb.tb_frame.f_code.co_filename, root):
            mine.append(tb)
        tb = tb.tb_next
    if not mine:
        return what

    def name(t) -> str:
        code = t.tb_frame.f_code
        q = getattr(code, "co_qualname", code.co_name).split(".<locals>.")[0]
        return _rel(code.co_filename, root) if q == "<module>" else q

    outer, inner = name(mine[0]), name(mine[-1])
    where = _rel(mine[-1].tb_frame.f_code.co_filename, root)
    if inner == outer == where:                  # a module's own code (an import)
        if where == file:
            first, nl, rest = what.partition("\n")
            return f"{first} (line {mine[-1].tb_lineno}){nl}{rest}"
        return f"At {where}:{mine[-1].tb_lineno}: {what}"
    if inner != outer:
        # the inner one by its own name when it is a method of the same class (the entry point
        # names the class already)
        cls = outer.rpartition(".")[0]
        outer += " → " + (inner.rpartition(".")[2] if cls and inner.startswith(cls + ".")
                          else inner)
    return f"In {outer} ({where}:{mine[-1].tb_lineno}): {what}"


def _where(exc: BaseException, root: str) -> str:
    mine = [f for f in traceback.extract_tb(exc.__traceback__) if _mine(f.filename, root)]
    if not mine:
        return ""
    skipped = len(mine) - FRAMES
    mine = mine[-FRAMES:]
    lines = "".join(traceback.StackSummary.from_list(mine).format())
    lines = lines.replace(f'File "{root}/', 'File "').rstrip("\n")
    head = "\nTraceback (your code only, most recent call last):\n"
    if skipped > 0:
        head += f"  ... {skipped} earlier frames of your code\n"
    return head + lines


def _origin(exc: BaseException, root: str) -> str:
    """The student's file whose import raised `exc` (a syntax error's file, or the innermost
    module body of the student's that was running), or ""."""
    if isinstance(exc, SyntaxError) and _mine(exc.filename or "", root):
        return _rel(exc.filename, root)
    bodies = [f for f in traceback.extract_tb(exc.__traceback__)
              if _mine(f.filename, root) and f.name == "<module>"]
    return _rel(bodies[-1].filename, root) if bodies else ""


def _mine(filename: str, root: str) -> bool:
    return filename.startswith(root + "/")


def _ours(filename: str) -> bool:
    return "/zth_worker/" in filename


def _rel(filename: str, root: str) -> str:
    return filename[len(root) + 1:] if _mine(filename, root) else filename


def _short(s: str, n: int) -> str:
    if len(s) <= n:
        return s
    return f"{s[: n * 3 // 4]}\n… {len(s) - n} characters cut\n{s[-(n // 4):]}"


def confinement_paths(cfg: dict) -> tuple[list[str], list[str]]:
    """What student code may still read (Python, worker, submission) and write (its temp dir)."""
    import sysconfig
    read = {"/usr", "/etc/ld.so.cache", "/dev/null", "/dev/zero", "/dev/urandom",
            "/sys/devices/system/cpu", "/proc/cpuinfo", f"/proc/{os.getpid()}", cfg["root"],
            *cfg.get("read", ())}
    read |= {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    read |= {v for v in sysconfig.get_paths().values()}
    read |= {p for p in sys.path if p}
    return sorted(read), [cfg["cwd"], "/dev/null"]


def warm(preload: list[str]) -> None:
    """Import what every request will need before any student code runs (the fork server
    does this once for all its children: forks.py)."""
    for name in preload:
        importlib.import_module(name)
    if "torch" in preload:
        import torch
        torch.set_num_threads(1)
        # the public wrapper also imports torch._inductor (sympy, mpmath: ~1 s per worker) only
        # to tell the compiler; the worker never compiles, so set the flag itself
        set_deterministic = getattr(torch._C, "_set_deterministic_algorithms", None)
        (set_deterministic or torch.use_deterministic_algorithms)(True)
        # detect the CPU's vector kernels now, while /proc/cpuinfo is readable: the generic
        # fallback draws slightly different random numbers from the parent's torch
        torch.backends.cpu.get_cpu_capability()
    # the runtime's own objects (torch's are hundreds of thousands) are never walked by the
    # cyclic collector again (and a fork server's children keep sharing their pages)
    gc.freeze()


def serve(cfg_json: str) -> None:
    cfg = json.loads(cfg_json)
    fd_in, fd_out, root = cfg["fd_in"], cfg["fd_out"], cfg["root"]
    mem = cfg["memory_mb"] * 1024 * 1024
    _limit(resource.RLIMIT_AS, mem)
    _limit(resource.RLIMIT_DATA, mem)
    _limit(resource.RLIMIT_FSIZE, cfg["file_mb"] * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, 256)
    if os.getuid() != 0:
        _limit(resource.RLIMIT_NPROC, cfg["nproc"])
    warm(cfg["preload"])
    probes = registry(cfg["lecture"])
    confined = confine.apply(*confinement_paths(cfg)) if cfg.get("confine", True) else []
    missing = [c for c in cfg.get("require", ()) if c not in confined]
    if missing:     # a fork server's child shares its sandbox with others: fail closed
        os.write(2, f"zth worker: could not confine itself ({', '.join(missing)} unavailable): "
                 "grader bug or kernel change, not your fault\n".encode())
        os._exit(4)
    policy = Policy(cfg["forbid"], cfg["policy_message"])
    sys.addaudithook(policy.hook)
    # where the student's code is when a check runs out of time: faulthandler writes every
    # thread's stack to (a copy of) stderr shortly before the parent's deadline, and the parent
    # reads "stopped at engine.py:42 in backward" from the stderr tail
    stack_fd = os.dup(2)
    sys.path.insert(0, root)
    os.chdir(cfg["cwd"])
    while True:
        try:
            req = wire.read_message(fd_in)
        except (EOFError, wire.WireError):
            return
        if type(req) is not dict or req.get("op") == "stop":
            return
        reply = {"id": req.get("id")}
        _watch(stack_fd, req.get("timeout"), req.get("deadline"))
        try:
            if req.get("op") == "import":
                # the parent asks for this first, under the timeout, so that an import that
                # hangs, crashes or fails is found once instead of once per check
                try:
                    importlib.import_module(cfg["package"])
                except BaseException as e:
                    if isinstance(e, (NotImplementedError, PolicyViolation)):
                        raise
                    reply.update(status="import_error", message="your package failed to "
                                 "import: " + describe(e, root))
                else:
                    reply.update(status="ok", value={"confinement": confined})
            else:
                fn = probes.get(req["probe"])
                if fn is None:
                    raise LookupError(f"grader bug (not your fault): no probe {req['probe']!r}")
                _seed(req["seed"])
                probe_runtime._parent = _parent(fd_in, fd_out, req.get("id"))
                value = fn(cfg["package"], **req["args"])
                reply.update(status="ok", value=value)
        except ImportFailed as e:
            # named by the file that holds the error (a module may fail because one it imports
            # does): the same error reached through two modules reads the same, and is said once
            where = _origin(e.error, root) or e.what
            reply.update(status="import_error",
                         message=f"{where} failed to import: " + describe(e.error, root, where))
        except NotImplementedError as e:
            reply.update(status="not_implemented", message=describe(e, root))
        except Missing as e:
            reply.update(status="missing", message=f"missing: {e}")
        except PolicyViolation as e:
            reply.update(status="policy", message=str(e))
        except BaseException as e:  # noqa: BLE001 - whatever student code raises is its answer
            reply.update(status="error", message=describe(e, root))
        faulthandler.cancel_dump_traceback_later()
        if policy.violations and reply.get("status") == "ok":
            reply = {"id": req["id"], "status": "policy",
                     "message": f"{policy.message} ({', '.join(policy.violations)})"}
        try:
            try:
                wire.write_message(fd_out, reply)
            except wire.WireError as e:
                wire.write_message(fd_out, {"id": req["id"], "status": "error", "message":
                                            f"the probe's result could not be sent: {e}"})
        except OSError as e:
            sys.stderr.write(f"zth worker: cannot write to the grader's channel ({e.strerror}): "
                             "did your code close or redirect file descriptors?\n")
            sys.stderr.flush()
            os._exit(3)


def _parent(fd_in: int, fd_out: int, rid):
    """The probe's line to the parent (`probes.callback`): send the call, wait for the answer."""
    def ask(name: str, args: dict):
        wire.write_message(fd_out, {"id": rid, "op": "callback", "name": name, "args": args})
        answer = wire.read_message(fd_in)
        if type(answer) is not dict or answer.get("id") != rid or answer.get("op") != "answer":
            raise RuntimeError("grader bug (not your fault): a malformed answer to a callback")
        if "error" in answer:
            raise TypeError(str(answer["error"]))
        return answer.get("value")
    return ask


def _watch(fd: int, timeout, deadline) -> None:
    """Dump the stacks to `fd` a little before the parent's deadline for this request (the
    parent's monotonic clock is this one: the sandbox shares the host's time namespace)."""
    if type(timeout) not in (int, float) or not 0 < timeout < 1e6:
        return
    margin = min(0.5, 0.1 * timeout)
    delay = timeout - margin
    if type(deadline) is float and 0 < deadline - time.monotonic() <= timeout:
        delay = deadline - time.monotonic() - margin
    try:
        faulthandler.dump_traceback_later(max(delay, 0.01), file=fd)
    except (OSError, ValueError, RuntimeError):
        pass


def _seed(seed: int) -> None:
    import random
    random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
