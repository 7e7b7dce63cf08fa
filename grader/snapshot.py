"""One private copy of a submission, taken once, before anything else reads it.

Everything after the snapshot (finding the packages, the policy scan, the worker's copy, nbgrader,
Gradescope) reads the copy, never the student's tree: the copy holds regular files and folders
only, within the bounds of course.yaml `limits:` (folder depth, number of entries, bytes per
file, bytes in all). The walk never follows a link it has not checked, never opens anything but a
regular file (a FIFO would block, /dev/zero never ends) and never recurses (a folder 600 deep is
refused at the depth bound, not by a RecursionError):

- a regular file is copied, reading at most the per-file bound + 1 bytes;
- a symbolic link whose target stays inside the submission and is a regular file is copied as
  that file; a link that leaves the submission, dangles, or points at a folder or a special file
  refuses the submission;
- a FIFO, socket or device refuses the submission without being opened;
- tool folders that grading never reads are left out, unread: version control, caches, virtual
  environments (`.git`, `__pycache__`, a folder holding `pyvenv.cfg`, ...), and `*.pyc` files.

A refusal raises `Refused` with a reason naming the path and the bound; the runner turns it into
the status `refused` for that submission only. `Snapshot.close()` (or leaving the `with` block)
removes the copy.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "zth-snap-"
CHUNK = 1 << 20
# folders grading never reads: left out without being opened (and not counted)
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints",
                       ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
                       "node_modules", ".venv"})
SKIP_SUFFIXES = (".pyc", ".pyo")
KEEP_OUT = ": keep data sets and checkpoints outside the folder you hand in"
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Refused(Exception):
    """The submission cannot be snapshotted; the message says which path and which bound."""

    def __init__(self, reason: str, path: str = ""):
        super().__init__(reason)
        self.reason, self.path = reason, path


@dataclass(frozen=True)
class Bounds:
    depth: int = 32           # folder nesting below the submission's root
    entries: int = 5000       # files and folders together
    file_bytes: int = 32 << 20
    total_bytes: int = 128 << 20

    @classmethod
    def from_limits(cls, limits) -> Bounds:
        """From course.yaml `limits:` (a `config.Limits`)."""
        return cls(limits.submission_depth, limits.submission_files,
                   limits.submission_file_mb << 20, limits.submission_mb << 20)


@dataclass
class Snapshot:
    source: Path             # the student's tree (never read again)
    root: Path               # the private copy: the same layout, regular files and folders only
    files: int = 0
    bytes: int = 0
    left_out: list[str] = field(default_factory=list)   # tool folders/files not copied

    def close(self) -> None:
        base = self.root.parent
        if base.name.startswith(PREFIX):
            shutil.rmtree(base, ignore_errors=True)

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def show(rel: str, limit: int = 160) -> str:
    """A path for a message: control characters escaped, very long paths shortened."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in rel) or "."
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}"


def _mb(n: int) -> str:
    return f"{n / (1 << 20):g} MB"


def snapshot(submission: Path, limits=None, dest: Path | None = None) -> Snapshot:
    """Copy `submission` once into a private temporary folder (or `dest`, which must not exist)
    and return the `Snapshot`; raise `Refused` if it breaks a bound or holds something other
    than regular files, folders and links to regular files inside it.

    `limits`: course.yaml's `limits` (a `config.Limits`), a `Bounds`, or None for the defaults.
    """
    bounds = limits if isinstance(limits, Bounds) else (
        Bounds() if limits is None else Bounds.from_limits(limits))
    submission = Path(submission)
    if dest is None:
        base = Path(tempfile.mkdtemp(prefix=PREFIX))     # 0700: no worker uid can read it
        root = base / "submission"
    else:
        root = Path(dest)
    snap = Snapshot(submission, root)
    try:
        _copy(submission, root, bounds, snap)
    except BaseException:
        snap.close()
        if dest is not None:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return snap


def _copy(src: Path, root: Path, b: Bounds, snap: Snapshot) -> None:
    try:
        top = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)   # the root may be a link
    except OSError as e:
        raise Refused(f"cannot read the submission folder {show(str(src))}: "
                      f"{e.strerror or e}") from None
    try:
        real_top = os.path.realpath(src)
        root.mkdir(mode=0o755)
        entries = 0
        stack: list[tuple[str, ...]] = [()]     # folders still to list, as parts below the root
        while stack:
            parts = stack.pop()
            if len(parts) > b.depth:
                raise Refused(f"{show('/'.join(parts))}/ is nested {len(parts)} folders deep; "
                              f"the limit is {b.depth} (submission_depth)", "/".join(parts))
            dfd = _open_dir(top, parts)
            try:
                with os.scandir(dfd) as it:
                    names = []
                    for entry in it:
                        if entry.name in SKIP_DIRS or entry.name.endswith(SKIP_SUFFIXES):
                            snap.left_out.append("/".join((*parts, entry.name)))
                            continue
                        entries += 1
                        if entries > b.entries:
                            rel = "/".join((*parts, entry.name))
                            raise Refused(f"the submission holds more than {b.entries} files and "
                                          f"folders (submission_files); one past the limit: "
                                          f"{show(rel)}{KEEP_OUT}", rel)
                        names.append(entry.name)
                for name in sorted(names, reverse=True):
                    try:
                        _one(top, real_top, dfd, parts, name, root, b, snap, stack)
                    except OSError as e:
                        if e.errno != errno.ENAMETOOLONG:
                            raise           # our side (a full disk): the grader's error
                        rel = "/".join((*parts, name))
                        raise Refused(f"{show(rel)}: its path is too long to copy "
                                      f"({len(rel)} characters)", rel) from None
            finally:
                os.close(dfd)
    finally:
        os.close(top)


def _open_dir(top: int, parts: tuple[str, ...]) -> int:
    """Open a folder below the root one component at a time, never through a link."""
    fd = os.dup(top)
    try:
        for p in parts:
            nxt = os.open(p, _O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError as e:
        os.close(fd)
        raise Refused(f"{show('/'.join(parts))}/ cannot be read ({e.strerror or e}; or it "
                      "changed while it was being copied)", "/".join(parts)) from None
    return fd


def _kind(mode: int) -> str:
    return ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else
            "a device file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a folder" if stat.S_ISDIR(mode) else "a special file")


def _one(top: int, real_top: str, dfd: int, parts: tuple[str, ...], name: str, root: Path,
         b: Bounds, snap: Snapshot, stack: list) -> None:
    rel = "/".join((*parts, name))
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except OSError as e:
        raise Refused(f"{show(rel)} cannot be read ({e.strerror or e}; or it changed while it "
                      "was being copied)", rel) from None
    out = root.joinpath(*parts, name)
    if stat.S_ISDIR(st.st_mode):
        if _is_venv(dfd, name):    # links to the system Python; never graded
            snap.left_out.append(rel)
            return
        out.mkdir(mode=0o755)
        stack.append((*parts, name))
        return
    if stat.S_ISREG(st.st_mode):
        fd = _open_file(dfd, name, rel)
    elif stat.S_ISLNK(st.st_mode):
        fd = _open_link_target(top, real_top, dfd, parts, name, rel)
    else:
        raise Refused(f"{show(rel)} is {_kind(st.st_mode)}: a submission holds regular files "
                      "and folders only", rel)
    try:
        _copy_file(fd, out, rel, b, snap)
    finally:
        os.close(fd)


def _is_venv(dfd: int, name: str) -> bool:
    try:
        fd = os.open(name, _O_DIR, dir_fd=dfd)
    except OSError:
        return False
    try:
        os.stat("pyvenv.cfg", dir_fd=fd, follow_symlinks=False)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _open_file(dfd: int, name: str, rel: str) -> int:
    try:
        fd = os.open(name, _O_FILE, dir_fd=dfd)
    except OSError as e:
        raise Refused(f"cannot read {show(rel)}: {e.strerror or e}", rel) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):     # swapped for something else since the listing
        os.close(fd)
        raise Refused(f"{show(rel)} is {_kind(mode)}: a submission holds regular files and "
                      "folders only", rel)
    return fd


def _open_link_target(top: int, real_top: str, dfd: int, parts: tuple[str, ...], name: str,
                      rel: str) -> int:
    try:
        target = os.readlink(name, dir_fd=dfd)
    except OSError as e:
        raise Refused(f"{show(rel)} cannot be read ({e.strerror or e}; or it changed while it "
                      "was being copied)", rel) from None
    # resolve against the real path of the folder holding the link
    here = os.path.join(real_top, *parts)
    real = os.path.realpath(os.path.join(here, target))
    inside = os.path.relpath(real, real_top)
    if inside == os.pardir or inside.startswith(os.pardir + os.sep) or os.path.isabs(inside):
        raise Refused(f"{show(rel)} is a symbolic link leaving the submission (to "
                      f"{show(target)}): hand in the files themselves", rel)
    tparts = inside.split(os.sep)
    try:
        pfd = _open_dir(top, tuple(tparts[:-1]))
    except Refused:
        raise Refused(f"{show(rel)} is a symbolic link to {show(target)}, which cannot be "
                      "read inside the submission", rel) from None
    try:
        st = os.stat(tparts[-1], dir_fd=pfd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            what = _kind(st.st_mode) if not stat.S_ISLNK(st.st_mode) else "a link"
            raise Refused(f"{show(rel)} is a symbolic link to {what} ({show(target)}): only links "
                          "to regular files inside the submission are copied", rel)
        return _open_file(pfd, tparts[-1], rel)
    except FileNotFoundError:
        raise Refused(f"{show(rel)} is a symbolic link to {show(target)}, which does not "
                      "exist", rel) from None
    finally:
        os.close(pfd)


def _copy_file(fd: int, out: Path, rel: str, b: Bounds, snap: Snapshot) -> None:
    size = 0
    with open(out, "xb") as dst:
        os.chmod(out, 0o644)
        while True:
            want = min(CHUNK, b.file_bytes + 1 - size)
            try:
                chunk = os.read(fd, want)
            except BlockingIOError:      # O_NONBLOCK on a regular file never blocks; be safe
                chunk = b""
            if not chunk:
                break
            size += len(chunk)
            if size > b.file_bytes:
                raise Refused(f"{show(rel)} is larger than {_mb(b.file_bytes)} "
                              f"(submission_file_mb){KEEP_OUT}", rel)
            if snap.bytes + size > b.total_bytes:
                raise Refused(f"the submission's files add up to more than "
                              f"{_mb(b.total_bytes)} (submission_mb); reached at {show(rel)}"
                              f"{KEEP_OUT}", rel)
            dst.write(chunk)
    snap.files += 1
    snap.bytes += size


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder of a snapshot (regular files and folders only) without recursion: folders
    0755, files 0644. For the worker's private copy of one package."""
    stack = [(Path(src), Path(dst))]
    while stack:
        s, d = stack.pop()
        d.mkdir(mode=0o755)
        with os.scandir(s) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append((Path(e.path), d / e.name))
                elif e.is_file(follow_symlinks=False):
                    shutil.copyfile(e.path, d / e.name, follow_symlinks=False)
                    os.chmod(d / e.name, 0o644)
