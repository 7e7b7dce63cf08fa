"""`zth reproduce backprop`: lecture 5 with the reference code, on names.txt.

Prints the lecture's `cmp` table (every manual gradient of exercise 1 against autograd, and the
fused ones of exercises 2 and 3) on the lecture's first batch, then trains the network with the
manual gradients only (exercise 4): n_embd 10, n_hidden 64 (4,137 parameters), 200,000 steps
of batch 32, lr 0.1 then 0.01; BatchNorm calibrated on the training set afterwards; shown beside
lecture 4's BatchNorm MLP (train 2.0674 / val 2.1057), the same kind of network trained with
autograd. The notebook's first-batch loss was 3.3377 with an unseeded draw of the BatchNorm
parameters (torch.manual_seed(42) is used here). Saves the loss curve.
Presets: `lecture` (default; several minutes on one core), `quick` (smoke tests).
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

SEED = 2147483647
FIRST_LOSS = 3.3377
LECTURE4 = {"train": 2.0674, "val": 2.1057}
PRESETS = {"lecture": 200_000, "quick": 2000}


def run(args) -> int:
    console = Console()
    preset, steps = check_preset(console, args.preset, PRESETS, "lecture")
    if steps is None:
        return 2
    data, model = reference("backprop", "data"), reference("backprop", "model")
    ninja, fused = reference("backprop", "ninja"), reference("backprop", "fused")
    train = reference("backprop", "train")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    words = read_words(args.data_dir)
    stoi, _ = data.build_vocab(words)
    (Xtr, Ytr), (Xdev, Ydev), _ = data.split(words, stoi, block_size=3)
    console.print(f"[bold]backprop[/] on {find('names.txt', args.data_dir)} · preset {preset}")

    torch.manual_seed(42)
    g = torch.Generator().manual_seed(SEED)
    p = model.init_params(generator=g)
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    Xb, Yb = Xtr[ix], Ytr[ix]
    t = model.forward(p, Xb, Yb)
    for v in t.values():
        v.retain_grad()
    t["loss"].backward()
    console.print(f"{sum(v.nelement() for v in p.values()):,} parameters; first-batch loss "
                  f"{t['loss'].item():.4f} (notebook {FIRST_LOSS})")
    plain = {k: v.detach() for k, v in t.items()}
    d = ninja.manual_backward({k: v.detach() for k, v in p.items()}, plain, Xb, Yb)
    d["dlogits (ex. 2)"] = fused.cross_entropy_backward(plain["logits"], Yb)
    d["dhprebn (ex. 3)"] = fused.batchnorm_backward(t["hpreact"].grad, p["bngain"].detach(),
                                                    plain["bnvar_inv"], plain["bnraw"])
    table = Table("gradient", "exact", "approximate", "maxdiff")
    for name, dt in d.items():
        key = name.split()[0][1:]
        ref = (t.get(key) if key in t else p[key]).grad
        table.add_row(name, str(torch.all(dt == ref).item()), str(torch.allclose(dt, ref)),
                      f"{(dt - ref).abs().max().item():.3g}")
    console.print(table)

    p = model.init_params(generator=torch.Generator().manual_seed(SEED))
    p = {k: v.detach() for k, v in p.items()}
    t1 = time.perf_counter()
    with progress(console, steps) as on_step:
        lossi = train.train(p, Xtr, Ytr, steps, generator=g, on_step=on_step)
    wall = time.perf_counter() - t1
    bnmean, bnvar = train.calibrate_batchnorm(p, Xtr)
    got = {"train": train.split_loss(p, Xtr, Ytr, bnmean, bnvar),
           "val": train.split_loss(p, Xdev, Ydev, bnmean, bnvar)}
    table = Table("split", "manual gradients (this run)", "lecture 4's BatchNorm MLP (autograd)")
    for k, v in got.items():
        table.add_row(k, f"{v:.4f}", f"{LECTURE4[k]:.4f}")
    console.print(table)
    console.print(f"training: {wall:.1f} s ({steps / wall:,.0f} steps/s)")
    plot_loss(lossi, out / "backprop_loss.png", "manual backprop training")
    console.print(f"plot: {out / 'backprop_loss.png'} · {time.perf_counter() - t0:.1f} s")
    return 0
