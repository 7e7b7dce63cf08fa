"""The wire format between the trusted parent and the untrusted worker.

A message is one JSON document plus zero or more numpy arrays:

    8-byte length | JSON | (8-byte length | .npy bytes) * n

Arrays inside the JSON tree are replaced by {"__nd__": i}. Arrays are decoded without pickle
(plain dtypes only), so a reply is always plain data: no object from the worker ever reaches the
parent, and a lying `__eq__` or a tensor subclass cannot survive the trip.

Decoding is bounded before any Python object is built (`Bounds`, from course.yaml `limits:`):
the JSON part's bytes, then a pre-scan in C-speed passes over the JSON text (strings blanked out)
counts its values and lists/objects and measures its nesting depth; only a message within every
bound reaches `json.loads`. So a reply of 40 MB of empty lists, or one nested 200,000 deep, is
refused in milliseconds as a bad reply, not built (~50x its size in memory) or recursed into.
Arrays are views of the received buffer, not copies, when that buffer is writable.
"""
from __future__ import annotations

import io
import json
import os
import re
import struct
from dataclasses import dataclass

_LEN = struct.Struct(">Q")
ND = "__nd__"
# a JSON string (escapes included) as one token; replaced by a placeholder before the counts
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")     # for the depth, a bracket is a bracket


class WireError(Exception):
    """A message that is malformed, too large, or truncated. `bound` names the limit it broke
    (a course.yaml key) when it broke one: that message is safe and useful to show a student."""

    def __init__(self, message: str, bound: str = ""):
        super().__init__(message)
        self.bound = bound


@dataclass(frozen=True)
class Bounds:
    """What one message may hold; the defaults are course.yaml's."""
    json_bytes: int = 8 << 20
    values: int = 1_000_000
    containers: int = 100_000
    depth: int = 64
    arrays: int = 10_000

    @classmethod
    def from_limits(cls, limits) -> Bounds:
        """From course.yaml `limits:` (a `grader.config.Limits`)."""
        return cls(limits.reply_json_kb << 10, limits.reply_values, limits.reply_containers,
                   limits.reply_depth)


DEFAULT = Bounds()


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.3g} MB"


def prescan(head: bytes, bounds: Bounds = DEFAULT) -> None:
    """Raise WireError if this JSON text holds more values or lists/objects than `bounds`
    allow, or nests deeper; never builds an object and never recurses. Costs a few passes in C
    over the text (one per level of nesting, up to `bounds.depth`, over the brackets alone)."""
    if len(head) > bounds.json_bytes:
        raise WireError(f"its JSON part is larger than {_mb(bounds.json_bytes)} "
                        f"({_mb(len(head))}; reply_json_kb)", "reply_json_kb")
    bare = _STRING.sub(b"0", head)        # brackets and commas inside strings do not count
    brackets = bare.translate(None, _NOT_BRACKET)
    opened = brackets.count(b"[") + brackets.count(b"{")
    if opened > bounds.containers or len(brackets) - opened > bounds.containers:
        raise WireError(f"it holds more than {bounds.containers:,} lists and objects "
                        f"(reply_containers)", "reply_containers")
    values = bare.count(b",") + bare.count(b":") + opened + 1
    if values > bounds.values:
        raise WireError(f"it holds more than {bounds.values:,} values (reply_values)",
                        "reply_values")
    # each pass removes the innermost pairs (one level): what is left after `depth` passes
    # nests deeper (unmatched brackets are left to json.loads to refuse)
    brackets = brackets.translate(_SQUARE)
    too_deep = WireError(f"it nests lists and objects deeper than {bounds.depth} levels "
                         "(reply_depth)", "reply_depth")
    if b"[" * (bounds.depth + 1) in brackets:
        raise too_deep
    for _ in range(bounds.depth):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return
        brackets = shorter
    if b"[]" in brackets:
        raise too_deep


def _is_array(x) -> bool:
    np = _numpy_if_loaded()
    return np is not None and isinstance(x, np.ndarray)


def _numpy_if_loaded():
    import sys
    return sys.modules.get("numpy")


def encode(obj) -> bytes:
    arrays: list[bytes] = []

    def conv(x):
        if x is None or type(x) in (bool, int, str):
            return x
        if type(x) is float:
            return x
        if type(x) in (list, tuple):
            return [conv(v) for v in x]
        if type(x) is dict:
            out = {}
            for k, v in x.items():
                if type(k) is not str or k == ND:
                    raise WireError(f"dict keys must be plain strings, got {k!r}")
                out[k] = conv(v)
            return out
        np = _numpy_if_loaded()
        if np is not None and isinstance(x, (np.floating, np.integer, np.bool_)):
            return conv(x.item())
        if _is_array(x):
            buf = io.BytesIO()
            x = np.asarray(x)     # (np.ascontiguousarray would make a 0-d array 1-d)
            np.save(buf, x if x.flags.c_contiguous else np.ascontiguousarray(x),
                    allow_pickle=False)
            arrays.append(buf.getvalue())
            return {ND: len(arrays) - 1}
        raise WireError(f"cannot send a {type(x).__name__} over the wire")

    head = json.dumps(conv(obj), allow_nan=True, separators=(",", ":")).encode()
    parts = [_LEN.pack(len(head)), head]
    for a in arrays:
        parts += [_LEN.pack(len(a)), a]
    return _LEN.pack(len(arrays)) + b"".join(parts)


def decode(data, bounds: Bounds = DEFAULT):
    """Decode one whole message produced by `encode`, within `bounds` (see `prescan`).

    `data` may be bytes or a bytearray; from a bytearray, arrays are writable views of it."""
    view = memoryview(data)
    pos = 0

    def take(n):
        nonlocal pos
        if n > len(view) - pos:
            raise WireError("truncated message")
        chunk = view[pos:pos + n]
        pos += n
        return chunk

    n_arrays = _LEN.unpack(take(8))[0]
    if n_arrays > bounds.arrays:
        raise WireError(f"it holds more than {bounds.arrays:,} arrays", "arrays")
    head_len = _LEN.unpack(take(8))[0]
    if head_len > bounds.json_bytes:
        raise WireError(f"its JSON part is larger than {_mb(bounds.json_bytes)} "
                        f"({_mb(head_len)}; reply_json_kb)", "reply_json_kb")
    head = bytes(take(head_len))
    blobs = [take(_LEN.unpack(take(8))[0]) for _ in range(n_arrays)]
    if pos != len(view):
        raise WireError("trailing bytes after message")
    prescan(head, bounds)
    try:
        tree = json.loads(head)
    except (ValueError, RecursionError) as e:
        raise WireError(f"bad JSON: {e}") from None
    del head
    arrays = [_array(b) for b in blobs]
    if arrays or n_arrays:
        tree = _put_arrays(tree, arrays)
    return tree


def _array(blob: memoryview):
    """An .npy blob as an array, without pickle and without copying a writable buffer."""
    import numpy as np
    from numpy.lib import format as npy
    try:
        f = io.BytesIO(blob[:min(len(blob), 1 << 16)])     # magic + header (capped at 64 kB)
        version = npy.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError("object arrays are not plain data")
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != len(blob) - f.tell():
            raise ValueError("its data is not the size its header says")
        arr = np.frombuffer(blob, dtype, count, f.tell())
        if blob.readonly:
            arr = arr.copy()
        return arr.reshape(shape, order="F" if fortran else "C")
    except Exception as e:  # noqa: BLE001 - any malformed npy is a bad reply
        raise WireError(f"bad array: {e}") from None


def _put_arrays(tree, arrays: list):
    """Replace each {"__nd__": i} by arrays[i], in place and without recursion."""
    def swap(x):
        if type(x) is dict and len(x) == 1 and ND in x:
            i = x[ND]
            if type(i) is not int or not 0 <= i < len(arrays):
                raise WireError("bad array reference")
            return arrays[i]
        return None

    found = swap(tree)
    if found is not None:
        return found
    stack = [tree]
    while stack:
        node = stack.pop()
        items = node.items() if type(node) is dict else enumerate(node) \
            if type(node) is list else ()
        for k, v in list(items):
            if type(v) in (dict, list):
                got = swap(v)
                if got is not None:
                    node[k] = got
                else:
                    stack.append(v)
    return tree


def frame(payload: bytes) -> bytes:
    return _LEN.pack(len(payload)) + payload


def write_message(fd: int, obj) -> None:
    data = frame(encode(obj))
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, bounds: Bounds = DEFAULT):
    n = _LEN.unpack(read_exact(fd, 8))[0]
    return decode(read_exact(fd, n), bounds)
