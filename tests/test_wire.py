"""Reply decoding is bounded before any object is built (grader/worker/wire.py): bytes of the
JSON part, number of values, of lists/objects, and nesting depth, from course.yaml `limits:`.
A reply past a bound is the student's bad reply (it says which bound), never a grader bug, and
the parent's memory stays bounded whatever the reply holds."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import REFERENCE, ROOT

from grader.config import load_course
from grader.worker import wire

LIMITS = load_course().limits


def raw(head: bytes, blobs: tuple[bytes, ...] = ()) -> bytes:
    """A message with this JSON text as its head, as a hostile worker could write it."""
    parts = [wire._LEN.pack(len(blobs)), wire._LEN.pack(len(head)), head]
    for b in blobs:
        parts += [wire._LEN.pack(len(b)), b]
    return b"".join(parts)


def test_round_trip_keeps_dtypes_shapes_and_order_and_arrays_are_writable_views():
    arrays = [np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6).reshape(2, 3)),
              np.array(3.5, dtype=np.float32), np.zeros((0, 4)), np.array([True, False]),
              np.array(["ab", "c"]), np.arange(10, dtype=np.int8)[::2]]
    msg = {"a": arrays, "b": {"x": arrays[0], "s": ["[{", '"]', None, 1.5, -2]}, "c": arrays[2]}
    data = wire.encode(msg)
    for buf in (data, bytearray(data)):
        out = wire.decode(buf)
        for got, want in zip([*out["a"], out["b"]["x"], out["c"]],
                             [*arrays, arrays[0], arrays[2]]):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            assert got.flags.writeable           # a probe's oracle may work in place
        assert out["b"]["s"] == ["[{", '"]', None, 1.5, -2]
    buf = bytearray(data)      # what the parent reads a reply into: arrays view it, no copy
    assert np.shares_memory(wire.decode(buf)["a"][0], np.frombuffer(buf, np.uint8))
    assert json.loads(json.dumps(wire.decode(wire.encode({"n": [1, [2, [3]]]})))) == \
        {"n": [1, [2, [3]]]}


def test_object_arrays_and_lying_headers_are_bad_replies():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError, match="bad array"):
        wire.decode(raw(b'{"__nd__":0}', (buf.getvalue(),)))
    buf = io.BytesIO()
    np.save(buf, np.arange(1000.0))
    with pytest.raises(wire.WireError, match="not the size its header says"):
        wire.decode(raw(b'{"__nd__":0}', (buf.getvalue()[:-8],)))
    with pytest.raises(wire.WireError, match="bad array reference"):
        wire.decode(raw(b'[{"__nd__":1}]', (buf.getvalue(),)))


SMALL = wire.Bounds(json_bytes=4000, values=300, containers=50, depth=8)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("bound,at_cap,past_cap", [
    ("reply_json_kb", b"[" + b" " * 3998 + b"]", b"[" + b" " * 3999 + b"]"),
    # 299 numbers and their list are 300 values (keys count too, as in {"k": 1}: 3)
    ("reply_values", b"[" + b"1," * 298 + b"1]", b"[" + b"1," * 299 + b"1]"),
    ("reply_containers", b"[" + b"[]," * 48 + b"[]]", b"[" + b"[]," * 49 + b"[]]"),
    ("reply_depth", nested(8), nested(9)),
    ("reply_depth", b'{"a":' * 7 + b"[]" + b"}" * 7, b'{"a":' * 8 + b"[]" + b"}" * 8),
])
def test_each_bound_admits_the_cap_and_refuses_one_past_it(bound, at_cap, past_cap):
    assert wire.decode(raw(at_cap), SMALL) == json.loads(at_cap)     # the oracle: json itself
    with pytest.raises(wire.WireError) as e:
        wire.decode(raw(past_cap), SMALL)
    assert e.value.bound == bound and bound in str(e.value)


def test_brackets_commas_and_quotes_inside_strings_do_not_count():
    text = json.dumps(["[[[[[[[[[[{{{{{{{{{{,,,,,,,,::::::", '\\"]]]]]]]]', "\\", '"'])
    assert wire.decode(raw(text.encode()), SMALL) == json.loads(text)


def test_unmatched_brackets_are_bad_json_not_a_crash():
    for bad in (b"[}", b"]]]][[[[", b"[" * 5, b'["abc]'):
        with pytest.raises(wire.WireError, match="bad JSON"):
            wire.decode(raw(bad))


@pytest.mark.parametrize("name,head,bound", [
    ("40 MB of empty lists", b"[" + b"[]," * ((40 << 20) // 3) + b"[]]", "reply_json_kb"),
    ("1 MB of empty lists", b"[" + b"[]," * 330_000 + b"[]]", "reply_containers"),
    ("200,000 deep", nested(200_000), "reply_containers"),
    ("90,000 deep", nested(90_000), "reply_depth"),
    ("65 deep, in objects", b'{"a":' * 65 + b"1" + b"}" * 65, "reply_depth"),
    ("4 million numbers", b"[" + b"0," * 4_000_000 + b"0]", "reply_values"),
])
def test_hostile_replies_are_refused_in_milliseconds_with_the_bound(name, head, bound):
    bounds = wire.Bounds.from_limits(LIMITS)
    if len(head) > bounds.json_bytes and bound != "reply_json_kb":   # reach the later bound
        bounds = wire.Bounds(len(head), bounds.values, bounds.containers, bounds.depth)
    t0 = time.perf_counter()
    with pytest.raises(wire.WireError) as e:
        wire.decode(raw(head), bounds)
    assert e.value.bound == bound, (name, str(e.value))
    assert time.perf_counter() - t0 < 2.0, name


# the parent's side of one request: a Worker reading a reply from a pipe, with torch imported as
# in `zth grade`; prints the reply's status and message and the process's peak RSS
RSS_CHILD = textwrap.dedent("""
    import os, resource, sys, threading
    import numpy as np, torch
    from grader.config import load_course
    from grader.sandbox import Worker, WorkerSpec
    from grader.worker import wire
    def hwm():   # VmHWM in kB: ru_maxrss would carry the forking pytest's size across exec
        return next(int(x.split()[1]) for x in open("/proc/self/status")
                    if x.startswith("VmHWM"))
    kind = sys.argv[1]
    lim = load_course().limits
    b = wire.Bounds.from_limits(lim)
    if kind == "empty-lists":          # a 40 MB reply of empty lists (under reply_mb)
        head, blobs = b"[" + b"[]," * ((40 << 20) // 3) + b"[]]", []
    elif kind == "deep":               # nested 200,000 deep
        head, blobs = b"[" * 200000 + b"]" * 200000, []
    else:                              # accepted, at every cap: the most lists/objects and
        # values allowed, a string filling the JSON part to reply_json_kb, and an array
        # filling the message to reply_mb
        n_obj = b.containers - 3
        n_num = b.values - 3 * n_obj - 13
        head = (b'{"id":1,"status":"ok","value":[' + b'{"k":1.5},' * n_obj + b"0.25," * n_num
                + b'{"__nd__":0}],"pad":"')
        head += b"x" * (b.json_bytes - len(head) - 2) + b'"}'
        wire.prescan(head, b)         # at the caps, not past them
        assert len(head) == b.json_bytes
        import io
        arr = np.ones(((lim.reply_mb << 20) - len(head) - 4096) // 8)
        f = io.BytesIO(); np.save(f, arr); blobs = [f.getvalue()]; del arr, f
    msg = wire._LEN.pack(len(blobs)) + wire._LEN.pack(len(head)) + head
    for blob in blobs:
        msg += wire._LEN.pack(len(blob)) + blob
    del blobs
    spec = WorkerSpec("micrograd", "micrograd", None, 1, 64, lim.reply_mb, bounds=b)
    w = Worker(spec, "process")
    r, wfd = os.pipe()
    w.rep_r, w.req_w = r, os.open(os.devnull, os.O_WRONLY)
    w.out = w.err = None
    def feed(data=memoryview(wire.frame(msg))):
        while data:
            data = data[os.write(wfd, data[:1 << 20]):]
    del msg
    base = hwm()
    threading.Thread(target=feed, daemon=True).start()
    reply = w._request({"op": "x"}, 120)
    peak = hwm()
    print(reply.status, peak // 1024, base // 1024, reply.message.replace(chr(10), " "))
""")


@pytest.mark.parametrize("kind,status,says", [
    ("empty-lists", "bad_reply", "reply_json_kb"),
    ("deep", "bad_reply", "reply_containers"),
    ("at-the-caps", "ok", ""),
])
def test_the_parents_peak_memory_stays_under_1_gb_at_the_caps(kind, status, says):
    r = subprocess.run([sys.executable, "-c", RSS_CHILD, kind], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got, peak_mb, base_mb, message = r.stdout.split(" ", 3)
    assert got == status, message
    assert says in message
    assert int(peak_mb) < 1024, f"peak RSS {peak_mb} MB (before the reply: {base_mb} MB)"


# -- end to end: a student's package writes these replies itself, beside an honest student -------
FORGE = '''"""Writes a reply of its own to the grader's channel, then waits to be stopped."""
import os
import sys
import time

from . import engine as _e

HEAD = {head}


def _add(self, other):
    f = sys._getframe()
    while f is not None and "fd_out" not in f.f_locals:
        f = f.f_back
    head = HEAD.replace(b"ID", str(f.f_locals["req"]["id"]).encode())
    payload = (0).to_bytes(8, "big") + len(head).to_bytes(8, "big") + head
    data = memoryview(len(payload).to_bytes(8, "big") + payload)
    while data:
        data = data[os.write(f.f_locals["fd_out"], data):]
    time.sleep(60)


_e.Value.__add__ = _add
'''

HOSTILE_REPLIES = {
    "reply_40mb_empty_lists": ('b\'{"id":ID,"status":"ok","value":[\' + b"[]," * (13 << 20) '
                               '+ b"[]]}"', "reply_json_kb"),
    "reply_200k_deep": ('b\'{"id":ID,"status":"ok","value":\' + b"[" * 200000 + b"]" * 200000 '
                        '+ b"}"', "reply_containers"),
    "reply_90k_deep": ('b\'{"id":ID,"status":"ok","value":\' + b"[" * 90000 + b"]" * 90000 '
                       '+ b"}"', "reply_depth"),
}


def test_hostile_replies_in_a_batch_cost_their_check_only(tmp_path):
    import shutil
    batch = tmp_path / "batch"
    shutil.copytree(REFERENCE / "micrograd", batch / "honest" / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name, (head, _) in HOSTILE_REPLIES.items():
        pkg = batch / name / "micrograd"
        shutil.copytree(REFERENCE / "micrograd", pkg, ignore=shutil.ignore_patterns("__pycache__"))
        (pkg / "__init__.py").write_text(FORGE.format(head=head))
    out = tmp_path / "report.json"
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", "import resource, subprocess, sys; "
         "rc = subprocess.run(sys.argv[1:]).returncode; "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(rc)",
         sys.executable, "-m", "grader", "grade", str(batch), "--batch", "--jobs", "2",
         "--seed", "5", "-q", "--check", "micrograd.ops",
         "--format", "json", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[-1]) < 1024, f"peak RSS {r.stdout.split()[-1]} MB"
    report = json.loads(out.read_text())
    checks = {s["student"]: {c["id"]: c for lec in s["lectures"] for c in lec["checks"]}
              for s in report["submissions"]}
    assert {c["status"] for c in checks["honest"].values()} == {"passed"}
    for name, (_, bound) in HOSTILE_REPLIES.items():
        ops = checks[name]["micrograd.ops"]
        assert (ops["status"], ops["points"]) == ("bad_reply", 0), ops["message"]
        assert bound in ops["message"] and "grader bug" not in ops["message"]
    assert elapsed < 120
