"""Helpers shared by the torch lectures' probes: plain data <-> tensors, float64 layers."""
from __future__ import annotations

import numpy as np
import torch


def tensor(a, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=dtype)


def array(x, what: str) -> np.ndarray:
    """A tensor the student returned, as a float64 numpy array (or a clear error)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} should be a torch.Tensor, got {type(x).__name__}")
    return x.detach().to(torch.float64).numpy().copy()


def plain(x, what: str):
    """Student-returned stats (dicts/lists of numbers or 0-d tensors) as JSON-able data."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise TypeError(f"{what}: expected a number, got a tensor of shape "
                            f"{tuple(x.shape)}")
        return float(x.item())
    if isinstance(x, dict):
        return {str(k): plain(v, f"{what}[{k!r}]") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v, f"{what}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, (bool, int, float)) or x is None:
        return x
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(f"{what}: expected numbers, got {type(x).__name__}")


def double(layer):
    """Turn every floating tensor attribute of a layer into float64 (exact comparisons)."""
    for k, v in list(vars(layer).items()):
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            setattr(layer, k, v.detach().to(torch.float64))
    return layer
