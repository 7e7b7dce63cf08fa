"""Verify, don't trust: the course folder after a submission's kernel has run is the one before it.

The kernel runs in a sandbox (box.py) where the course folder does not exist or is read-only, but
on the weakest layer (a plain process, without Landlock) nothing stops a cell from editing
`gradebook.db`, another student's notebook or feedback, or the submitted modules. So around every
kernel run, whatever the layer:

    snapshot()  records every regular file and link under the course root (and the gradebook,
                wherever it is): a stat signature, and for new or changed files a private copy
                with its sha256 (only what changed since the last kernel is copied, so a class of
                hundreds costs one copy of the course, once)
    restore()   after the kernel and everything it started are dead: a file whose signature
                changed is compared by content and written back from the copy (after checking
                the copy's own hash), a deleted one is written back, a new one is removed (with
                sqlite's journals). Returns what it put right, for the log and the cell header.

Between kernel runs nbgrader itself writes (autograded notebooks, the gradebook): the next
snapshot() takes those in. Anything else writing to the course folder while a kernel runs (a
second `nbgrader autograde` of the same course at the same time) would be undone too: run one
autograde per course at a time, as nbgrader's sqlite gradebook wants anyway. The copies live
in a folder only this process's user can read, outside the course; their hashes live in this
process's memory, which the kernel cannot reach.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path


class GuardError(Exception):
    """The course folder could not be put back as it was (the message names the file)."""


@dataclass(frozen=True)
class Entry:
    kind: str          # "file" | "link" | "other"
    sig: tuple         # (mode, size, mtime_ns, ctime_ns, inode) from lstat
    sha: str = ""      # files: sha256 of the content
    copy: str = ""     # files: the private copy's name
    target: str = ""   # links: where the link points


def _sha(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sig(st: os.stat_result) -> tuple:
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class CourseGuard:
    """Snapshot and restore of a course folder (see the module docstring)."""

    def __init__(self, root: Path, extra: list[Path] = ()):
        self.root = Path(root).resolve()
        self.extra = [Path(p).resolve() for p in extra
                      if not Path(p).resolve().is_relative_to(self.root)]
        self.store = Path(tempfile.mkdtemp(prefix="zth-guard-"))
        os.chmod(self.store, 0o700)
        self.entries: dict[str, Entry] = {}
        self.dirs: dict[str, int] = {}     # folder -> its permission bits
        self._n = 0

    def close(self) -> None:
        shutil.rmtree(self.store, ignore_errors=True)

    # -- what is there ------------------------------------------------------------------------
    def _walk(self):
        """(path, lstat) of every entry under the root and of the extra files."""
        for top, dirs, names in os.walk(self.root, followlinks=False):
            for d in list(dirs):
                p = os.path.join(top, d)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    dirs.remove(d)
                    yield p, st
                else:
                    yield p, st
            for name in names:
                p = os.path.join(top, name)
                yield p, os.lstat(p)
        for p in self.extra:
            for q in (p, *(Path(f"{p}{s}") for s in ("-journal", "-wal", "-shm"))):
                try:
                    yield str(q), os.lstat(q)
                except FileNotFoundError:
                    pass

    def snapshot(self) -> None:
        """Record the folder as it is now (before a kernel runs)."""
        seen: dict[str, Entry] = {}
        dirs = {}
        for path, st in self._walk():
            if stat.S_ISDIR(st.st_mode):
                dirs[path] = stat.S_IMODE(st.st_mode)
                continue
            old = self.entries.get(path)
            if old is not None and old.sig == _sig(st):
                seen[path] = old
            elif stat.S_ISLNK(st.st_mode):
                seen[path] = Entry("link", _sig(st), target=os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                self._n += 1
                name = f"{self._n:08d}"
                shutil.copyfile(path, self.store / name, follow_symlinks=False)
                seen[path] = Entry("file", _sig(st), _sha(self.store / name), name)
            else:       # sockets, fifos, devices: nbgrader writes none; kept, never copied
                seen[path] = Entry("other", _sig(st))
        for path, e in self.entries.items():      # copies of files nbgrader replaced
            if e.kind == "file" and seen.get(path) is not e:
                (self.store / e.copy).unlink(missing_ok=True)
        self.entries, self.dirs = seen, dirs

    def restore(self) -> list[str]:
        """Put the folder back as snapshot() saw it; returns one line per change undone."""
        fixed = []
        # folders first: back where they were, with their permissions (so the walk sees all)
        for d, mode in sorted(self.dirs.items(), key=lambda kv: len(kv[0])):
            try:
                st = os.lstat(d)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                os.unlink(d)
                st = None
            if st is None:
                os.makedirs(d, exist_ok=True)
                fixed.append(f"recreated the folder {self._rel(d)}")
            if st is None or stat.S_IMODE(st.st_mode) != mode:
                os.chmod(d, mode)
        now = {}
        for path, st in self._walk():
            now[path] = st
        # new entries (deepest first)
        for path in sorted(set(now) - set(self.entries) - set(self.dirs), key=len, reverse=True):
            st = now[path]
            self._clear(path, st)
            fixed.append(f"removed {self._rel(path)} (created by the notebook)")
        for path, e in self.entries.items():
            st = now.get(path)
            if st is not None and _sig(st) == e.sig:
                continue
            if e.kind == "other":
                fixed.append(f"{self._rel(path)} (not a regular file) was changed: not restored")
                continue
            if e.kind == "link":
                if st is not None and stat.S_ISLNK(st.st_mode) and os.readlink(path) == e.target:
                    continue
                self._clear(path, st)
                os.symlink(e.target, path)
                fixed.append(f"restored the link {self._rel(path)}")
                continue
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == e.sig[1] \
                    and _sha(path) == e.sha:
                if stat.S_IMODE(st.st_mode) != stat.S_IMODE(e.sig[0]):
                    os.chmod(path, stat.S_IMODE(e.sig[0]))
                self.entries[path] = Entry("file", _sig(os.lstat(path)), e.sha, e.copy)
                continue
            copy = self.store / e.copy
            if _sha(copy) != e.sha:
                raise GuardError(f"cannot restore {path}: the grader's own copy was changed")
            self._clear(path, st)
            tmp = f"{path}.zth-restore"
            shutil.copyfile(copy, tmp)
            os.chmod(tmp, stat.S_IMODE(e.sig[0]))
            os.replace(tmp, path)
            self.entries[path] = Entry("file", _sig(os.lstat(path)), e.sha, e.copy)
            fixed.append(f"{'restored' if st is not None else 'recreated'} {self._rel(path)} "
                         f"({'deleted' if st is None else 'changed'} by the notebook)")
        return fixed

    def _clear(self, path: str, st) -> None:
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)

    def _rel(self, path: str) -> str:
        p = Path(path)
        return str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)
