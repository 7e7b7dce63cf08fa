"""Run student code in a separate, limited process and talk to it only through plain data.

  layers.py   the isolation layers (bubblewrap, uid-drop, process): which one this machine has,
              and the command that starts a process inside it
  layout.py   what the worker runs: the runtime plus one room's sandboxed probes
  client.py   the parent's side of one worker: start, requests, callbacks, timeouts, crashes
All layers share the protocol, limits and fail-closed handling of client.py.
"""
from .client import BOOT, STATUSES, CallbackRefused, Reply, Worker, WorkerSpec, stopped_at
from .layers import (
                     LAYERS,
                     NOBODY,
                     TMP_MB,
                     _bwrap_base,
                     _python_roots,
                     bwrap_works,
                     choose_isolation,
                     instructor_paths,
                     launch_command,
                     protected,
)
from .layout import GRADER_DIR, WORKER_DIR, layout_worker

__all__ = ["BOOT", "STATUSES", "CallbackRefused", "Reply", "Worker", "WorkerSpec", "stopped_at",
           "LAYERS", "NOBODY", "TMP_MB", "_bwrap_base", "_python_roots", "bwrap_works",
           "choose_isolation", "instructor_paths", "launch_command", "protected", "GRADER_DIR",
           "WORKER_DIR", "layout_worker"]
