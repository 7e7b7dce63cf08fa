"""Kernel-enforced limits the worker puts on itself before any student code runs (Linux).

Audit hooks and rlimits are not a security boundary: student code can reach libc through
`ctypes`. These are, and they work without root and inside or outside bubblewrap:

  seccomp   no new processes (fork, vfork, clone without CLONE_THREAD), no exec, no signals or
            ptrace to any other process. So no fork bombs (RLIMIT_NPROC does not apply to root),
            no `setsid` + double-fork escape from the process-group kill, no killing the grader.
  landlock  the file system shrinks to: read-only Python, the worker code and the submission;
            read-write the worker's own temp dir. `reference/`, hidden checks, other students'
            submissions, report files and the parent's /proc entries (its environment) become
            unreadable, even for root. TCP bind/connect is denied, and signals and abstract unix
            sockets are scoped to the worker itself where the kernel supports it.
  caps      when the worker runs as root (the `process` layer), every capability is dropped from
            its bounding, effective, permitted and inheritable sets (no mount, no chown, ...).

Each step is best effort: `apply` returns the names of the steps that took effect, and the
parent reports them; a kernel without one of them keeps the remaining layers.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_CAPBSET_DROP = 38, 22, 24
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
EPERM, ENOSYS = 1, 38
CLONE_THREAD = 0x00010000

# arch id for seccomp, and the syscall numbers this filter cares about
ARCHES = {
    "x86_64": (0xC000003E, {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
                            "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
                            "tkill": 200, "pidfd_send_signal": 424, "pidfd_getfd": 438,
                            "clone": 56, "clone3": 435, "kill": 62, "tgkill": 234,
                            "shmget": 29, "shmat": 30, "semget": 64, "semop": 65, "msgget": 68,
                            "msgsnd": 69, "msgrcv": 70, "semtimedop": 220, "mq_open": 240}),
    "aarch64": (0xC00000B7, {"execve": 221, "execveat": 281, "ptrace": 117,
                             "process_vm_readv": 270, "process_vm_writev": 271, "tkill": 130,
                             "pidfd_send_signal": 424, "pidfd_getfd": 438, "clone": 220,
                             "clone3": 435, "kill": 129, "tgkill": 131, "mq_open": 180,
                             "msgget": 186, "msgrcv": 188, "msgsnd": 189, "semget": 190,
                             "semtimedop": 192, "semop": 193, "shmget": 194, "shmat": 196}),
}
DENY = ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
        "tkill", "pidfd_send_signal", "pidfd_getfd",
        # System V and POSIX message IPC: not files, so Landlock does not see them, and a
        # segment outlives its maker (a channel between two submissions of one sandbox)
        "shmget", "shmat", "semget", "semop", "semtimedop", "msgget", "msgsnd", "msgrcv",
        "mq_open")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _bpf(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def seccomp_program(machine: str, pid: int) -> bytes:
    """A BPF filter: deny process creation, exec and signals/ptrace aimed at other processes."""
    arch, nr = ARCHES[machine]
    LD, JEQ, JSET, JGE, RET = 0x20, 0x15, 0x45, 0x35, 0x06
    deny, enosys, allow = 0x00050000 | EPERM, 0x00050000 | ENOSYS, RET_ALLOW
    # layout: [checks...] then fixed tail: allow, deny, enosys, clone-check, self-check
    body: list[tuple] = [(LD, 4), ("jne", arch, "deny"), (LD, 0)]
    if machine == "x86_64":
        body.append(("jge", 0x40000000, "deny"))          # the x32 ABI: not for us
    for name in DENY:
        if name in nr:
            body.append(("jeq", nr[name], "deny"))
    body += [("jeq", nr["clone3"], "enosys"),            # glibc falls back to clone()
             ("jeq", nr["clone"], "clone"), ("jeq", nr["kill"], "self"),
             ("jeq", nr["tgkill"], "self"), ("ret", allow)]
    tail = {"deny": [("ret", deny)], "enosys": [("ret", enosys)],
            "clone": [(LD, 16), ("jset", CLONE_THREAD, "allow_here"), ("ret", deny),
                      ("ret", allow)],
            "self": [(LD, 16), ("jeq_self", pid), ("ret", deny), ("ret", allow)]}
    labels, pos = {}, len(body)
    for name, ins in tail.items():
        labels[name] = pos
        pos += len(ins)
    out = []
    prog = body + [i for ins in tail.values() for i in ins]
    for at, ins in enumerate(prog):
        op = ins[0]
        if op == LD:
            out.append(_bpf(LD, ins[1]))
        elif op == "ret":
            out.append(_bpf(RET, ins[1]))
        elif op == "jne":
            out.append(_bpf(JEQ, ins[1], 0, labels[ins[2]] - at - 1))
        elif op in ("jeq", "jge"):
            out.append(_bpf(JEQ if op == "jeq" else JGE, ins[1], labels[ins[2]] - at - 1, 0))
        elif op == "jset":      # flag set: skip the deny to the allow right after it
            out.append(_bpf(JSET, ins[1], 1, 0))
        elif op == "jeq_self":
            out.append(_bpf(JEQ, ins[1], 1, 0))
    return b"".join(out)


def _seccomp(libc) -> bool:
    machine = platform.machine()
    if machine not in ARCHES:
        return False
    prog = seccomp_program(machine, os.getpid())
    buf = ctypes.create_string_buffer(prog, len(prog))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


# -- landlock -------------------------------------------------------------------------------
LL_CREATE, LL_ADD, LL_RESTRICT = 444, 445, 446       # same numbers on x86_64 and aarch64
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FILE_RIGHTS = {1: 0b111, 3: 0b111 | 1 << 14, 5: 0b111 | 1 << 14 | 1 << 15}


def _fs_rights(abi: int) -> int:
    """Every file-system right this ABI knows (refer: 2, truncate: 3, ioctl_dev: 5)."""
    return (1 << (13 + (abi >= 2) + (abi >= 3) + (abi >= 5))) - 1


def _file_rights(abi: int) -> int:
    return FILE_RIGHTS[1 if abi < 3 else 3 if abi < 5 else 5]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none (asks; restricts nothing)."""
    if not sys.platform.startswith("linux") or platform.machine() not in ARCHES:
        return 0     # the syscall numbers below are Linux's
    try:
        libc = _libc()
    except OSError:
        return 0
    return max(0, libc.syscall(LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def _landlock(libc, read: list[str], write: list[str]) -> bool:
    abi = libc.syscall(LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return False
    handled = _fs_rights(abi)
    if abi >= 6:       # fs, net (tcp bind+connect), scoped (abstract unix sockets, signals)
        attr = struct.pack("QQQ", handled, 0b11, 0b11)
    elif abi >= 4:
        attr = struct.pack("QQ", handled, 0b11)
    else:
        attr = struct.pack("Q", handled)
    fd = libc.syscall(LL_CREATE, attr, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if fd < 0:
        return False
    try:
        ro = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
        for paths, rights in ((read, ro), (write, handled)):
            for p in paths:
                try:
                    pfd = os.open(p, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights
                    if not os.path.isdir(p):
                        allowed &= _file_rights(abi)
                    rule = struct.pack("=Qi", allowed, pfd)
                    if libc.syscall(LL_ADD, ctypes.c_int(fd), ctypes.c_int(1), rule,
                                    ctypes.c_uint32(0)) != 0:
                        return False
                finally:
                    os.close(pfd)
        return libc.syscall(LL_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)) == 0
    finally:
        os.close(fd)


def _drop_caps(libc) -> bool:
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            return False
    header = struct.pack("Ii", 0x20080522, 0)     # _LINUX_CAPABILITY_VERSION_3, this thread
    data = bytes(24)                               # two empty {effective, permitted, inheritable}
    return libc.capset(header, data) == 0


def apply(read: list[str], write: list[str]) -> list[str]:
    """Confine this process for good; return the names of the layers that took effect."""
    if not hasattr(os, "O_PATH"):
        return []
    try:
        libc = _libc()
    except OSError:
        return []
    done = []
    if os.geteuid() == 0 and _drop_caps(libc):
        done.append("no-capabilities")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return done
    if _landlock(libc, read, write):
        done.append("landlock")
    if _seccomp(libc):
        done.append("seccomp")
    return done
