"""Probes for lecture 5 (backprop ninja). The student's manual-gradient functions run under a
guard that forbids autograd: the lecture's policy is enforced here, in the worker.

The guard has three layers: a torch function mode that refuses `Tensor.backward`,
`torch.autograd.grad`/`backward` and turning on `requires_grad`; saved-tensor hooks that fire if
any autograd graph is recorded at all; and a final look at the results (no `grad_fn`). Inputs
never require grad, so a correct manual backward trips none of them. A violation raises
`PolicyViolation` (status "policy"), even if the student's code catches the first exception.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import torch
from torch.overrides import TorchFunctionMode
from zth_worker.probes import PolicyViolation, attr, module, probe
from zth_worker.probes._tensors import array

MESSAGE = "the manual backward pass may not use autograd"
FORBIDDEN = {torch.Tensor.backward: "Tensor.backward()", torch.autograd.grad: "torch.autograd.grad",
             torch.autograd.backward: "torch.autograd.backward"}


class NoAutograd(TorchFunctionMode):
    def __init__(self, where: str):
        super().__init__()
        self.where = where
        self.found: list[str] = []

    def violation(self, what: str):
        self.found.append(what)
        return PolicyViolation(f"{MESSAGE}: {self.where} used {what}")

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        what = FORBIDDEN.get(func)
        if what is None and func is torch.Tensor.requires_grad_ and \
                (args[1] if len(args) > 1 else kwargs.get("requires_grad", True)):
            what = "requires_grad_()"
        elif what is None and getattr(func, "__name__", "") == "__set__" and \
                getattr(func, "__self__", None) is torch.Tensor.requires_grad and args[1]:
            what = "requires_grad = True"
        elif what is None and kwargs.get("requires_grad"):
            what = f"{getattr(func, '__name__', 'a tensor factory')}(..., requires_grad=True)"
        if what is not None:
            raise self.violation(what)
        return func(*args, **kwargs)

    def pack(self, t):
        raise self.violation("autograd (a computation graph was recorded)")


def guarded(fn, where: str, *args, **kwargs):
    mode = NoAutograd(where)
    # the mode and the hooks are thread-local: a thread started in here would run without them.
    # The parent's escape scan refuses threading in the source; this is the run-time evidence:
    # every thread the threading module starts runs this profile hook first.
    started: list[str] = []

    def first_event(*_):
        started.append(threading.current_thread().name)
        sys.setprofile(None)

    threading.setprofile(first_event)
    try:
        with torch.autograd.graph.saved_tensors_hooks(mode.pack, lambda t: t), mode:
            out = fn(*args, **kwargs)
    except PolicyViolation:
        raise
    except BaseException:
        if mode.found:
            raise mode.violation(mode.found[0]) from None
        if started:
            raise mode.violation("a thread (the guard does not reach other threads)") from None
        raise
    finally:
        threading.setprofile(None)
    if mode.found:
        raise mode.violation(mode.found[0])
    if started:
        raise mode.violation("a thread (the guard does not reach other threads)")
    for t in out.values() if isinstance(out, dict) else [out]:
        if isinstance(t, torch.Tensor) and (t.requires_grad or t.grad_fn is not None):
            raise mode.violation("autograd (its result is part of a computation graph)")
    return out


def _tensors(inputs: dict) -> dict:
    return {k: torch.from_numpy(np.array(v)) for k, v in inputs.items()}


@probe
def stage(pkg, module_name, fn_name, inputs):
    """Call one manual-gradient function with the given tensors; its gradients as arrays."""
    fn = attr(module(pkg, module_name), fn_name)
    out = guarded(fn, f"{fn_name}()", **_tensors(inputs))
    if isinstance(out, torch.Tensor):
        return array(out, f"{fn_name}()")
    if not isinstance(out, dict):
        raise TypeError(f"{fn_name}() should return a dict of gradients, got "
                        f"{type(out).__name__}")
    return {str(k): array(v, f"{fn_name}()[{k!r}]") for k, v in out.items()}


@probe
def train_manual(pkg, params, X, Y, lrs):
    """Run the student's manual_step over the given batches; losses and final parameters."""
    step = attr(module(pkg, "train"), "manual_step")
    p = _tensors(params)
    losses = []
    for Xb, Yb, lr in zip(X, Y, lrs):
        loss = guarded(step, "manual_step()", p, torch.from_numpy(Xb), torch.from_numpy(Yb), lr)
        losses.append(float(loss))
    return {"losses": losses, "params": {k: array(v, f"params[{k!r}]") for k, v in p.items()}}
