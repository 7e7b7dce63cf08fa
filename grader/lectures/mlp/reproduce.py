"""`zth reproduce mlp`: the lecture's final MLP with the reference code, on names.txt.

The lecture's configuration: block_size 3, 10-d embeddings, 200 tanh units (11,897 parameters),
200,000 steps of batch 32, lr 0.1 then 0.01 after step 100,000, weights drawn from
torch.Generator().manual_seed(2147483647); the notebook ends at train 2.1260 / dev 2.1701 (E01:
below 2.2). Also prints E02's uniform loss and the starting loss of both inits, and samples 20
names. Saves the loss curve (log10 of the minibatch loss, as in the lecture) in --out-dir.
Presets: `lecture` (default) and `quick` (5,000 steps, lr drop at 4,000; for smoke tests).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ...data import find, read_words
from ...oracle import reference

SEED = 2147483647
LECTURE = {"train": 2.1260, "dev": 2.1701}
PRESETS = {"lecture": (200_000, 100_000), "quick": (5_000, 4_000)}
CHUNK = 1000


def plot_losses(lossi, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lossi = torch.tensor(lossi).log10().numpy()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(lossi, lw=0.3, alpha=0.4, label="log10 minibatch loss")
    if len(lossi) >= CHUNK:
        n = len(lossi) // CHUNK * CHUNK
        centres = torch.arange(n).view(-1, CHUNK).float().mean(1).numpy()
        ax.plot(centres, lossi[:n].reshape(-1, CHUNK).mean(1), label=f"mean of {CHUNK} steps")
    ax.set(xlabel="step", ylabel="log10 loss")
    ax.legend()
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def run(args) -> int:
    console = Console()
    preset = args.preset or "lecture"
    if preset not in PRESETS:
        console.print(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        return 2
    steps, decay_at = PRESETS[preset]
    data = reference("mlp", "data")
    model = reference("mlp", "model")
    train = reference("mlp", "train")
    device = torch.device(args.device)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path = find("names.txt", args.data_dir)
    words = read_words(args.data_dir)
    tr, dev, te = data.split_words(words, 42)
    Xtr, Ytr = (t.to(device) for t in data.build_dataset(tr))
    Xdev, Ydev = (t.to(device) for t in data.build_dataset(dev))
    _, Yte = data.build_dataset(te)
    console.print(f"[bold]mlp[/] on {path}: {len(words):,} words → "
                  f"{len(Ytr):,} / {len(Ydev):,} / {len(Yte):,} train/dev/test examples "
                  f"(split with random.seed(42))")

    # E02: where the loss starts
    starts = {}
    for calibrated in (False, True):
        ps = model.init_params(torch.Generator().manual_seed(SEED), calibrated=calibrated)
        starts[calibrated] = train.evaluate([p.to(device) for p in ps], Xtr, Ytr)
    console.print(f"E02: uniform loss ln 27 = {model.uniform_loss():.4f}; initial loss "
                  f"{starts[False]:.4f} with the lecture's init, {starts[True]:.4f} calibrated")

    if device.type == "cpu":
        torch.set_num_threads(1)  # batch-32 matmuls: more threads only add synchronisation
    g = torch.Generator().manual_seed(SEED)
    parameters = [p.detach().to(device).requires_grad_(True)
                  for p in model.init_params(g)]
    console.print(f"{sum(p.nelement() for p in parameters):,} parameters; {steps:,} steps of "
                  f"batch 32, lr 0.1 then 0.01 after step {decay_at:,} ({args.device})")
    lossi: list[float] = []
    t1 = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("training", total=steps)
        while len(lossi) < steps:
            done = len(lossi)
            lossi += train.train(parameters, Xtr, Ytr, min(CHUNK, steps - done), batch_size=32,
                                 lr=lambda i, d=done: 0.1 if i + d < decay_at else 0.01,
                                 generator=g)
            recent = sum(lossi[-CHUNK:]) / len(lossi[-CHUNK:])
            bar.update(task, completed=len(lossi), description=f"training, loss {recent:.4f}")
    wall = time.perf_counter() - t1
    losses = {"train": train.evaluate(parameters, Xtr, Ytr),
              "dev": train.evaluate(parameters, Xdev, Ydev)}
    table = Table("split", "reproduced", "lecture")
    for split, v in losses.items():
        table.add_row(split, f"{v:.4f}", f"{LECTURE[split]:.4f}")
    console.print(table)
    console.print(f"training: {wall:.1f} s wall ({steps / wall:,.0f} steps/s); E01: dev "
                  f"{losses['dev']:.4f} {'beats' if losses['dev'] < 2.2 else 'does not beat'} 2.2")
    cpu = [p.detach().cpu() for p in parameters]
    names = model.sample(cpu, 20, torch.Generator().manual_seed(SEED + 10))
    console.print("samples (seed 2147483657): " + " ".join(names))
    plot_losses(lossi, out / "mlp_loss.png")
    console.print(f"plot: {out / 'mlp_loss.png'} · {time.perf_counter() - t0:.1f} s")
    return 0
