"""The parent's side of a worker: start it in an isolation layer (layers.py), talk to it only
through framed plain data (worker/wire.py), and turn every way it can fail (a timeout, a crash,
a reply too large or not a reply) into a `Reply` a student can read. Fail closed: a worker that
misbehaved once is never trusted again.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..snapshot import copy_tree
from ..worker import wire
from .layers import NOBODY, launch_command
from .layout import layout_worker

STATUSES = {"ok", "not_implemented", "missing", "error", "policy", "import_error"}
BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from zth_worker.main import serve; serve(sys.argv[2])")


def worker_env(home: str, extra: dict[str, str]) -> dict[str, str]:
    """The whole environment a worker gets (nothing of the grader's leaks in)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "TMPDIR": home,
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **extra}
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


class _Capture(threading.Thread):
    """Drain a pipe forever, keeping only its head and tail (student code may print 100 MB)."""

    def __init__(self, stream, keep: int):
        super().__init__(daemon=True)
        self.stream, self.keep = stream, keep
        self.head = b""
        self.tail = b""
        self.total = 0
        self.start()

    def run(self):
        try:
            while chunk := self.stream.read1(1 << 16):
                self.total += len(chunk)
                if len(self.head) < self.keep:
                    self.head += chunk[: self.keep - len(self.head)]
                self.tail = (self.tail + chunk)[-self.keep:]
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        if self.total <= self.keep:
            return self.head.decode(errors="replace")
        return self.tail.decode(errors="replace")


class CallbackRefused(Exception):
    """A callback handler rejects the worker's arguments: the message goes back to the worker,
    where the probe's call raises it (the parent has already logged the call)."""


class _TooManyCallbacks(Exception):
    pass


@dataclass
class Reply:
    status: str              # ok | not_implemented | missing | error | policy | import_error
    value: object = None     #   | timeout | crashed | bad_reply
    message: str = ""


@dataclass
class WorkerSpec:
    lecture: str
    package: str
    package_dir: Path
    memory_mb: int
    output_kb: int
    reply_mb: int
    forbid: list[str] = field(default_factory=list)
    policy_message: str = ""
    preload: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    binds: list[str] = field(default_factory=list)
    bounds: wire.Bounds = wire.DEFAULT    # what one reply's JSON may hold (course.yaml limits)


class Worker:
    """One sandboxed process serving many probes of one lecture; respawned after a crash."""

    def __init__(self, spec: WorkerSpec, layer: str, server=None):
        self.spec, self.layer = spec, layer
        self.server = server                  # a fork server (server.py) to ask, or None: cold
        self.lease = server is not None       # ours until close() hands it back, once
        self.seen = ""                        # the slot's path as the worker sees it
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.next_id = 0
        self.spawns = 0
        self.imported = False                 # the student's package was imported (op import)
        self.broken: Reply | None = None     # set when importing the package failed
        self.silent = False                   # the last request got no byte of reply
        self.confinement: list[str] = []      # what the worker reported it could apply

    # -- life cycle -------------------------------------------------------------------------
    def _prepare(self) -> None:
        if self.server is not None:      # the runtime is the server's; only the slot is ours
            self.tmp, self.seen = self.server.new_slot()
        else:
            self.tmp = Path(tempfile.mkdtemp(prefix="zth-"))
            (self.tmp / "zth").mkdir()
            layout_worker(self.tmp / "zth", self.spec.lecture)
        os.chmod(self.tmp, 0o755)
        sub = self.tmp / "submission"
        sub.mkdir()
        # package_dir is in the submission's snapshot (grader/snapshot.py): regular files and
        # folders only, bounded; copied without recursion
        copy_tree(self.spec.package_dir, sub / self.spec.package)
        (self.tmp / "work").mkdir()
        for p in self.tmp.rglob("*"):
            os.chmod(p, 0o777 if p.name == "work" else (0o755 if p.is_dir() else 0o644),
                     follow_symlinks=False) if not p.is_symlink() else None
        if self.layer == "uid-drop":
            os.chown(self.tmp / "work", NOBODY, NOBODY)

    def start(self) -> None:
        """Spawn the process; it imports torch and the probes while the parent goes on
        (grading pipelines the next lecture's start-up behind the current one's checks)."""
        self.imported = False
        if self.tmp is None:
            self._prepare()
        self.spawns += 1
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        inside = self.layer == "bubblewrap"
        base = self.seen if self.server is not None else ("" if inside else str(self.tmp))
        zth = "/zth" if inside else str(self.tmp / "zth")
        root = f"{base}/submission"
        self.root = root     # the submission's path as the worker sees it (stack dumps)
        if self.server is not None:
            cwd = self.server.work_folder(self.seen)
        else:
            cwd = "/tmp" if inside else f"{base}/work"
        cfg = {"fd_in": req_r, "fd_out": rep_w, "root": root, "cwd": cwd,
               "package": self.spec.package, "lecture": self.spec.lecture,
               "memory_mb": self.spec.memory_mb, "file_mb": 64, "nproc": 64,
               "forbid": self.spec.forbid, "policy_message": self.spec.policy_message,
               "preload": self.spec.preload, "read": list(self.spec.binds)}
        env = worker_env(cwd, self.spec.env)
        keep = self.spec.output_kb * 1024
        if self.server is not None:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            try:
                self.proc = self.server.spawn(cfg, env, [req_r, rep_w, out_w, err_w])
            finally:
                for fd in (req_r, rep_w, out_w, err_w):
                    os.close(fd)
            self.out = _Capture(os.fdopen(out_r, "rb"), keep)
            self.err = _Capture(os.fdopen(err_r, "rb"), keep)
            return
        py = [sys.executable, "-I", "-c", BOOT, zth, json.dumps(cfg)]
        mounts = {str(self.tmp / "zth"): "/zth", str(self.tmp / "submission"): "/submission"}
        cmd, kwargs = launch_command(self.layer, py, env, mounts, list(self.spec.binds), "/tmp")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, pass_fds=(req_r, rep_w),
                                     start_new_session=True, cwd=str(self.tmp / "work"),
                                     **kwargs)
        os.close(req_r)
        os.close(rep_w)
        self.out = _Capture(self.proc.stdout, keep)
        self.err = _Capture(self.proc.stderr, keep)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is None:
            return
        if isinstance(self.proc, subprocess.Popen):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.proc.wait()
        else:                 # a fork server's child: the server kills its session
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.out.join(1)
        self.err.join(1)
        self.proc = None

    def close(self) -> None:
        # no polite "stop": the worker has nothing to save, and a torch interpreter takes
        # ~0.7 s to shut down by itself
        self.kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self.lease:
            self.lease = False
            self.server.release()

    # -- one request ------------------------------------------------------------------------
    def call(self, probe: str, args: dict, seed: int, timeout: float,
             callbacks: Callable[[str, object], object] | None = None,
             max_callbacks: int = 0) -> Reply:
        """Run one probe. `callbacks(name, args)` answers the probe's calls back to the parent
        (oracles the student's code calls live here, so their log is the parent's); more than
        `max_callbacks` of them fail the probe."""
        if self.broken is not None:    # the package itself cannot be imported: same answer
            return self.broken
        for attempt in (1, 2):
            fresh = False
            if self.alive() and self._stale():
                self.kill()            # it wrote more than one reply: never trust it again
            if not self.alive():
                if self.proc is not None:
                    self.kill()
                self.start()
                fresh = True
            if not self.imported:
                reply = self._request({"op": "import"}, timeout, importing=True)
                if reply.status != "ok":
                    self.broken = reply
                    self.kill()
                    return reply
                self.imported = True
                value = reply.value if type(reply.value) is dict else {}
                self.confinement = [c for c in value.get("confinement", []) if type(c) is str]
            reply = self._request({"probe": probe, "args": args, "seed": seed}, timeout,
                                  callbacks=(callbacks, max_callbacks) if callbacks else None)
            # a worker that was still exiting after its last reply (os._exit right after
            # answering) dies before reading this request: ask a fresh one, once
            if reply.status == "crashed" and self.silent and not fresh and attempt == 1:
                continue
            return reply
        raise AssertionError("unreachable")

    def _stale(self) -> bool:
        ready, _, _ = select.select([self.rep_r], [], [], 0)
        return bool(ready)

    def _request(self, message: dict, timeout: float, importing: bool = False,
                 callbacks: tuple | None = None) -> Reply:
        self.next_id += 1
        rid = self.next_id
        deadline = time.monotonic() + timeout
        try:
            # the worker dumps its stack a little before the deadline (where a timeout stopped
            # it); it may still be starting up, so it gets the deadline itself (one clock)
            data = wire.frame(wire.encode({"id": rid, "timeout": timeout, "deadline": deadline,
                                           **message}))
        except wire.WireError as e:
            return Reply("error", message=f"grader bug: cannot encode request: {e}")
        threading.Thread(target=self._send, args=(data,), daemon=True).start()
        during = " while importing your package" if importing else ""
        try:
            payload = self._read_reply(deadline, rid, callbacks)
        except _TooManyCallbacks as e:
            self.kill()
            return Reply("error", message=str(e))
        except TimeoutError:
            self.kill()
            where = stopped_at(self.err.text(), getattr(self, "root", ""))
            if importing:
                return Reply("timeout", message=f"importing your package timed out after "
                             f"{timeout:g} s{where} (does a module run something slow or endless "
                             "at import time, outside any function?)")
            return Reply("timeout", message=f"timed out after {timeout:g} s{where} (is there an "
                         "infinite loop, or is your code much slower than it needs to be?)")
        except EOFError:
            return self._crashed(during)
        except wire.WireError as e:
            return self._bad(during, str(e) if "larger than" in str(e) else "")
        try:
            reply = wire.decode(payload, self.spec.bounds)
        except wire.WireError as e:
            if e.bound:     # a reply past a bound: the student's code returned too much
                self.kill()
                return Reply("bad_reply", message=f"this check's reply was refused{during}: {e}."
                             " Does your code return far more, or far deeper nested, data than "
                             "the exercise asks for?")
            return self._bad(during)
        finally:
            del payload     # its arrays keep what they view; the rest goes now
        if (type(reply) is not dict or reply.get("id") != rid
                or reply.get("status") not in STATUSES):
            return self._bad(during)
        msg = reply.get("message", "")
        return Reply(reply["status"], reply.get("value"), msg if type(msg) is str else "")

    def _read_reply(self, deadline: float, rid: int, callbacks: tuple | None) -> bytes:
        """The reply's bytes, answering on the way each callback the probe sends: a message
        {"id", "op": "callback", "name", "args"} gets {"id", "op": "answer", "value"} (or
        "error": the handler refused the arguments), and the worker waits for it. Anything else
        is the reply, decoded and judged by the caller."""
        count = 0
        while True:
            payload = self._read(deadline)
            if callbacks is None:
                return payload
            try:
                msg = wire.decode(payload, self.spec.bounds)
            except wire.WireError:
                return payload
            if type(msg) is not dict or msg.get("op") != "callback" or msg.get("id") != rid:
                return payload
            handler, limit = callbacks
            count += 1
            name = msg.get("name") if type(msg.get("name")) is str else "?"
            if count > limit:
                raise _TooManyCallbacks(f"your code called the grader's `{name[:40]}` more than "
                                        f"{limit} times in one check (the limit)")
            answer = {"id": rid, "op": "answer"}
            try:
                answer["value"] = handler(name, msg.get("args"))
            except CallbackRefused as e:
                answer["error"] = str(e)
            except BaseException:
                self.kill()      # the worker waits for an answer that will never come
                raise
            threading.Thread(target=self._send, args=(wire.frame(wire.encode(answer)),),
                             daemon=True).start()

    def _bad(self, during: str, why: str = "") -> Reply:
        # one message whatever the bytes were: what a student wrote on the channel, and when,
        # must not make two runs with the same seed differ
        self.kill()
        return Reply("bad_reply", message=f"the grader's channel carried something other than "
                     f"this check's reply{during}{f' ({why})' if why else ''}: did your code "
                     "write to the grader's channel (a file descriptor it did not open)?")

    def _send(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.req_w, view):]
        except OSError:
            pass

    def _read(self, deadline: float) -> bytearray:
        """One framed reply, read straight into a buffer of its announced size (checked against
        reply_mb first): one copy of the bytes in the parent, which decoding's arrays then view.
        Bytes after it stay in the pipe, where `_stale` finds them before the next request."""
        cap = self.spec.reply_mb * 1024 * 1024
        self.silent = True
        head = bytearray(8)
        self._fill(memoryview(head), deadline)
        n = int.from_bytes(head, "big")
        if n > cap:
            raise wire.WireError(f"reply larger than {self.spec.reply_mb} MB")
        buf = bytearray(n)
        self._fill(memoryview(buf), deadline)
        return buf

    def _fill(self, view: memoryview, deadline: float) -> None:
        pos = 0
        while pos < len(view):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.rep_r], [], [], left)
            if not ready:
                raise TimeoutError
            got = os.readv(self.rep_r, [view[pos:pos + (1 << 20)]])
            if not got:
                raise EOFError
            self.silent = False
            pos += got

    def _crashed(self, during: str = "") -> Reply:
        try:           # the channel closed: the worker is gone, or closed it and lives on
            code = self.proc.wait(5) if self.proc else None
        except subprocess.TimeoutExpired:
            code = None
        exact = getattr(self.proc, "exact_status", False)     # kill() forgets the process
        self.kill()
        if (self.layer == "bubblewrap" and not exact
                and code is not None and 128 < code < 160):
            code = 128 - code       # bwrap's init reports a signal death as 128 + signal
        if code is None:
            why = "closed the grader's channel and kept running (it was stopped)"
        elif code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            why = f"was killed by {sig}" + {
                "SIGKILL": " (often the memory limit)",
                "SIGABRT": " (often the memory limit, or a failed assertion in C code)",
                "SIGSEGV": " (often infinitely deep recursion, or a bug in C code)",
                "SIGBUS": " (often the memory limit)",
                "SIGXFSZ": " (it wrote a file larger than the limit)"}.get(sig, "")
        else:
            why = f"exited with code {code}"
            if code == 0:
                why += " (did your code call os._exit or close the grader's channel?)"
        last = _tail(self.err.text())
        return Reply("crashed", message=f"the worker process {why}{during}" +
                     (f"\nlast lines of stderr:\n{last}" if last else ""))


_DUMP_FRAME = re.compile(r'^\s+File "(.+)", line (\d+) in (\S+)$')


def stopped_at(err: str, root: str) -> str:
    """", stopped at micrograd/engine.py:42 in backward": the student's innermost frame in the
    last stack dump the worker wrote to stderr before its deadline (faulthandler), or ""."""
    start = err.rfind("Timeout (")
    if start < 0 or not root:
        return ""
    found = ""
    for block in re.split(r"\n(?=(?:Current thread|Thread) 0x)", err[start:]):
        frames = [m for m in (_DUMP_FRAME.match(line) for line in block.splitlines()
                              if len(line) < 2000) if m]
        mine = [m for m in frames if m.group(1).startswith(root + "/")]
        if mine:   # most recent call first
            m = mine[0]
            where = f", stopped at {m.group(1)[len(root) + 1:]}:{m.group(2)} in {m.group(3)}"
            if any("/zth_worker/main.py" in f.group(1) for f in frames):
                return where  # the thread that serves the grader's requests
            found = found or where
    return found


def _tail(text: str, n: int = 8) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])
