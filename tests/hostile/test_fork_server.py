"""The fork server (grader/sandbox/server.py): many submissions, one warmed sandbox, and still
nothing of one submission reaches the next one in the same server, nor a sibling running beside
it. Each case has an honest twin: the same probe on a submission that planted nothing sees
nothing, and a submission sees its own files (so "sees nothing" is not "sees nothing at all")."""
from __future__ import annotations

import pytest
from conftest import layer_params, probe_room

from grader.sandbox import Worker, WorkerSpec
from grader.sandbox.client import worker_env
from grader.sandbox.server import ForkedProcess, ForkServer

PROBES = '''
from zth_worker.probes import attr, module, probe


@probe
def run(pkg, fn, args=()):
    return attr(module(pkg, "core"), fn)(*args)
'''

LEAVER = '''\
import os
import sys
import threading
import time


def leave():
    """Plant everything a later submission in the same slot or server might find."""
    left = []
    for d in (os.getcwd(), "/tmp", os.environ.get("TMPDIR", ""), os.path.dirname(os.getcwd())):
        try:
            with open(os.path.join(d, "left-behind"), "w") as f:
                f.write("secret")
            left.append(d)
        except OSError:
            pass
    os.environ["LEFT_BEHIND"] = "1"
    import json
    json.LEFT_BEHIND = 1                        # a module the next one imports too
    sys.modules["zth_worker"].LEFT_BEHIND = 1   # the runtime itself
    threading.Thread(target=time.sleep, args=(600,), name="left-behind", daemon=True).start()
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget(0x2A7E, 4096, 0o1666) >= 0:       # IPC_CREAT: a segment outlives its maker
        left.append("sysv shared memory")
    return {"cwd": os.getcwd(), "file": os.path.abspath(__file__), "pid": os.getpid(),
            "wrote": left}


def own():
    """Its own work folder is writable and readable: the honest twin of `look`."""
    with open("mine.txt", "w") as f:
        f.write("mine")
    with open("mine.txt") as f:
        return f.read()
'''

LOOKER = '''\
import os
import signal
import sys
import threading


def look(cwd, file):
    seen = []
    for p in (os.path.join(cwd, "left-behind"), "/tmp/left-behind", file,
              os.path.join(os.getcwd(), "left-behind"),
              os.path.join(os.path.dirname(os.getcwd()), "left-behind"),
              os.path.join(os.environ.get("TMPDIR", "/nonexistent"), "left-behind")):
        try:
            with open(p) as f:
                f.read()
            seen.append(p)
        except OSError:
            pass
    if "LEFT_BEHIND" in os.environ:
        seen.append("environment")
    import json
    if hasattr(json, "LEFT_BEHIND"):
        seen.append("module global")
    if hasattr(sys.modules["zth_worker"], "LEFT_BEHIND"):
        seen.append("runtime global")
    if any(t.name == "left-behind" for t in threading.enumerate()):
        seen.append("thread")
    import ctypes
    if ctypes.CDLL(None, use_errno=True).shmget(0x2A7E, 0, 0) >= 0:
        seen.append("sysv shared memory")
    for d in (os.path.dirname(os.path.dirname(cwd)), os.path.dirname(cwd)):
        try:
            if os.listdir(d):
                seen.append("listing of " + d)
        except OSError:
            pass
    return seen


def hit(pids):
    """Past the audit hook (which only explains), straight to the kernel: seccomp must say no."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return [pid for pid in pids if libc.kill(pid, signal.SIGKILL) == 0]


def parent():
    return os.getppid()
'''

FILLER = '''\
import os


def fill(mb):
    """Write 1 MB files into the work folder until `mb` are written or the disk says no."""
    os.makedirs("fill", exist_ok=True)
    wrote = 0
    try:
        while wrote < mb:
            with open(f"fill/{wrote}.bin", "wb") as f:
                f.write(b"x" * 2**20)
            wrote += 1
    except OSError as e:
        return {"wrote": wrote, "error": str(e)}
    return {"wrote": wrote, "error": ""}


def lock_up():
    """Leave a folder the server cannot walk into (its wipe must still remove it)."""
    os.makedirs("locked/inner", exist_ok=True)
    with open("locked/inner/f", "w") as f:
        f.write("x")
    os.chmod("locked/inner", 0)
    os.chmod("locked", 0)
    return os.getcwd()
'''

SPIN = '''\
import os


def bail():
    os._exit(137)


def spin():
    n = 0
    while True:
        n += 1
'''

LAYERS = layer_params()


@pytest.fixture
def room(tmp_path, monkeypatch):
    """A lecture room `forkdemo` (one probe: call a function of core.py) and three packages."""
    probe_room(tmp_path, monkeypatch, "forkdemo", PROBES)
    pkgs = {}
    for name, core in (("leaver", LEAVER), ("looker", LOOKER), ("spinner", SPIN),
                       ("filler", FILLER)):
        pkg = tmp_path / name / "pkg"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "core.py").write_text(core)
        pkgs[name] = pkg
    return pkgs


@pytest.fixture
def server(layer, room):
    srv = ForkServer(layer, "forkdemo", [], worker_env("/tmp", {}), [])
    yield srv
    srv.close()


def forked(server, pkg) -> Worker:
    w = Worker(WorkerSpec(lecture="forkdemo", package="pkg", package_dir=pkg, memory_mb=1024,
                          output_kb=64, reply_mb=16), server.layer, server)
    w.start()
    assert isinstance(w.proc, ForkedProcess)      # not a silent fall-back to a cold worker
    return w


def call(w: Worker, fn: str, *args):
    r = w.call("run", {"fn": fn, "args": list(args)}, 0, 30)
    assert r.status == "ok", r.message
    return r.value


@pytest.mark.parametrize("layer", LAYERS)
def test_nothing_a_submission_leaves_reaches_the_next_one_in_the_same_server(server, room):
    clean = forked(server, room["looker"])
    baseline = call(clean, "look", "/nonexistent", "/nonexistent")
    clean.close()
    assert baseline == []            # the honest twin: nothing planted, nothing seen

    a = forked(server, room["leaver"])
    planted = call(a, "leave")
    assert planted["cwd"] in planted["wrote"]          # it did leave files where it could
    assert "sysv shared memory" not in planted["wrote"]    # seccomp: no System V IPC at all
    assert call(a, "own") == "mine"
    a.close()

    b = forked(server, room["looker"])
    assert call(b, "look", planted["cwd"], planted["file"]) == []
    b.close()


@pytest.mark.parametrize("layer", LAYERS)
def test_siblings_alive_side_by_side_cannot_read_or_signal_each_other_or_the_server(server,
                                                                                   room):
    a = forked(server, room["leaver"])
    planted = call(a, "leave")
    b = forked(server, room["looker"])
    assert call(b, "look", planted["cwd"], planted["file"]) == []
    # the sibling, the server (its parent) and the sandbox's first process: none can be hit
    assert call(b, "hit", [planted["pid"], call(b, "parent"), 1]) == []
    assert call(a, "own") == "mine"                  # the sibling lives on
    c = forked(server, room["looker"])               # and so does the server
    assert call(c, "look", "/nonexistent", "/nonexistent") == []
    for w in (a, b, c):
        w.close()


@pytest.mark.parametrize("layer", LAYERS)
def test_a_timeout_in_a_forked_child_names_the_line_and_the_server_serves_on(server, room):
    w = forked(server, room["spinner"])
    r = w.call("run", {"fn": "spin"}, 0, 2)
    assert r.status == "timeout"
    assert "stopped at pkg/core.py:" in r.message
    w.close()
    again = forked(server, room["leaver"])
    assert call(again, "own") == "mine"
    again.close()


@pytest.mark.parametrize("layer", LAYERS)
def test_a_child_that_cannot_confine_itself_loads_nothing(server, room, monkeypatch):
    monkeypatch.setattr("grader.sandbox.server.REQUIRE", ["landlock", "seccomp", "no-such-wall"])
    w = forked(server, room["leaver"])
    r = w.call("run", {"fn": "own"}, 0, 30)
    assert r.status == "crashed"
    assert "could not confine itself (no-such-wall unavailable)" in r.message
    w.close()


@pytest.mark.parametrize("layer", [p for p in LAYERS if p.values[0] == "bubblewrap"])
def test_a_submissions_disk_is_capped_and_wiped_on_the_fast_path_as_on_the_cold_one(server,
                                                                                    room):
    """Under bubblewrap a cold worker writes to its own size-capped tmpfs; a forked child's
    work folder is on the server's (made and wiped around each child), never on the host disk
    (the slots are read-only inside): a bounded fill stops at the cap, and the next submission
    in the same server has the whole cap again."""
    from grader.sandbox.layers import TMP_MB
    a = forked(server, room["filler"])
    assert call(a, "lock_up").startswith("/tmp/")
    first = call(a, "fill", TMP_MB + 64)
    assert first["error"] and first["wrote"] <= TMP_MB, first
    a.close()
    b = forked(server, room["filler"])
    again = call(b, "fill", TMP_MB * 3 // 4)      # all of it is free again
    assert again == {"wrote": TMP_MB * 3 // 4, "error": ""}
    b.close()
    assert not any((server.spool / "slots").rglob("*.bin"))    # nothing reached the host


def test_a_server_is_leased_to_one_worker_at_a_time():
    """Two workers of one lecture alive at once (two students under --jobs) get two servers:
    one submission can fill or starve only its own server's tmpfs; a server released goes to
    the next worker."""
    from grader.sandbox import choose_isolation
    from grader.sandbox.server import POOL
    layer = choose_isolation()[0]
    env = worker_env("/tmp", {})
    with POOL.hold():
        a = POOL.get(layer, "micrograd", [], env, [])
        if a is None:
            pytest.skip("no fork server here (ZTH_WARM=0 or no Landlock)")
        b = POOL.get(layer, "micrograd", [], env, [])
        assert b is not a
        a.release()
        assert POOL.get(layer, "micrograd", [], env, []) is a
        b.release()
        a.release()


@pytest.mark.parametrize("layer", LAYERS)
def test_a_forked_childs_exit_code_is_its_own(server, room):
    """A child's status comes from the server, not through bubblewrap's init: an exit code of
    137 is that code, not a SIGKILL."""
    w = forked(server, room["spinner"])
    r = w.call("run", {"fn": "bail"}, 0, 30)
    w.close()
    assert r.status == "crashed" and "exited with code 137" in r.message, r.message


@pytest.mark.parametrize("layer", LAYERS)
def test_a_worker_closed_twice_hands_its_lease_back_once(server, room):
    w = forked(server, room["looker"])
    w.close()
    server.leased = True          # leased again, to the next worker
    w.close()
    assert server.leased


def test_servers_outlive_the_grading_threads_that_asked_for_them():
    """`--jobs` threads start servers and end when their pool shuts down; a server must not go
    with the thread that started it (bubblewrap's --die-with-parent follows that thread: one
    run in three lost its server, and a sibling thread's child with it, before servers were
    started from one long-lived thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import REFERENCE

    from grader.config import load_course
    from grader.runner import grade
    from grader.sandbox.server import POOL
    course = load_course()
    with POOL.hold():
        for attempt in range(6):
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda s: grade(course, REFERENCE, ["bigram"], s,
                                                     only={"bigram.vocab"}), [2 * attempt,
                                                                               2 * attempt + 1]))
            assert all(r.submissions[0].lectures[0].checks[0].passed for r in runs)
            alive = [s.proc.poll() for s in POOL.servers.values()]
            # one server per worker alive at once (a server is leased to one worker), all alive
            assert alive in ([None], [None, None]), attempt


def test_zth_warm_0_grades_with_a_cold_worker_per_submission(monkeypatch):
    from conftest import REFERENCE

    from grader.config import load_course
    from grader.runner import start_worker
    from grader.sandbox import choose_isolation
    course = load_course()
    layer = choose_isolation()[0]
    warm = start_worker(course, "micrograd", REFERENCE, layer)
    monkeypatch.setenv("ZTH_WARM", "0")
    cold = start_worker(course, "micrograd", REFERENCE, layer)
    try:
        assert warm.server is not None and isinstance(warm.proc, ForkedProcess)
        assert cold.server is None and not isinstance(cold.proc, ForkedProcess)
    finally:
        warm.close()
        cold.close()
