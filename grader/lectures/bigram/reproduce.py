"""`zth reproduce bigram`: the lecture's numbers with the reference code, on names.txt.

Counting model (2.4541 unsmoothed, 2.4544 add-one), its samples with seed 2147483647, the neural
bigram (lr 50, reg 0.01, ends near 2.48), and the exercises E01–E03. Saves the lecture's 27×27
count plot and the neural model's loss curve in --out-dir.
Presets: `lecture` (default, 300 gradient steps) and `quick` (30 steps, for smoke tests).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ...data import find, read_words
from ...oracle import reference

LECTURE_NLL, LECTURE_NLL_ADD_ONE = 2.4541, 2.4544
SEED = 2147483647
STEPS = {"lecture": 300, "quick": 30}
STRENGTHS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]


def exact_nll(words, P, stoi) -> float:
    """The same NLL summed in float64 (the lecture's loop sums in float32)."""
    counts = reference("bigram", "counts")
    ix = torch.tensor([(stoi[a], stoi[b]) for a, b in counts.bigrams(words)])
    return -P[ix[:, 0], ix[:, 1]].double().log().mean().item()


def plot_counts(N, itos, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(16, 16))
    plt.imshow(N.numpy(), cmap="Blues")
    for i in range(N.shape[0]):
        for j in range(N.shape[1]):
            plt.text(j, i, itos[i] + itos[j], ha="center", va="bottom", color="gray")
            plt.text(j, i, N[i, j].item(), ha="center", va="top", color="gray")
    plt.axis("off")
    fig.savefig(path, bbox_inches="tight", dpi=60)
    plt.close(fig)


def plot_losses(losses, counting: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(losses, label="neural bigram (lr 50, reg 0.01)")
    ax.axhline(counting, color="gray", ls="--", label=f"counting model {counting:.4f}")
    ax.set(xlabel="step", ylabel="loss", ylim=(counting - 0.05, min(max(losses), 4.0)))
    ax.legend()
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def run(args) -> int:
    console = Console()
    preset = args.preset or "lecture"
    if preset not in STEPS:
        console.print(f"unknown preset {preset!r}; choose from {', '.join(STEPS)}")
        return 2
    counts = reference("bigram", "counts")
    neural = reference("bigram", "neural")
    ex = reference("bigram", "exercises")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path = find("names.txt", args.data_dir)
    words = read_words(args.data_dir)
    console.print(f"[bold]bigram[/] on {path} ({len(words):,} words)")

    # the counting model
    stoi, itos = counts.build_vocab(words)
    N = counts.count_bigrams(words, stoi)
    table = Table("", "reproduced", "lecture", "exact (float64 sum)")
    nlls = {}
    for k, lecture in ((0, LECTURE_NLL), (1, LECTURE_NLL_ADD_ONE)):
        P = counts.probabilities(N, k)
        nlls[k] = counts.nll(words, P, stoi)
        table.add_row("NLL" if k == 0 else "NLL, add-one smoothing", f"{nlls[k]:.4f}",
                      f"{lecture:.4f}", f"{exact_nll(words, P, stoi):.6f}")
    console.print(f"{int(N.sum()):,} bigrams")
    console.print(table)
    P = counts.probabilities(N, 1)
    samples = counts.sample(P, itos, 5, torch.Generator().manual_seed(SEED))
    console.print(f"samples (seed {SEED}): {' '.join(samples)}")
    plot_counts(N, itos, out / "bigram_counts.png")

    # the neural bigram
    xs, ys = neural.make_dataset(words, stoi)
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(SEED), requires_grad=True)
    losses = []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("neural bigram", total=STEPS[preset])
        for _ in range(STEPS[preset]):
            losses += neural.gradient_descent(xs, ys, W, 1, lr=50.0, reg=0.01)
            bar.update(task, advance=1, description=f"neural bigram, loss {losses[-1]:.4f}")
    with torch.no_grad():
        final = neural.cross_entropy_loss(neural.forward_index(xs, W), ys, W, 0.01).item()
    console.print(f"neural bigram after {len(losses)} steps (lr 50, 0.01·mean(W²), seed {SEED}): "
                  f"loss {final:.4f} (data term "
                  f"{neural.cross_entropy_loss(neural.forward_index(xs, W), ys).item():.4f}); "
                  f"counting model {nlls[0]:.4f}, add-one {nlls[1]:.4f}")
    P_net = torch.softmax(W.detach(), dim=1)
    console.print("neural samples (seed 2147483647): " +
                  " ".join(counts.sample(P_net, itos, 5, torch.Generator().manual_seed(SEED))))
    plot_losses(losses, nlls[0], out / "bigram_neural_loss.png")

    # E01: trigram
    cmp = Table("E01 on all names", "bigram", "trigram")
    for k in (0.0, 1.0):
        bi, tri = nlls[k], ex.trigram_loss(words, words, k)
        cmp.add_row(f"NLL, k={k:g}", f"{bi:.4f}", f"{tri:.4f}")
    console.print(cmp)
    console.print(f"the trigram model {'beats' if tri < bi else 'does not beat'} the bigram "
                  f"({tri:.4f} vs {bi:.4f} with add-one smoothing)")

    # E02: splits
    train, dev, test = ex.split_words(words, 42)
    res = ex.evaluate_splits(train, dev, test, 1.0)
    split = Table(f"E02 (seed 42: {len(train):,}/{len(dev):,}/{len(test):,} words, k=1)",
                  "train", "dev", "test")
    for model, row in res.items():
        split.add_row(model, *(f"{row[s]:.4f}" for s in ("train", "dev", "test")))
    console.print(split)

    # E03: smoothing sweep for the trigram
    sweep = ex.sweep_smoothing(train, dev, test, STRENGTHS)
    st = Table("E03 trigram k", "train", "dev")
    for k, tr, dv in zip(STRENGTHS, sweep["train"], sweep["dev"]):
        st.add_row(f"{k:g}" + (" ←" if k == sweep["best"] else ""), f"{tr:.4f}", f"{dv:.4f}")
    console.print(st)
    console.print(f"best k on dev = {sweep['best']:g}; test loss (evaluated once) "
                  f"{sweep['test']:.4f}")
    console.print(f"plots: {out / 'bigram_counts.png'}, {out / 'bigram_neural_loss.png'} · "
                  f"{time.perf_counter() - t0:.1f} s")
    return 0
