"""The course's data sets: names.txt, tinyshakespeare.txt, taylorswift.txt.

Lookup order: an explicit path → $ZTH_DATA_DIR → the copy shipped inside the package. Shipped
copies are verified against SHA256SUMS; a missing or corrupt file is an error that names every
place tried. A user's own file works wherever a path is accepted (makemore's promise: any text
file, one item per line).
"""
from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "data"
KNOWN = ("names.txt", "tinyshakespeare.txt", "taylorswift.txt")


class DataError(Exception):
    pass


@cache
def _sums() -> dict[str, str]:
    out = {}
    for line in (PACKAGED / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            out[name] = digest
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find(name: str, path: str | os.PathLike | None = None) -> Path:
    """Locate a data file; `name` is one of KNOWN, `path` an explicit file or folder."""
    tried = []
    candidates = []
    if path:
        p = Path(path)
        explicit = p / name if p.is_dir() else p
        if not explicit.is_file():
            raise DataError(f"cannot find {name}: {explicit} does not exist (you passed "
                            f"{path}); leave the path out to use $ZTH_DATA_DIR or the packaged "
                            "copy")
        candidates.append(explicit)
    if os.environ.get("ZTH_DATA_DIR"):
        candidates.append(Path(os.environ["ZTH_DATA_DIR"]) / name)
    candidates.append(PACKAGED / name)
    for c in candidates:
        if not c.is_file():
            tried.append(f"{c} (not found)")
            continue
        want = _sums().get(name) if c.name == name else None
        if want and sha256(c) != want:
            tried.append(f"{c} (sha256 mismatch: corrupt or a different file)")
            continue
        return c
    raise DataError(f"cannot find {name}; tried:\n  " + "\n  ".join(tried) +
                    "\nset ZTH_DATA_DIR to a folder holding it, or pass its path")


def read_text(name: str, path=None) -> str:
    return find(name, path).read_text(encoding="utf-8")


def read_words(path=None, name: str = "names.txt") -> list[str]:
    """One item per line, blank lines dropped (makemore's input format)."""
    return [w.strip() for w in read_text(name, path).splitlines() if w.strip()]
