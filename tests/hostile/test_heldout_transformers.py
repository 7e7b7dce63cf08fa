"""Held-out wavenet, gpt and minbpe submissions: correct code written differently from the
reference must get full marks on every check it touches, and plausible wavenet mistakes (the
lecture's own test file has only three) must lose points on the right check.

Each lecture is graded in one batch (two jobs); the training checks are left to the slow tier.
"""
from __future__ import annotations

import shutil

import pytest
from conftest import REFERENCE, mutant

from grader.config import load_course
from grader.runner import grade


def _checks(lecture: str) -> set[str]:
    return {c.id for c in load_course().lecture(lecture).checks}


QUICK = {
    "wavenet": _checks("wavenet") - {"wavenet.train"},
    "gpt": _checks("gpt") - {"gpt.train"},
    "minbpe": _checks("minbpe"),
}

# ----------------------------------------------------------------------------- wavenet

WAVENET_VIEW = "        x = x.view(B, T // self.n, C * self.n)\n"
WAVENET_STATS = ("            xmean = x.mean(dim, keepdim=True)  # batch mean\n"
                 "            xvar = x.var(dim, keepdim=True)    # batch variance\n")
WAVENET_VARIANTS = {
    "flatten_reshape_and_index": {"nn.py": [
        (WAVENET_VIEW, "        x = x.reshape(B, -1, self.n * C)\n"),
        ("            x = x.squeeze(1)\n", "            x = x[:, 0, :]\n")]},
    # the lecture's explicit version: even positions next to odd ones
    "flatten_by_strided_concatenation": {"nn.py": [
        (WAVENET_VIEW,
         "        x = torch.cat([x[:, i::self.n, :] for i in range(self.n)], dim=2)\n"),
        ("        if x.shape[1] == 1:\n            x = x.squeeze(1)\n",
         "        if T // self.n == 1:\n            x = x.view(B, C * self.n)\n")]},
    "flatten_unfold": {"nn.py": [
        (WAVENET_VIEW,
         "        x = x.unfold(1, self.n, self.n).transpose(2, 3).flatten(2)\n")]},
    "batchnorm_means_chained_explicit_variance": {"nn.py": [(WAVENET_STATS, (
        "            xmean = x.mean(0, keepdim=True)\n"
        "            if x.ndim == 3:\n"
        "                xmean = xmean.mean(1, keepdim=True)\n"
        "            n = x.numel() // x.shape[-1]\n"
        "            xvar = ((x - xmean) ** 2).sum(dim, keepdim=True) / (n - 1)\n"))]},
    "batchnorm_on_flattened_rows": {"nn.py": [(WAVENET_STATS, (
        "            rows = x.reshape(-1, x.shape[-1])\n"
        "            xmean = rows.mean(0)\n"
        "            xvar = rows.var(0)\n"))]},
    "embedding_functional_sequential_reduce": {"nn.py": [
        ("        self.out = self.weight[IX]\n",
         "        self.out = torch.nn.functional.embedding(IX, self.weight)\n"),
        ("        for layer in self.layers:\n            x = layer(x)\n        self.out = x\n",
         ("        import functools\n"
          "        self.out = functools.reduce(lambda h, layer: layer(h), self.layers, x)\n")),
        ("        return [p for layer in self.layers for p in layer.parameters()]\n",
         ("        params = []\n"
          "        for layer in self.layers:\n"
          "            params.extend(layer.parameters())\n"
          "        return params\n"))]},
}
WAVENET_BUGS = {  # name: (edits, the check that must fail)
    # groups channel-major instead of position-major: the pairs' channels get interleaved
    "flatten_interleaves_channels": ({"nn.py": [(
        WAVENET_VIEW, "        x = x.transpose(1, 2).reshape(B, T // self.n, C * self.n)\n")]},
        "wavenet.flatten"),
    "sequential_discards_layer_outputs": ({"nn.py": [(
        "            x = layer(x)\n", "            layer(x)\n")]}, "wavenet.sequential"),
    "running_stats_momentum_swapped": ({"nn.py": [(
        "self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean",
        "self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * xmean"),
        ("self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar",
         "self.running_var = self.momentum * self.running_var + (1 - self.momentum) * xvar")]},
        "wavenet.eval_mode"),
}

# ----------------------------------------------------------------------------- gpt

GPT_SCORES = "        wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5  # (B, T, T)\n"
GPT_MASK = "        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))\n"
GPT_SOFTMAX = "        wei = F.softmax(wei, dim=-1)\n        wei = self.dropout(wei)\n"
GPT_VARIANTS = {
    "additive_minus_inf_triangle": {"model.py": [(GPT_MASK, (
        "        future = torch.triu(torch.full((T, T), float('-inf'), device=x.device), 1)\n"
        "        wei = wei + future\n"))]},
    "manual_stable_softmax_divide_by_sqrt": {"model.py": [
        (GPT_SCORES, "        wei = (q @ k.transpose(-2, -1)) / (k.size(-1) ** 0.5)\n"),
        (GPT_SOFTMAX, (
            "        wei = (wei - wei.amax(dim=-1, keepdim=True)).exp()\n"
            "        wei = wei / wei.sum(dim=-1, keepdim=True)\n"
            "        wei = self.dropout(wei)\n"))]},
    "einsum_scores_bool_mask_where": {"model.py": [
        (GPT_SCORES, ("        hs = k.shape[-1]\n"
                      "        wei = torch.einsum('btd,bsd->bts', q, k) * hs**-0.5\n")),
        (GPT_MASK, ("        keep = self.tril[:T, :T].bool()\n"
                    "        wei = torch.where(keep, wei, float('-inf'))\n"))]},
    "model_forward_flatten_and_generate_crop_explicitly": {"model.py": [
        (("            B, T, C = logits.shape\n"
          "            logits = logits.view(B * T, C)\n"
          "            loss = F.cross_entropy(logits, targets.view(B * T))\n"),
         ("            logits = logits.flatten(0, 1)\n"
          "            loss = F.cross_entropy(logits, targets.flatten())\n")),
        ("            idx_cond = idx[:, -self.block_size:]",
         ("            start = max(0, idx.shape[1] - self.block_size)\n"
          "            idx_cond = idx[:, start:]")),
        ("        x = x + self.sa(self.ln1(x))\n        x = x + self.ffwd(self.ln2(x))\n",
         ("        attended = x + self.sa(self.ln1(x))\n"
          "        x = attended + self.ffwd(self.ln2(attended))\n"))]},
}

# ----------------------------------------------------------------------------- minbpe

MINBPE_STATS = ("    counts = {} if counts is None else counts\n"
                "    for pair in itertools.pairwise(ids):\n"
                "        counts[pair] = counts.get(pair, 0) + 1\n")
MINBPE_ENCODE = 'pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))'
MINBPE_SORTED = ("pair = next((p for _, p in sorted((self.merges[p], p) for p in stats "
                 "if p in self.merges)), None)")
MINBPE_VARIANTS = {
    "get_stats_counter_merge_for_skip": {"base.py": [
        (MINBPE_STATS, (
            "    import collections\n"
            "    pairs = collections.Counter(zip(ids, ids[1:]))\n"
            "    if counts is None:\n"
            "        counts = dict(pairs)\n"
            "    else:\n"
            "        for pair, n in pairs.items():\n"
            "            counts[pair] = counts.get(pair, 0) + n\n")),
        (("    newids = []\n    i = 0\n    while i < len(ids):\n"
          "        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:\n"
          "            newids.append(idx)\n            i += 2\n        else:\n"
          "            newids.append(ids[i])\n            i += 1\n    ### END SOLUTION\n"
          "    return newids\n"),
         ("    newids, skip = [], False\n"
          "    for i, x in enumerate(ids):\n"
          "        if skip:\n"
          "            skip = False\n"
          "            continue\n"
          "        if i + 1 < len(ids) and (x, ids[i + 1]) == tuple(pair):\n"
          "            newids.append(idx)\n"
          "            skip = True\n"
          "        else:\n"
          "            newids.append(x)\n"
          "    ### END SOLUTION\n"
          "    return newids\n"))]},
    "encode_by_sorted_scan": {"basic.py": [(MINBPE_ENCODE, MINBPE_SORTED)],
                              "regex.py": [(MINBPE_ENCODE, MINBPE_SORTED)]},
    # the lecture's alternative: apply every merge in the order it was learned
    "basic_encode_applies_merges_in_order": {"basic.py": [(
        ("        while len(ids) >= 2:\n"
         "            # the pair with the lowest merge index (inf for pairs that never merge)\n"
         "            stats = get_stats(ids)\n"
         f"            {MINBPE_ENCODE}\n"
         "            if pair not in self.merges:\n"
         "                break  # nothing else can be merged\n"
         "            ids = merge(ids, pair, self.merges[pair])\n"),
        ("        for pair, idx in sorted(self.merges.items(), key=lambda kv: kv[1]):\n"
         "            ids = merge(ids, pair, idx)\n"))]},
    "train_recounts_like_the_lecture": "LECTURE_TRAIN",
    # minbpe's own load() reads a .model file whose last merge has no newline after it
    "save_without_final_newline": {"base.py": [(
        '            f.writelines(f"{idx1} {idx2}\\n" for idx1, idx2 in self.merges)\n',
        '            f.write("\\n".join(f"{idx1} {idx2}" for idx1, idx2 in self.merges))\n')]},
}
LECTURE_TRAIN = """    words = [list(c) for c in chunks]
    weights = list(chunks.values())
    merges = {}
    vocab = {idx: bytes([idx]) for idx in range(256)}
    for i in range(num_merges):
        stats = {}
        for ids, weight in zip(words, weights):
            for pair in zip(ids, ids[1:]):
                stats[pair] = stats.get(pair, 0) + weight
        if not stats:
            break
        pair = max(stats, key=stats.get)
        idx = 256 + i
        words = [merge(ids, pair, idx) for ids in words]
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
"""


def _train_region() -> str:
    text = (REFERENCE / "minbpe" / "base.py").read_text()
    start = text.index("    words = [list(c) for c in chunks]")
    return text[start:text.index("    ### END SOLUTION", start)]


CASES = {
    "wavenet": ({**WAVENET_VARIANTS, **{k: v[0] for k, v in WAVENET_BUGS.items()}}, 7),
    "gpt": (GPT_VARIANTS, 11),
    "minbpe": (MINBPE_VARIANTS, 13),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{lecture: {submission: {check id: result}}}, each lecture graded once, lazily."""
    cache: dict[str, dict] = {}

    def get(lecture: str) -> dict:
        if lecture not in cache:
            specs, seed = CASES[lecture]
            tmp = tmp_path_factory.mktemp(f"heldout-{lecture}")
            batch = tmp / "batch"
            batch.mkdir()
            for name, spec in specs.items():
                if spec == "LECTURE_TRAIN":
                    spec = {"base.py": [(_train_region(), LECTURE_TRAIN)]}
                sub = mutant(tmp / name, lecture, spec)
                shutil.move(str(sub), str(batch / name))
            run = grade(load_course(), batch, [lecture], seed, batch=True, jobs=2,
                        only=QUICK[lecture])
            cache[lecture] = {s.student: {c.id: c for c in s.lectures[0].checks}
                              for s in run.submissions}
        return cache[lecture]

    return get


VARIANTS = [(lec, name) for lec, specs in (("wavenet", WAVENET_VARIANTS), ("gpt", GPT_VARIANTS),
                                           ("minbpe", MINBPE_VARIANTS)) for name in specs]


@pytest.mark.parametrize(("lecture", "variant"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_correct_but_differently_written_gets_full_marks(graded, lecture, variant):
    results = graded(lecture)[variant]
    failed = {k: (r.status, r.message) for k, r in results.items() if not r.passed}
    assert not failed
    assert sum(r.points for r in results.values()) == sum(r.max_points for r in results.values())


@pytest.mark.parametrize("bug", sorted(WAVENET_BUGS))
def test_plausible_wavenet_mistake_fails_the_right_check(graded, bug):
    results = graded("wavenet")[bug]
    target = WAVENET_BUGS[bug][1]
    assert results[target].status in ("failed", "error") and results[target].points == 0, \
        results[target].message
