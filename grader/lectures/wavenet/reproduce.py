"""`zth reproduce wavenet`: lecture 6 with the reference code, on names.txt.

The lecture's configuration: block_size 8, n_embd 24, n_hidden 128 (76,579 parameters), the
hierarchical model, 200,000 steps of batch 32, lr 0.1 then 0.01 after 150,000; the notebook ends
at train 1.7690 / val 1.9937. Prints the lecture's performance log beside this run, samples 20
names, and saves the loss curve (mean of 1,000 steps, as in the lecture).
Presets: `small` (default: the lecture's model for 20,000 steps, ~1 minute on one core),
`lecture` (the full 200,000 steps, ~5 minutes on one idle core), `quick` (smoke tests).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from ...data import find, read_words
from ...oracle import reference
from ...repro_train import check_preset, plot_loss, progress

MODEL = {"block_size": 8, "n_embd": 24, "n_hidden": 128}
PRESETS = {"lecture": {**MODEL, "steps": 200_000},
           "small": {**MODEL, "steps": 20_000},
           "quick": {"block_size": 8, "n_embd": 10, "n_hidden": 32, "steps": 500}}
# the notebook's performance log: (what, parameters, train, val)
LOG = [("original (3 character context + 200 hidden neurons)", "12K", "2.058", "2.105"),
       ("context: 3 -> 8", "22K", "1.918", "2.027"),
       ("flat -> hierarchical", "22K", "1.941", "2.029"),
       ("fix bug in batchnorm", "22K", "1.912", "2.022"),
       ("scale up: n_embd 24, n_hidden 128", "76K", "1.769", "1.993")]


def run(args) -> int:
    console = Console()
    preset, cfg = check_preset(console, args.preset, PRESETS, "small")
    if cfg is None:
        return 2
    data, model = reference("wavenet", "data"), reference("wavenet", "model")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    words = read_words(args.data_dir)
    stoi, itos = data.build_vocab(words)
    (Xtr, Ytr), (Xdev, Ydev), _ = data.split(words, stoi, block_size=cfg["block_size"])
    console.print(f"[bold]wavenet[/] on {find('names.txt', args.data_dir)}: {len(Ytr):,} / "
                  f"{len(Ydev):,} train/val examples · preset {preset}")
    torch.manual_seed(42)
    net = model.build_model(len(stoi), cfg["block_size"], cfg["n_embd"], cfg["n_hidden"])
    n = sum(p.nelement() for p in net.parameters())
    steps = cfg["steps"]
    console.print(f"n_embd {cfg['n_embd']}, n_hidden {cfg['n_hidden']}: {n:,} parameters; "
                  f"{steps:,} steps of batch 32, lr 0.1 then 0.01 after {int(steps * .75):,}")
    t1 = time.perf_counter()
    with progress(console, steps) as on_step:
        lossi = model.train(net, Xtr, Ytr, steps, on_step=on_step)
    wall = time.perf_counter() - t1
    train, val = model.split_loss(net, Xtr, Ytr), model.split_loss(net, Xdev, Ydev)
    table = Table("run", "params", "train", "val")
    for row in LOG:
        table.add_row(*row)
    table.add_row(f"[bold]this run ({preset}, {steps:,} steps)[/]", f"{n / 1000:.0f}K",
                  f"{train:.3f}", f"{val:.3f}")
    console.print(table)
    console.print(f"training: {wall:.1f} s ({steps / wall:,.0f} steps/s, {args.device})")
    console.print("samples: " + " ".join(model.sample(net, itos, cfg["block_size"], 20,
                                                      torch.Generator().manual_seed(42))))
    plot_loss(lossi, out / "wavenet_loss.png", f"WaveNet ({preset})")
    console.print(f"plot: {out / 'wavenet_loss.png'} · {time.perf_counter() - t0:.1f} s")
    return 0
