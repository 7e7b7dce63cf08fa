"""The isolation layers, strongest first (the report names the one used):
  bubblewrap  new PID/net/IPC/mount/user namespaces; only Python, the worker code, the submission
              (read-only) and a private /tmp exist inside; the grader package is masked.
  uid-drop    no bwrap but root: the worker runs as `nobody`, and the instructor-only files
              (reference/, grader/lectures, report outputs) lose their "other" permissions first.
  process     neither: a separate process with rlimits, scrubbed env and `python -I` only.
This module chooses a layer and builds the command that starts a process inside it; what runs
there (the worker and its protocol) is client.py's business.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from ..lectures import LECTURES_DIR
from .layout import GRADER_DIR

NOBODY = 65534
TMP_MB = 256          # size of the worker's private /tmp under bubblewrap (a tmpfs: it is RAM)
LAYERS = ("bubblewrap", "uid-drop", "process")


@cache
def bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        r = subprocess.run([exe, *_bwrap_base(), "--", sys.executable, "-I", "-c", "pass"],
                           capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _world_traversable(path: Path) -> bool:
    for p in [path, *path.parents]:
        try:
            if not os.stat(p).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def choose_isolation(requested: str | None = None) -> tuple[str, str]:
    """Return (layer, note). `requested` or $ZTH_ISOLATION may ask for a weaker layer."""
    requested = requested or os.environ.get("ZTH_ISOLATION") or None
    if requested and requested not in LAYERS:
        raise ValueError(f"unknown isolation {requested!r}; choose from {', '.join(LAYERS)}")
    order = LAYERS[LAYERS.index(requested):] if requested else LAYERS
    notes = []
    for layer in order:
        if layer == "bubblewrap":
            if bwrap_works():
                return layer, ""
            notes.append("bubblewrap unavailable (install the 'bubblewrap' package)")
        elif layer == "uid-drop":
            if os.geteuid() != 0:
                notes.append("not root, so no uid drop")
            elif not _world_traversable(Path(sys.executable).resolve().parent):
                notes.append("no uid drop: the Python install is not readable by 'nobody'")
            else:
                return layer, "; ".join(notes)
        else:
            if os.geteuid() == 0:
                notes.append("process isolation as root: only the worker's own seccomp/landlock "
                             "confinement keeps student code from the grader's files")
            return layer, "; ".join(notes)
    raise AssertionError("unreachable")


def _python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("purelib", "platlib"):
        roots.add(sysconfig.get_paths()[key])
    exe = Path(sys.executable).resolve()
    roots.add(str(exe.parent.parent))
    # site-packages folders reached through .pth files (e.g. a venv layered on another one's
    # packages); only *-packages folders, never a source checkout that may hold reference/
    roots |= {str(Path(p).resolve()) for p in sys.path
              if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()}
    out = []
    for r in sorted(roots, key=len):
        if not r.startswith("/usr") and not any(r.startswith(o + "/") for o in out):
            out.append(r)
    return out


def _bwrap_base() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
            "--size", str(TMP_MB << 20), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    # the grader package itself must not exist inside (checks, reference), even when installed
    for r in _python_roots():
        if str(GRADER_DIR).startswith(r + "/"):
            args += ["--tmpfs", str(GRADER_DIR), "--remount-ro", str(GRADER_DIR)]
    args += ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() == 0:
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    return args


def instructor_paths() -> list[Path]:
    from ..config import ROOT
    return [p for p in (ROOT / "reference", LECTURES_DIR) if p.exists()]


@contextmanager
def protected(paths: list[Path], layer: str):
    """For the uid-drop layer: remove 'other' permissions from instructor-only paths."""
    saved = []
    if layer == "uid-drop":
        for p in paths:
            try:
                mode = os.stat(p).st_mode
                os.chmod(p, mode & ~0o007)
                saved.append((p, mode))
            except OSError:
                pass
    try:
        yield
    finally:
        for p, mode in saved:
            try:
                os.chmod(p, stat.S_IMODE(mode))
            except OSError:
                pass


def launch_command(layer: str, python: list[str], env: dict[str, str], mounts: dict[str, str],
                   binds: list[str], chdir: str) -> tuple[list[str], dict]:
    """(argv, Popen keywords) that run `python` inside `layer`. `mounts` maps host folders to
    where the process sees them (read-only; a value ending in ":rw" is writable), `binds` are
    extra read-only host paths seen at the same place, `chdir` is the folder it starts in (as
    seen inside)."""
    if layer == "bubblewrap":
        cmd = ["bwrap", *_bwrap_base()]
        for host, inside in mounts.items():
            rw = inside.endswith(":rw")
            cmd += ["--bind" if rw else "--ro-bind", host, inside.removesuffix(":rw")]
        for b in binds:
            cmd += ["--ro-bind", b, b]
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        return [*cmd, "--chdir", chdir, "--", *python], {}
    kwargs: dict = {"env": env}
    if layer == "uid-drop":
        kwargs.update(user=NOBODY, group=NOBODY, extra_groups=[])
    return python, kwargs
