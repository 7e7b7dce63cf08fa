"""Lecture 8 beyond tests/test_lectures.py: a public-repo-shaped clone, how failures read, offline
tiktoken, and the reference's fast training giving exactly the lecture's merges."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from bugs.minbpe import BUGS
from conftest import ROOT, grade_path, mutant

from grader.data import read_text
from grader.oracle import reference

PUBLIC = ROOT / "tests" / "fixtures" / "minbpe_public"
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}

def test_public_repo_clone_gets_full_marks():
    """Naive training, assert for none_raise, GPT-4 decode without specials: all accepted."""
    results = grade_path(PUBLIC, "minbpe")
    failed = {k: (r.status, r.message) for k, r in results.items() if not r.passed}
    assert not failed


def test_wrapping_tiktoken_gains_nothing(tmp_path):
    """encode straight from tiktoken, merges truncated: the parent's replay of the merges fails."""
    cheat = ("        self.register_special_tokens(GPT4_SPECIAL_TOKENS)\n",
             ("        self.register_special_tokens(GPT4_SPECIAL_TOKENS)\n"
             "        self.merges = dict(list(self.merges.items())[:5000])\n"
             "        self.encode = lambda text, allowed_special='none_raise': enc.encode(\n"
             "            text, allowed_special=set() if allowed_special == 'none_raise' "
             "else allowed_special)\n"))
    sub = mutant(tmp_path, "minbpe", {"gpt4.py": [cheat]})
    r = grade_path(sub, "minbpe", only={"minbpe.gpt4"})["minbpe.gpt4"]
    assert r.status == "failed" and "GPT4Tokenizer.merges" in r.message


def test_unicode_hints_match_the_failure(tmp_path):
    """An encode bug seen on unicode text is reported as an encode failure, without the decode
    advice; a decode bug gets it."""
    # encodes text as its UTF-8 bytes, never merging (decode still inverts it)
    raw = {"basic.py": [("        while len(ids) >= 2:\n            # the pair with the lowest",
                         "        while False:\n            # the pair with the lowest")]}
    encode_bug = grade_path(mutant(tmp_path / "e", "minbpe", raw), "minbpe",
                            only={"minbpe.unicode"})["minbpe.unicode"]
    assert encode_bug.status == "failed" and ".encode(" in encode_bug.message.split("\n")[0]
    assert "replacement character" not in encode_bug.message and "hint" not in encode_bug.message
    decode_bug = grade_path(mutant(tmp_path / "d", "minbpe", BUGS["decode_strict_utf8"].edits),
                            "minbpe", only={"minbpe.unicode"})["minbpe.unicode"]
    assert "replacement character" in decode_bug.message or "decode" in decode_bug.message


@pytest.mark.parametrize(("bug", "advice"), [
    ("specials_not_split_out", "split the allowed special tokens out of the text first"),
    ("decode_drops_special_tokens", "inverse of the special tokens"),
    ("none_raise_never_raises", "with 'none_raise', a special token's name anywhere"),
])
def test_special_token_hints_match_the_part_that_failed(tmp_path, bug, advice):
    """minbpe.special checks encode (four modes) and decode: each failure gets the advice for
    its own part, never the course hint written for splitting."""
    r = grade_path(mutant(tmp_path, "minbpe", BUGS[bug].edits), "minbpe",
                   only={"minbpe.special"})["minbpe.special"]
    hints = [line for line in r.message.splitlines() if line.startswith("hint: ")]
    assert r.status == "failed" and len(hints) == 1 and advice in hints[0], r.message


def test_training_failure_names_the_merge_and_both_counts(tmp_path):
    edits = BUGS["train_ignores_counts"].edits
    r = grade_path(mutant(tmp_path, "minbpe", edits), "minbpe",
                   only={"minbpe.basic_train"})["minbpe.basic_train"]
    assert "merge 0 (id 256)" in r.message and "occurs" in r.message


def _naive_train():
    spec = importlib.util.spec_from_file_location("bpe_bench", ROOT / "benchmarks" / "bpe_train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.naive_train


@pytest.mark.parametrize("kind", ["basic", "regex"])
def test_fast_training_gives_the_lectures_merges_ties_included(kind):
    """Late merges on a small text are mostly ties: the first pair seen in the text must win."""
    text = read_text("taylorswift.txt")[20000:26000]
    tok = (reference("minbpe", "basic").BasicTokenizer() if kind == "basic"
           else reference("minbpe", "regex").RegexTokenizer())
    tok.train(text, 256 + 250)
    want = _naive_train()(text, 256 + 250, tok.pattern or None)
    assert list(tok.merges.items()) == list(want.items())


def test_tiktoken_cl100k_base_works_with_the_network_unreachable(tmp_path):
    code = ("from grader.tiktoken_offline import cl100k_base; "
            "print(cl100k_base().encode('hello world <|endoftext|>', allowed_special='all'))")
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env |= OFFLINE | {"TIKTOKEN_CACHE_DIR": str(tmp_path / "cache")}   # an empty cache
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[15339, 1917, 220, 100257]"


def test_importing_the_minbpe_checks_has_no_side_effects(tmp_path):
    """No cache written, no environment set on import; the room's needs.py does it when the
    runner starts the worker, and says what the worker gets."""
    code = ("import os, grader.lectures.minbpe.checks, grader.lectures.minbpe.hidden; "
            "print(os.environ.get('TIKTOKEN_CACHE_DIR'), sorted(os.listdir(os.environ['TMPDIR'])));"
            "from grader.runner import room_needs; env, binds = room_needs('minbpe'); "
            "print(env['TIKTOKEN_CACHE_DIR'] == binds[0], os.listdir(binds[0]), "
            "room_needs('gpt'))")
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env |= OFFLINE | {"TMPDIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().split("\n")
    assert first == "None []"
    assert second.startswith("True ['9b5ad71b") and second.endswith("({}, [])")


def test_grading_gpt4_offline_inside_the_sandbox():
    """The worker sees TIKTOKEN_CACHE_DIR (bound read-only) and never reaches the network."""
    code = ("from grader.config import load_course; from grader.runner import grade; "
            "from pathlib import Path; "
            "r = grade(load_course(), Path('reference'), ['minbpe'], 5, only={'minbpe.gpt4'}); "
            "c = r.submissions[0].lectures[0].checks[0]; print(c.status, c.message)")
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"} | OFFLINE
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, check=False, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("passed"), r.stdout
