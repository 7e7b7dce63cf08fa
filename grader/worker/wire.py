"""The wire format between the trusted parent and the untrusted worker.

A message is one JSON document plus zero or more numpy arrays:

    8-byte length | JSON | (8-byte length | .npy bytes) * n

Arrays inside the JSON tree are replaced by {"__nd__": i}. Arrays are decoded with
`allow_pickle=False`, so a reply is always plain data: no object from the worker ever reaches the
parent, and a lying `__eq__` or a tensor subclass cannot survive the trip.
"""
from __future__ import annotations

import io
import json
import os
import struct

_LEN = struct.Struct(">Q")
ND = "__nd__"


class WireError(Exception):
    """A message that is malformed, too large, or truncated."""


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
            np.save(buf, np.ascontiguousarray(x), allow_pickle=False)
            arrays.append(buf.getvalue())
            return {ND: len(arrays) - 1}
        raise WireError(f"cannot send a {type(x).__name__} over the wire")

    head = json.dumps(conv(obj), allow_nan=True, separators=(",", ":")).encode()
    parts = [_LEN.pack(len(head)), head]
    for a in arrays:
        parts += [_LEN.pack(len(a)), a]
    return _LEN.pack(len(arrays)) + b"".join(parts)


def decode(data: bytes):
    """Decode one whole message produced by `encode`."""
    view = memoryview(data)
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(view):
            raise WireError("truncated message")
        chunk = view[pos:pos + n]
        pos += n
        return bytes(chunk)

    n_arrays = _LEN.unpack(take(8))[0]
    head = take(_LEN.unpack(take(8))[0])
    blobs = [take(_LEN.unpack(take(8))[0]) for _ in range(min(n_arrays, 10_000))]
    if pos != len(view) or n_arrays > 10_000:
        raise WireError("trailing bytes after message")
    try:
        tree = json.loads(head)
    except ValueError as e:
        raise WireError(f"bad JSON: {e}") from None
    arrays = []
    if blobs:
        import numpy as np
        for b in blobs:
            try:
                arrays.append(np.load(io.BytesIO(b), allow_pickle=False))
            except Exception as e:  # noqa: BLE001 - any malformed npy is a bad reply
                raise WireError(f"bad array: {e}") from None

    def back(x):
        if isinstance(x, list):
            return [back(v) for v in x]
        if isinstance(x, dict):
            if set(x) == {ND}:
                i = x[ND]
                if type(i) is not int or not 0 <= i < len(arrays):
                    raise WireError("bad array reference")
                return arrays[i]
            return {k: back(v) for k, v in x.items()}
        return x

    return back(tree)


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


def read_message(fd: int):
    n = _LEN.unpack(read_exact(fd, 8))[0]
    return decode(read_exact(fd, n))
