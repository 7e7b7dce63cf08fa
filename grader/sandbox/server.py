"""The parent's side of the fork server (worker/forks.py): pre-warmed workers for batches.

A cold worker pays interpreter start-up and `import torch` (~1.3 s) once per lecture per
submission. A fork server pays it once per lecture per run: it starts in the same isolation
layer as a cold worker would, warms up, and forks one fresh child per submission; the child
confines itself before it loads any student code. What keeps one submission from another when
they share a sandbox:
  - every child is a fresh fork of a server that never ran student code: no module globals,
    environment, threads or open files of an earlier submission exist in it;
  - each child reads only its own slot's submission and writes only its own work folder
    (Landlock; a child that could not apply Landlock and seccomp exits before loading anything);
    the parent wipes the slot when the worker closes. Under bubblewrap the work folder is on the
    sandbox's own size-capped tmpfs (/tmp/w<n>, made and wiped by the server around each child:
    the slots are read-only there), so a submission's disk use is bounded as in a cold worker;
  - a server is leased to one worker at a time (Pool.get, ForkServer.release): a submission
    filling that tmpfs can starve no other one; a second submission of the same lecture
    graded alongside (--jobs) gets a second server;
  - seccomp: no fork/exec, no signals or ptrace aimed at any other process;
  - the child's session is killed when it ends, and it dies with its server.
`ZTH_WARM=0` turns it off (every worker cold, as before); it is off by itself where the kernel
has no Landlock.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from ..lectures import SANDBOXED
from ..worker import confine
from . import layout
from .layers import launch_command

BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from zth_worker.forks import serve_forks; serve_forks(sys.argv[2])")
REQUIRE = ["landlock", "seccomp"]     # what a child must have applied before it loads student code
MAX_IDLE = 8                          # servers kept when none of their children is running
GONE = -9                             # a child's status when its server went away


class ForkedProcess:
    """A child of the fork server, seen as much like a `subprocess.Popen` as the client needs."""
    exact_status = True     # its status is the child's own (no bwrap init between)

    def __init__(self, server: ForkServer, rid: int):
        self.server, self.rid = server, rid
        self.returncode: int | None = None
        self._done = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired("fork-server child", timeout)
        return self.returncode

    def kill(self) -> None:
        self.server.kill(self.rid)

    def _exited(self, status: int) -> None:
        if self.returncode is None:
            self.returncode = status
        self._done.set()


class ForkServer:
    def __init__(self, layer: str, lecture: str, preload: list[str], env: dict[str, str],
                 binds: list[str]):
        self.layer = layer
        self.spool = Path(tempfile.mkdtemp(prefix="zth-fork-"))
        os.chmod(self.spool, 0o755)
        layout.layout_worker(self.spool / "zth", lecture)
        (self.spool / "slots").mkdir()
        for p in [self.spool / "slots", *(self.spool / "zth").rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        inside = layer == "bubblewrap"
        self.slots_seen = "/slots" if inside else str(self.spool / "slots")
        self.scratch = inside         # work folders on the sandbox's capped /tmp, not the slots
        self.works = 0
        self.leased = False
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = {"ctl": theirs.fileno(), "preload": preload, "lecture": lecture}
        zth = "/zth" if inside else str(self.spool / "zth")
        py = [sys.executable, "-I", "-c", BOOT, zth, json.dumps(cfg)]
        mounts = {str(self.spool / "zth"): "/zth",
                  str(self.spool / "slots"): "/slots" if inside else "/slots:rw"}
        cmd, kwargs = launch_command(layer, py, env, mounts, binds, "/tmp")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                         start_new_session=True, cwd=str(self.spool), **kwargs)
        except BaseException:
            mine.close()
            shutil.rmtree(self.spool, ignore_errors=True)
            raise
        finally:
            theirs.close()
        self.sock = mine
        self.lock = threading.Lock()
        self.children: dict[int, ForkedProcess] = {}
        self.next_id = 0
        self.slots = 0
        self.threads: int | None = None
        self.dead = False
        threading.Thread(target=self._listen, daemon=True).start()

    # -- for the client -----------------------------------------------------------------------
    def new_slot(self) -> tuple[Path, str]:
        """A fresh folder for one submission: (its host path, its path as the child sees it)."""
        with self.lock:
            self.slots += 1
            n = self.slots
        host = self.spool / "slots" / str(n)
        host.mkdir()
        return host, f"{self.slots_seen}/{n}"

    def work_folder(self, slot_seen: str) -> str:
        """Where the next child may write, as it sees it: a fresh folder on the sandbox's
        capped tmpfs (the server makes it, and wipes it when the child ends), or else the
        slot's own work folder."""
        if not self.scratch:
            return f"{slot_seen}/work"
        with self.lock:
            self.works += 1
            return f"/tmp/w{self.works}"

    def release(self) -> None:
        """The worker that leased this server (Pool.get) is done with it."""
        self.leased = False

    def spawn(self, cfg: dict, env: dict[str, str], fds: list[int]) -> ForkedProcess:
        with self.lock:
            self.next_id += 1
            child = ForkedProcess(self, self.next_id)
            self.children[child.rid] = child
        msg = {"op": "spawn", "id": child.rid, "cfg": {**cfg, "require": REQUIRE}, "env": env,
               "scratch": cfg["cwd"] if self.scratch else ""}
        try:
            socket.send_fds(self.sock, [json.dumps(msg).encode()], fds)
        except OSError:
            self._gone()
        return child

    def kill(self, rid: int) -> None:
        try:
            self.sock.send(json.dumps({"op": "kill", "id": rid}).encode())
        except OSError:
            self._gone()

    def busy(self) -> bool:
        return self.leased or bool(self.children)

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def close(self) -> None:
        """No polite stop (a torch interpreter takes ~0.7 s to exit): the socket is shut (a
        close alone would wait for the listening thread's recv), the server's process group is
        killed, and its children die with it (their parent-death signal; under bubblewrap, the
        whole PID namespace)."""
        self.dead = True
        for end in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close):
            try:
                end()
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        shutil.rmtree(self.spool, ignore_errors=True)

    # -- the server's messages ------------------------------------------------------------
    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            try:
                msg = json.loads(data)
            except ValueError:
                break
            if msg.get("op") == "ready":
                self.threads = msg.get("threads")
            elif msg.get("op") == "exit":
                with self.lock:
                    child = self.children.pop(msg.get("id"), None)
                if child is not None:
                    child._exited(int(msg.get("status", GONE)))
        self._gone()

    def _gone(self) -> None:
        self.dead = True
        with self.lock:
            children, self.children = list(self.children.values()), {}
        for child in children:
            child._exited(GONE)


def room_digest(lecture: str) -> str:
    """What the server's copy of the room's probes was made from (a test may swap rooms)."""
    h = hashlib.sha256(str(layout.LECTURES_DIR).encode())
    room = layout.LECTURES_DIR / lecture
    for name in sorted(SANDBOXED):
        if (room / name).is_file():
            h.update(name.encode() + (room / name).read_bytes())
    return h.hexdigest()


class Pool:
    """Fork servers by (layer, lecture, what it preloads, its environment and binds), each
    leased to one worker at a time; a key has as many servers as workers used it at once."""

    def __init__(self):
        self.servers: OrderedDict[tuple, ForkServer] = OrderedDict()   # (key, n) -> server
        self.lock = threading.Lock()
        self.holds = 0
        self.started = 0
        # servers start from one long-lived thread: bubblewrap's --die-with-parent kills the
        # sandbox when the *thread* that started it ends, and a --jobs grading thread may end
        # (its pool shut down) while other threads still use the server
        self.starter = ThreadPoolExecutor(1, thread_name_prefix="zth-fork-starter")

    @contextmanager
    def hold(self):
        """Keep the servers warm while any holder is inside; the last one out closes them (a
        grading run leaves no process or folder behind; a mutation run holds them across its
        hundreds of gradings)."""
        with self.lock:
            self.holds += 1
        try:
            yield self
        finally:
            with self.lock:
                self.holds -= 1
                last = self.holds == 0
            if last:
                self.close()

    def get(self, layer: str, lecture: str, preload: list[str], env: dict[str, str],
            binds: list[str]) -> ForkServer | None:
        """A server leased to the caller until it calls `release()` (Worker.close does)."""
        if not enabled():
            return None
        key = (layer, lecture, room_digest(lecture), tuple(preload),
               tuple(sorted(env.items())), tuple(binds))
        with self.lock:
            found = None
            for k, s in list(self.servers.items()):
                if k[0] != key or s.busy():
                    continue
                if not s.alive():
                    self.servers.pop(k).close()
                    continue
                found = k
                break
            if found is not None:
                server = self.servers.pop(found)
            else:
                try:
                    server = self.starter.submit(ForkServer, layer, lecture, preload, env,
                                                 binds).result()
                except OSError:
                    return None
                self.started += 1
                found = (key, self.started)
            server.leased = True
            self.servers[found] = server        # most recently used last
            idle = [k for k, s in self.servers.items() if not s.busy()]
            for k in idle[:max(0, len(idle) - MAX_IDLE)]:
                self.servers.pop(k).close()
            return server

    def close(self) -> None:
        with self.lock:
            servers, self.servers = list(self.servers.values()), OrderedDict()
        for s in servers:
            s.close()


def enabled() -> bool:
    return os.environ.get("ZTH_WARM", "1") != "0" and confine.landlock_abi() > 0


POOL = Pool()
atexit.register(POOL.close)
