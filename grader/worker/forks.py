"""The fork server: a worker runtime, warmed once, that forks one fresh child per submission.

Started inside the sandbox like a worker (`serve_forks(cfg)` instead of `main.serve`). It
imports the runtime, the room's probes and the lecture's preloads (torch) once, checks that it
is still one thread (a fork after a thread pool started can deadlock), and then only listens on
its control socket. It never imports or runs student code: each child does, after it has left
the server behind (new session, its own pipes, the control socket closed, the environment the
parent gave it) and confined itself exactly as a cold worker does (`main.serve`), plus the
demand that Landlock and seccomp both took effect, since its siblings share this sandbox.

Control messages (one SOCK_SEQPACKET datagram each, JSON):
  parent -> server  {"op": "spawn", "id": N, "cfg": {...}, "env": {...}, "scratch": P} with
                    four fds (requests in, replies out, stdout, stderr); P, if not empty, is
                    the child's work folder on this sandbox's capped tmpfs: made before the
                    fork, wiped when the child ends (a server that cannot wipe it quits, so
                    no later child sees it);  {"op": "kill", "id": N}
  server -> parent  {"op": "ready", "threads": T};  {"op": "exit", "id": N, "status": S}
                    (S: exit code, or minus the signal, as subprocess reports it)
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import sys

from . import main
from .probes import registry

PR_SET_PDEATHSIG = 1


def _send(ctl: socket.socket, msg: dict) -> None:
    try:
        ctl.send(json.dumps(msg).encode())
    except OSError:
        os._exit(0)       # the parent is gone: so are we (and, with us, the children)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def serve_forks(cfg_json: str) -> None:
    cfg = json.loads(cfg_json)
    ctl = socket.socket(fileno=cfg["ctl"])    # its end-of-file is the parent's death
    main.warm(cfg["preload"])
    registry(cfg["lecture"])
    threads = _threads()
    _send(ctl, {"op": "ready", "threads": threads})
    if threads != 1:
        return            # the parent falls back to a fresh process per submission
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, tuple] = {}        # pid -> (the parent's id for it, its scratch)
    while True:
        ready, _, _ = select.select([ctl, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(ctl, children)
        if ctl not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 4)
        except OSError:
            data, fds = b"", []
        if not data:        # the parent closed the socket: end every child and go
            for pid in children:
                _killpg(pid)
            return
        msg = json.loads(data)
        if msg.get("op") == "kill":
            pid = next((p for p, (i, _) in children.items() if i == msg.get("id")), None)
            if pid is not None:
                _killpg(pid)
        elif msg.get("op") == "spawn" and len(fds) == 4:
            sys.stdout.flush()
            sys.stderr.flush()
            scratch = msg.get("scratch") or ""
            try:
                if scratch:
                    _wipe(scratch)
                    os.mkdir(scratch, 0o700)
                pid = os.fork()
            except OSError:
                pid = -1
            if pid == 0:
                _child(msg, fds, ctl, (wake_r, wake_w))
            for fd in fds:
                os.close(fd)
            if pid < 0:
                _done_with(ctl, scratch, {"op": "exit", "id": msg.get("id"), "status": 75})
            else:
                children[pid] = (msg.get("id"), scratch)
        else:
            for fd in fds:
                os.close(fd)


def _child(msg: dict, fds: list[int], ctl: socket.socket, wake: tuple[int, int]) -> None:
    """In the fresh child: leave the server behind, then be a cold worker."""
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_parent()
        ctl.close()
        for fd in wake:
            os.close(fd)
        fd_in, fd_out, out, err = fds
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in msg["env"].items()})
        cfg = {**msg["cfg"], "fd_in": fd_in, "fd_out": fd_out}
        main.serve(json.dumps(cfg))
    except BaseException:   # noqa: BLE001 - nothing of the server's may run on in a child
        os._exit(70)
    os._exit(0)


def _reap(ctl: socket.socket, children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        rid, scratch = children.pop(pid, (None, ""))
        if rid is None:
            continue
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _killpg(pid)      # anything the child left in its session goes with it
        _done_with(ctl, scratch, {"op": "exit", "id": rid, "status": code})


def _done_with(ctl: socket.socket, scratch: str, report: dict) -> None:
    """Wipe a child's work folder, then report its end; a folder that will not go (it should
    always go: the server owns it) ends the server, so no later child can see it."""
    if scratch:
        _wipe(scratch)
    _send(ctl, report)
    if scratch and os.path.lexists(scratch):
        os._exit(0)


def _wipe(path: str) -> None:
    """Remove a work folder whatever its child did to the permissions inside it."""
    if not os.path.lexists(path):
        return
    try:
        os.chmod(path, 0o700)
        for root, dirs, _ in os.walk(path):
            for d in dirs:               # before os.walk goes in: a child may have locked them
                try:
                    os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                except OSError:
                    pass
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
