"""Helpers shared by the makemore probes (bigram, mlp): tensors come back with their own dtype,
so the parent can check dtype and shape before comparing."""
from __future__ import annotations

import numpy as np
import torch


def array(x, what: str) -> np.ndarray:
    """A tensor (or array) returned by student code, as a numpy array; anything else is an error
    that names what was expected."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what} should be a torch tensor, got {type(x).__name__}")


def number(x, what: str) -> float:
    """A Python float from a float, a numpy scalar or a one-element tensor."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise TypeError(f"{what} should be a single number, got a tensor of shape "
                            f"{tuple(x.shape)}")
        return float(x.item())
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"{what} should be a number, got {type(x).__name__}")


def tensor(a, dtype=None, grad: bool = False) -> torch.Tensor:
    t = torch.tensor(np.asarray(a), dtype=dtype)
    return t.requires_grad_(True) if grad else t
