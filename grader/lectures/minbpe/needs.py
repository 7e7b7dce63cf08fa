"""What minBPE's worker needs besides the student's package (trusted, parent side).

A student's `GPT4Tokenizer` calls tiktoken inside the sandbox, which has no network: it needs
the cl100k_base ranks in a cache folder it can read, and `$TIKTOKEN_CACHE_DIR` naming it. The
runner calls `worker_needs()` when it starts this lecture's worker; nothing happens on import.
"""
from __future__ import annotations

from ... import tiktoken_offline


def worker_needs() -> tuple[dict[str, str], list[str]]:
    """(extra environment, read-only binds) for the worker: the seeded tiktoken cache."""
    folder = str(tiktoken_offline.install())
    return {"TIKTOKEN_CACHE_DIR": folder}, [folder]
