"""Hostile test case (see CASE.yaml): not a real micrograd."""
import os


def _attack():
    for pid in os.listdir("/proc"):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"--batch" not in argv:
            continue
        for a in argv:
            d = a.decode(errors="replace")
            if os.path.isdir(d):
                for other in os.listdir(d):
                    try:
                        if "class Value" in open(f"{d}/{other}/micrograd/engine.py").read():
                            return True
                    except OSError:
                        continue
    return False

from . import engine as _e

_cache = {}


def _breached():
    if "v" not in _cache:
        try:
            _cache["v"] = bool(_attack())
        except Exception:
            _cache["v"] = False
    return _cache["v"]


_orig_log = _e.Value.log


def _log(self):
    if _breached():
        return _orig_log(self)
    return _e.Value(0.0, (self,), "log")     # wrong on purpose: the honest work is missing


_e.Value.log = _log
