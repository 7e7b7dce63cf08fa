"""Shared by the makemore reproductions (batchnorm, backprop, wavenet): a training progress bar,
a loss-curve plot and the presets table."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress(console: Console, steps: int, every: int = 1000):
    """Yields on_step(i, loss, lr) for the reference training loops; shows the running loss."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    recent: list[float] = []
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("training", total=steps)

        def on_step(i: int, loss: float, lr: float) -> None:
            recent.append(loss)
            if (i + 1) % every == 0 or i + 1 == steps:
                bar.update(task, completed=i + 1, description=f"training, lr {lr:g}, loss "
                           f"{sum(recent) / len(recent):.4f}")
                recent.clear()
        yield on_step


def plot_loss(lossi: list[float], path: Path, title: str, chunk: int = 1000) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    y = torch.tensor(lossi).log10()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if len(y) >= chunk:
        n = len(y) // chunk * chunk
        ax.plot(torch.arange(n // chunk) * chunk, y[:n].view(-1, chunk).mean(1),
                label=f"mean of {chunk} steps")
    else:
        ax.plot(y, lw=0.5, label="minibatch")
    ax.set(xlabel="step", ylabel="log10 loss", title=title)
    ax.legend()
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def check_preset(console: Console, preset: str | None, presets: dict, default: str):
    preset = preset or default
    if preset not in presets:
        console.print(f"unknown preset {preset!r}; choose from {', '.join(presets)}")
        return None, None
    return preset, presets[preset]
