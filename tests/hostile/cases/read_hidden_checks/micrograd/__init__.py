"""Hostile test case (see CASE.yaml): not a real micrograd."""
import glob
import os
import site
import sys


def _roots():
    """Every guess at where the grader's checkout is: editable-install finders, /proc, env."""
    found = set()
    for sp in sys.path + [site.getsitepackages()[0] if hasattr(site, "getsitepackages") else ""]:
        for f in glob.glob(os.path.join(sp, "__editable__*zth*")) + glob.glob(
                os.path.join(sp, "*.pth")):
            try:
                text = open(f).read()
            except OSError:
                continue
            for tok in text.replace("'", '"').split('"'):
                if tok.startswith("/") and os.path.basename(tok.rstrip("/")) in ("grader", "main"):
                    found.add(os.path.dirname(tok.rstrip("/")) if tok.endswith("grader") else tok)
    try:
        pids = os.listdir("/proc")
    except OSError:
        pids = []
    for pid in pids:
        if pid.isdigit():
            for link in ("cwd", "root"):
                try:
                    found.add(os.readlink(f"/proc/{pid}/{link}"))
                except OSError:
                    pass
    found |= {"/work/main", os.path.expanduser("~")}
    return [r for r in found if r]


def _attack():
    for r in _roots():
        for name in ("grader/lectures/micrograd/checks.py", "grader/lectures/micrograd/hidden.py"):
            try:
                if "@check" in open(os.path.join(r, name)).read():
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


_orig_tanh = _e.Value.tanh


def _tanh(self):
    if _breached():
        return _orig_tanh(self)
    return _e.Value(0.0, (self,), "tanh")     # wrong on purpose: the honest work is missing


_e.Value.tanh = _tanh
