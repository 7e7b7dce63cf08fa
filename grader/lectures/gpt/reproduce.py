"""`zth reproduce gpt`: train the reference GPT on tiny Shakespeare, as at the end of the lecture.

Presets:
  lecture  the lecture's configuration: batch 64, block 256, n_embd 384, 6 heads, 6 layers,
           dropout 0.2, AdamW lr 3e-4, 5000 steps; 10.79 M parameters. The lecture reports
           val 1.48 after ~15 minutes on an A100: use `--device cuda`.
  cpu      a small model that trains in minutes on a laptop CPU (the default without a GPU).
  smoke    a few seconds, for tests.
Writes loss.png (train/val loss at each evaluation), sample.txt (generated text) and
summary.json (preset, config, parameters, final losses, seconds) to --out-dir.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ...data import read_text
from ...oracle import reference

LECTURE_VAL_LOSS = 1.48
LECTURE_PARAMS_M = 10.79
SEED = 1337
PRESETS = {
    "lecture": {"batch_size": 64, "block_size": 256, "n_embd": 384, "n_head": 6, "n_layer": 6,
                "dropout": 0.2, "learning_rate": 3e-4, "max_iters": 5000, "eval_interval": 500,
                "eval_iters": 200, "sample_tokens": 1000},
    "cpu": {"batch_size": 32, "block_size": 64, "n_embd": 128, "n_head": 4, "n_layer": 4,
            "dropout": 0.0, "learning_rate": 1e-3, "max_iters": 2000, "eval_interval": 250,
            "eval_iters": 50, "sample_tokens": 500},
    "smoke": {"batch_size": 16, "block_size": 32, "n_embd": 32, "n_head": 4, "n_layer": 2,
              "dropout": 0.0, "learning_rate": 1e-2, "max_iters": 100, "eval_interval": 50,
              "eval_iters": 10, "sample_tokens": 200},
}
MODEL_KEYS = ("n_embd", "n_head", "n_layer", "block_size", "dropout")


def plot(history, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps, train, val = zip(*history)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, train, "o-", label="train")
    ax.plot(steps, val, "o-", label="val")
    ax.axhline(LECTURE_VAL_LOSS, color="gray", ls="--", label=f"lecture val {LECTURE_VAL_LOSS}")
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.legend()
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def run(args) -> int:
    console = Console(stderr=True)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        console.print("[red]zth: --device cuda, but torch sees no CUDA device[/]")
        return 2
    preset = args.preset or ("lecture" if device.startswith("cuda") else "cpu")
    if preset not in PRESETS:
        console.print(f"[red]zth: unknown preset {preset!r} (choose from "
                      f"{', '.join(PRESETS)})[/]")
        return 2
    cfg = PRESETS[preset]
    if preset == "lecture" and device == "cpu":
        console.print("[yellow]the lecture's configuration takes hours on a CPU; "
                      "--device cuda or --preset cpu[/]")
    if device == "cpu":
        # half the cores at most: on a busy machine more threads mostly wait on each other
        torch.set_num_threads(max(1, min(8, (os.cpu_count() or 2) // 2)))
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    data_mod, model_mod = reference("gpt", "data"), reference("gpt", "model")
    train_mod = reference("gpt", "train")
    text = read_text("tinyshakespeare.txt", args.data_dir)
    chars, stoi, itos = data_mod.build_vocab(text)
    data = torch.tensor(data_mod.encode(text, stoi), dtype=torch.long)
    train_data, val_data = data_mod.train_val_split(data)

    torch.manual_seed(SEED)
    model = model_mod.GPTLanguageModel(len(chars), **{k: cfg[k] for k in MODEL_KEYS}).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    console.print(f"preset [bold]{preset}[/] on {device}: {n_params / 1e6:.6f} M parameters "
                  f"(the lecture's full model: {LECTURE_PARAMS_M} M), "
                  f"{len(chars)} characters in the vocabulary")
    generator = torch.Generator().manual_seed(SEED)
    t0 = time.perf_counter()
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task("training", total=cfg["max_iters"])

        def on_eval(step, losses):
            bar.update(task, description=f"step {step}: train {losses['train']:.4f}, "
                                         f"val {losses['val']:.4f}")

        history = train_mod.train(model, train_data, val_data, cfg["max_iters"],
                                  cfg["eval_interval"], cfg["eval_iters"], cfg["learning_rate"],
                                  cfg["block_size"], cfg["batch_size"], generator, device,
                                  on_eval=on_eval, on_step=lambda _: bar.advance(task))
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        context = torch.zeros((1, 1), dtype=torch.long, device=device)
        sample = data_mod.decode(model.generate(context, cfg["sample_tokens"])[0].tolist(), itos)
    (out / "sample.txt").write_text(sample)
    plot(history, out / "loss.png", f"GPT on tiny Shakespeare ({preset}, {device})")
    _, train_loss, val_loss = history[-1]
    summary = {"preset": preset, "device": device, "config": cfg, "params": n_params,
               "train_loss": round(train_loss, 4), "val_loss": round(val_loss, 4),
               "lecture_val_loss": LECTURE_VAL_LOSS, "seconds": round(seconds, 1),
               "history": [[s, round(a, 4), round(b, 4)] for s, a, b in history],
               "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name() if device.startswith("cuda") else None}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"val loss [bold]{val_loss:.4f}[/] (lecture, full model on a GPU: "
                  f"{LECTURE_VAL_LOSS}), train {train_loss:.4f}, {seconds:.0f} s")
    console.print(sample[:300])
    console.print(f"wrote {out / 'loss.png'}, {out / 'sample.txt'}, {out / 'summary.json'}")
    return 0
