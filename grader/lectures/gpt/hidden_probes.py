"""Probes only the hidden gpt checks call (instructor build only: never in a student release)."""
from __future__ import annotations

from zth_worker.probes import probe
from zth_worker.probes.gpt import _gpt, _np, _torch


@probe
def init_loss(pkg, cfg, idx, targets):
    torch = _torch()
    m = _gpt(pkg, cfg)
    m.eval()
    weights = {k: _np(v) for k, v in m.named_parameters()}
    with torch.no_grad():
        _, loss = m(torch.from_numpy(idx), torch.from_numpy(targets))
    return {"loss": float(loss), "weights": weights}


@probe
def dropout(pkg, cfg, weights, idx):
    torch = _torch()
    m = _gpt(pkg, cfg, weights)
    x = torch.from_numpy(idx)
    with torch.no_grad():
        m.eval()
        ev = [_np(m(x)[0]) for _ in range(2)]
        m.train()
        tr = [_np(m(x)[0]) for _ in range(2)]
    return {"eval": ev, "train": tr}
