"""The kernel's sandbox for `nbgrader autograde`: a submitted notebook runs out of reach.

Plain nbgrader runs a submission's notebook in a Jupyter kernel whose working directory is
`autograded/<student>/<assignment>/`, as the instructor: a cell can open `../../../gradebook.db`
and give itself full marks, rewrite another student's row or notebook, or delete the gradebook.
Here the kernel runs on a private copy of the notebook's folder, in the strongest of the grader's
isolation layers (grader/sandbox/layers.py) that this machine has:

  bubblewrap  the kernel sees the Python install, the copy (its working directory), a private
              /tmp and the grader's notebook helpers (`grader/` without its lectures): no course
              folder, no reference, no network, no other process. It talks to nbgrader over unix
              sockets inside the copy, and its PID namespace dies with it.
  uid-drop    (root without bubblewrap) the kernel runs as `nobody` in the copy, with
              capabilities dropped and the Landlock confinement of `process` below.
  process     the kernel confines itself with Landlock before it starts: it reads the Python
              install, the grader's notebook helpers and the copy, and writes only the copy.
              Without Landlock it is a plain process in a scrubbed environment.

After the kernel, every process it left behind is killed (its PID namespace; outside bubblewrap,
the processes this one adopted as their subreaper) before guard.py verifies and restores what the
kernel could have touched. The layer that ran is in the log and in each test cell's header.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from .. import sandbox

GRADER_DIR = sandbox.GRADER_DIR
MAX_FILES, MAX_BYTES, MAX_DEPTH = 5000, 512 << 20, 12
PR_SET_CHILD_SUBREAPER = 36


class BoxError(Exception):
    """The notebook's folder cannot be copied into the sandbox (the message says why)."""


def copy_folder(src: Path, dest: Path) -> None:
    """Copy a notebook's folder: regular files only, bounded in depth, count and bytes.

    Symbolic links and special files are left out (a link could point back into the course)."""
    files = size = 0
    for top, dirs, names in os.walk(src, followlinks=False):
        rel = Path(top).relative_to(src)
        if len(rel.parts) > MAX_DEPTH:
            raise BoxError(f"{src}: folders nested deeper than {MAX_DEPTH} levels")
        dirs[:] = [d for d in dirs if d != "__pycache__"
                   and not os.path.islink(os.path.join(top, d))]
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            files += 1
            size += st.st_size
            if files > MAX_FILES or size > MAX_BYTES:
                raise BoxError(f"{src}: more than {MAX_FILES} files or {MAX_BYTES >> 20} MB")
            shutil.copyfile(path, dest / rel / name, follow_symlinks=False)


def helper_paths() -> list[Path]:
    """What of the grader package a notebook may import (`grader.nb.check`, `grader.data`, …):
    everything but the lectures' rooms, which hold the checks and the hidden checks."""
    out = []
    for p in sorted(GRADER_DIR.iterdir()):
        if p.name in ("lectures", "__pycache__"):
            continue
        out.append(p)
    return out


class Box:
    """A private folder for one kernel: `nb/` (the copy, its cwd), `tmp/`, the unix sockets."""

    def __init__(self, notebook_dir: Path, layer: str, confine: bool = True):
        self.layer, self.confine = layer, confine
        self.dir = Path(tempfile.mkdtemp(prefix="zth-kernel-"))
        os.chmod(self.dir, 0o700 if layer == "process" else 0o755)
        self.nb = self.dir / "nb"
        self.tmp = self.dir / "tmp"
        self.tmp.mkdir()
        try:
            copy_folder(Path(notebook_dir), self.nb)
        except (BoxError, OSError):
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.ipc = self.dir / "ipc"
        self.ipc.mkdir()
        self.connection_file = self.ipc / "kernel.json"
        if layer == "uid-drop":
            for p in [self.dir, *self.dir.rglob("*")]:
                os.chown(p, sandbox.NOBODY, sandbox.NOBODY, follow_symlinks=False)
        self._children_before = _children()
        if layer != "bubblewrap":
            _become_subreaper()

    def env(self) -> dict[str, str]:
        home = str(self.tmp)
        return {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
                "HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home, "LANG": "C.UTF-8",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "NBGRADER_EXECUTION": "autograde", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    def command(self, kernel_cmd: list[str]) -> tuple[list[str], dict]:
        """The kernel's command line wrapped for this layer, and the Popen keywords."""
        cmd = list(kernel_cmd)
        if cmd and os.path.basename(cmd[0]) in ("python", "python3"):
            cmd[0] = sys.executable       # the kernelspec's `python`: this install, not PATH's
        env = self.env()
        if self.layer == "bubblewrap":
            args = ["bwrap", *sandbox._bwrap_base(), "--ro-bind", str(GRADER_DIR),
                    str(GRADER_DIR), "--tmpfs", str(GRADER_DIR / "lectures"),
                    "--remount-ro", str(GRADER_DIR / "lectures"),
                    "--ro-bind-try", "/etc/fonts", "/etc/fonts",
                    "--bind", str(self.dir), str(self.dir)]
            for k, v in env.items():
                args += ["--setenv", k, v]
            args += ["--chdir", str(self.nb), "--", *cmd]
            return args, {"cwd": str(self.nb), "env": {"PATH": os.environ.get("PATH", "")},
                          "stdout": subprocess.DEVNULL}
        read = sorted({"/usr", "/etc", "/dev/null", "/dev/zero", "/dev/urandom",
                       "/proc/cpuinfo", "/sys/devices/system/cpu",
                       *sandbox._python_roots(), *(str(p) for p in helper_paths())})
        write = [str(self.dir), "/dev/null"]
        launcher = [sys.executable, "-I", "-c", CONFINE, json.dumps(read), json.dumps(write),
                    str(GRADER_DIR), *cmd] if self.confine else cmd
        kw = {"cwd": str(self.nb), "env": env, "stdout": subprocess.DEVNULL}
        if self.layer == "uid-drop":
            kw.update(user=sandbox.NOBODY, group=sandbox.NOBODY, extra_groups=[])
        return launcher, kw

    def close(self) -> list[int]:
        """Kill whatever the kernel left running; remove the folder. Returns the pids killed."""
        killed = _reap(self._children_before) if self.layer != "bubblewrap" else []
        shutil.rmtree(self.dir, ignore_errors=True)
        return killed


# run by the kernel's own process before it becomes the kernel (process and uid-drop layers)
CONFINE = ("import sys, json; from grader.nb.box import exec_confined; "
           "exec_confined(json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], "
           "sys.argv[4:])")


def exec_confined(read: list[str], write: list[str], grader_dir: str, cmd: list[str]) -> None:
    """Drop capabilities (as root), confine the file system with Landlock, then exec the kernel.

    Landlock cannot hide a folder inside an allowed one, so the grader's folder is only listable
    (imports need that) and its children other than the lectures' rooms are readable; `/proc` is
    this process's own entry only."""
    if not sys.platform.startswith("linux"):      # no Landlock: the guard alone (guard.py)
        os.execv(cmd[0], cmd)
    from ..worker import confine
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0:
        confine._drop_caps(libc)
    if libc.prctl(confine.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        ro = confine.FS_EXECUTE | confine.FS_READ_FILE | confine.FS_READ_DIR
        rules = [(p, ro) for p in [*read, f"/proc/{os.getpid()}"]]
        rules += [(grader_dir, confine.FS_READ_DIR)] + [(p, None) for p in write]
        _landlock(libc, confine, rules)
    os.execv(cmd[0], cmd)


def _landlock(libc, confine, rules: list[tuple[str, int | None]]) -> bool:
    """Restrict this process (and what it execs) to `rules`: (path, rights; None = all)."""
    abi = libc.syscall(confine.LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return False
    handled = confine._fs_rights(abi)
    # signals and abstract unix sockets scoped to its own processes (ABI 6): the kernel cannot
    # kill or interrupt nbgrader. TCP stays open: ipykernel forwards its subprocesses' output
    # over a loopback port, and Landlock's TCP rules name ports, not addresses
    attr = struct.pack("QQQ", handled, 0, 0b11) if abi >= 6 else struct.pack("Q", handled)
    fd = libc.syscall(confine.LL_CREATE, attr, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if fd < 0:
        return False
    try:
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                allowed = handled if rights is None else rights
                if not os.path.isdir(path):
                    allowed &= confine._file_rights(abi)
                rule = struct.pack("=Qi", allowed, pfd)
                if libc.syscall(confine.LL_ADD, ctypes.c_int(fd), ctypes.c_int(1), rule,
                                ctypes.c_uint32(0)) != 0:
                    return False
            finally:
                os.close(pfd)
        return libc.syscall(confine.LL_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)) == 0
    finally:
        os.close(fd)


def _become_subreaper() -> None:
    """Processes the kernel double-forks become our children, so they can be found and killed."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def _children() -> set[int]:
    me = os.getpid()
    out = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            out.add(int(e))
    return out


def _reap(before: set[int], rounds: int = 50) -> list[int]:
    """SIGKILL and wait for every child that was not there before the kernel started, until none
    is left (a killed process's own children are adopted by us in turn)."""
    killed = []
    for _ in range(rounds):
        new = _children() - before
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        for pid in new:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        time.sleep(0.01)
    return killed


class BoxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts inside a `Box` and talks over unix sockets."""

    box: Box | None = None

    def use(self, box: Box) -> None:
        self.box = box
        self.transport = "ipc"
        self.ip = str(box.ipc / "k")
        self.connection_file = str(box.connection_file)

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        # interrupts travel as messages: a signal to bwrap does not reach the kernel inside it
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        assert self.box is not None, "BoxedKernelManager.use(box) first"
        cmd, extra = self.box.command(kernel_cmd)
        kw = {k: v for k, v in kw.items() if k not in ("cwd", "env")}
        if self.box.layer == "uid-drop":
            os.chown(self.box.connection_file, sandbox.NOBODY, sandbox.NOBODY)
        await super()._async_launch_kernel(cmd, **kw, **extra)
