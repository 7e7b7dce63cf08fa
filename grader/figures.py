"""Pictures the checks attach to a failure (parent side): a training run against its replay.

Deterministic SVG (a fixed hash salt, no date, no creator), so the same seed gives the same
report byte for byte.
"""
from __future__ import annotations

import io

import numpy as np

WINDOW = 10          # steps per point: the curves are means, the differences worst-of, per window


def replay_curves(got, want, band, band_label: str, decay_at: int, first: int | None,
                  salt: str, want_label: str = "expected (replayed)") -> str:
    """Top: the student's per-step losses and the replayed ones (means of each window).
    Bottom: their largest difference in each window against the tolerance band (`band`: one
    number, or one per step; the narrowest in the window is drawn), the points outside it red.
    The learning-rate drop is dashed and the first divergence, if any, a red line."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    got, want = np.asarray(got, float), np.asarray(want, float)
    n = len(got) // WINDOW * WINDOW
    x = np.arange(0, n, WINDOW) + (WINDOW - 1) / 2
    clip = lambda v: np.clip(np.nan_to_num(v, nan=1e3, posinf=1e3, neginf=-1e3), -1e3, 1e3)  # noqa: E731
    mean = lambda v: clip(v)[:n].reshape(-1, WINDOW).mean(1)  # noqa: E731
    d = clip(got - want)[:n].reshape(-1, WINDOW)
    diff = d[np.arange(len(d)), np.abs(d).argmax(1)]
    band = np.broadcast_to(np.asarray(band, float), got.shape)[:n].reshape(-1, WINDOW).min(1)
    with rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "font.size": 8,
                     "path.simplify": True}):
        fig = Figure(figsize=(7, 4.2))
        FigureCanvasSVG(fig)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.plot(x, mean(want), color="#2b7bba", lw=3, alpha=0.45, label=want_label)
        top.plot(x, mean(got), color="#222222", lw=0.8, label="your run")
        top.set_ylabel(f"loss (mean of {WINDOW} steps)")
        lo, hi = np.percentile(np.concatenate([mean(want), mean(got)]), [0, 98])
        top.set_ylim(lo - 0.1, hi + 0.3)
        bottom.fill_between(x, -band, band, color="#2b7bba", alpha=0.3, lw=0, label=band_label)
        out = np.abs(diff) > band
        bottom.plot(x, diff, color="#222222", lw=0.6, label="your loss − expected")
        bottom.plot(x[out], diff[out], "o", color="#d62728", ms=2, label="outside tolerance")
        bottom.set_yscale("symlog", linthresh=float(band.max()))
        bottom.set_ylabel("difference")
        bottom.set_xlabel("step")
        for ax in (top, bottom):
            ax.axvline(decay_at, color="#777777", ls="--", lw=0.8)
            if first is not None:
                ax.axvline(first, color="#d62728", lw=0.8)
        title = f"learning rate drops at step {decay_at} (dashed)"
        if first is not None:
            title += f"; first divergence at step {first} (red)"
        top.set_title(title, loc="left")
        handles = [h for ax in (top, bottom) for h in ax.get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()
