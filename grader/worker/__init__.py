"""Everything that runs inside the sandbox: the worker loop, the wire format and the probes.

This folder is the only part of the grader visible to student code (bound read-only into the
sandbox as the package `zth_worker`), so it holds no checks, no oracles and no reference code.
Modules here use relative imports only and import numpy lazily (micrograd's worker must not).
"""
