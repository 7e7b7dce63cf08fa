"""`zth reproduce batchnorm`: lecture 4 with the reference code, on names.txt.

1. The lecture's BatchNorm MLP: block_size 3, 10-d embeddings, Linear(30, 200, no bias) with the
   tanh gain, BatchNorm1d(200), tanh, Linear(200, 27) scaled by 0.01; 200,000 steps of batch 32,
   lr 0.1 then 0.01; generator seed 2147483647. The notebook: train 2.0674 / val 2.1057.
2. The deep net, 5 x [Linear, BatchNorm1d, Tanh] + [Linear, BatchNorm1d] (47,024 parameters),
   after a short run: the activation and gradient histograms of every tanh layer, the weight
   gradients, and the update:data ratios over time, saved as images (the lecture's plots).
3. E01: which parameters train from an all-zero init.
Presets: `lecture` (default; a few minutes on one core), `quick` (smoke tests).
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
LECTURE = {"train": 2.0674, "val": 2.1057}
PRESETS = {"lecture": {"steps": 200_000, "deep_steps": 1000, "e01_steps": 1000},
           "quick": {"steps": 2000, "deep_steps": 200, "e01_steps": 100}}


def plot_histograms(stats_fn, layers, path: Path, title: str, what) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 4))
    legends = []
    for s in stats_fn(layers):
        t = what(layers[s["layer"]])
        hy, hx = torch.histogram(t.detach().float(), density=True)
        ax.plot(hx[:-1], hy)
        legends.append(f"layer {s['layer']}: std {s['std']:.2e}")
    ax.legend(legends)
    ax.set_title(title)
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def plot_updates(ud: list[list[float]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, series in enumerate(zip(*ud)):
        ax.plot(series, label=f"2-D param {i}")
    ax.axhline(-3, color="k", ls="--", label="-3 (healthy)")
    ax.set(xlabel="step", ylabel="log10 update:data", title="update:data ratio")
    ax.legend(fontsize=7)
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def run(args) -> int:
    console = Console()
    preset, cfg = check_preset(console, args.preset, PRESETS, "lecture")
    if cfg is None:
        return 2
    data, nn = reference("batchnorm", "data"), reference("batchnorm", "nn")
    model, diag = reference("batchnorm", "model"), reference("batchnorm", "diagnostics")
    exercises = reference("batchnorm", "exercises")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # batch-32 matmuls: more threads only add synchronisation
    t0 = time.perf_counter()
    words = read_words(args.data_dir)
    stoi, _ = data.build_vocab(words)
    (Xtr, Ytr), (Xdev, Ydev), _ = data.split(words, stoi, block_size=3)
    console.print(f"[bold]batchnorm[/] on {find('names.txt', args.data_dir)}: {len(Ytr):,} / "
                  f"{len(Ydev):,} train/val examples · preset {preset}")

    # 1. the lecture's BatchNorm MLP
    g = torch.Generator().manual_seed(SEED)
    C = torch.randn((27, 10), generator=g)
    layers = [nn.Linear(30, 200, bias=False, generator=g), nn.BatchNorm1d(200), nn.Tanh(),
              nn.Linear(200, 27, generator=g)]
    with torch.no_grad():
        layers[0].weight *= 5 / 3
        layers[-1].weight *= 0.01
    params = model.parameters(C, layers)
    for p in params:
        p.requires_grad = True
    console.print(f"BatchNorm MLP: {sum(p.nelement() for p in params):,} parameters, "
                  f"{cfg['steps']:,} steps")
    t1 = time.perf_counter()
    with progress(console, cfg["steps"]) as on_step:
        lossi = model.train(C, layers, Xtr, Ytr, cfg["steps"], generator=g, on_step=on_step)
    wall = time.perf_counter() - t1
    got = {"train": model.split_loss(C, layers, Xtr, Ytr),
           "val": model.split_loss(C, layers, Xdev, Ydev)}
    table = Table("split", "reproduced", "lecture notebook")
    for k, v in got.items():
        table.add_row(k, f"{v:.4f}", f"{LECTURE[k]:.4f}")
    console.print(table)
    console.print(f"training: {wall:.1f} s ({cfg['steps'] / wall:,.0f} steps/s)")
    plot_loss(lossi, out / "batchnorm_loss.png", "BatchNorm MLP")

    # 2. the deep net's diagnostics
    g = torch.Generator().manual_seed(SEED)
    C, layers = model.build_mlp(27, 3, 10, 100, 5, batchnorm=True, generator=g)
    params = model.parameters(C, layers)
    console.print(f"deep net: {sum(p.nelement() for p in params):,} parameters, "
                  f"{cfg['deep_steps']:,} steps")
    ud = []

    def record(i, loss, lr):
        ud.append(diag.update_ratios(params, lr))
    model.train(C, layers, Xtr, Ytr, cfg["deep_steps"], generator=g, on_step=record)
    plot_histograms(diag.activation_stats, layers, out / "activations.png",
                    "activation distribution (tanh outputs)", lambda layer: layer.out)
    plot_histograms(diag.activation_stats, layers, out / "gradients.png",
                    "gradient distribution (at tanh outputs)", lambda layer: layer.out.grad)
    for s in diag.activation_stats(layers):
        console.print(f"  layer {s['layer']:2d} (Tanh): mean {s['mean']:+.2f}, std "
                      f"{s['std']:.2f}, saturated {s['saturated']:.2%}")
    plot_updates(ud, out / "update_ratios.png")

    # 3. E01
    r = exercises.zero_init_experiment(Xtr, Ytr, cfg["e01_steps"],
                                       generator=torch.Generator().manual_seed(SEED))
    moved = [k for k, v in r["grad_max"].items() if v > 0]
    console.print(f"E01 (all-zero init, {cfg['e01_steps']} steps): loss {r['losses'][0]:.4f} -> "
                  f"{sum(r['losses'][-100:]) / len(r['losses'][-100:]):.4f}; parameters that "
                  f"ever get a gradient: {', '.join(moved) or 'none'}")
    console.print(f"plots in {out}: batchnorm_loss.png activations.png gradients.png "
                  f"update_ratios.png · {time.perf_counter() - t0:.1f} s")
    return 0
