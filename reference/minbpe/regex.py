"""Byte Pair Encoding within regex chunks, as GPT-2 and GPT-4 do, plus special tokens.

The split pattern cuts text into chunks (words with their leading space, numbers of up to three
digits in GPT-4, punctuation runs, whitespace) and merges never cross a chunk boundary, so
"dog." and "dog!" share the token for "dog". Training counts pairs within chunks, summed over
all of them; encoding encodes each chunk alone and concatenates the ids.

Special tokens (e.g. <|endoftext|>) never go through BPE: `register_special_tokens` records their
ids, and `encode(text, allowed_special)` first splits them out of the text:
  "all"        every registered special token becomes its id
  "none"       special tokens are encoded as ordinary text
  "none_raise" (default) raise an error if the text contains a special token
  a set        only the special tokens in the set are allowed
`encode_ordinary` ignores special tokens altogether.

Exercise ids: minbpe.regex_train, minbpe.regex_encode, minbpe.special, minbpe.unicode.
"""
from collections import Counter

import regex as re

from .base import Tokenizer, get_stats, merge, train_bpe

# the main GPT text split patterns, see
# https://github.com/openai/tiktoken/blob/main/tiktoken_ext/openai_public.py
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""


class RegexTokenizer(Tokenizer):

    def __init__(self, pattern=None):
        """pattern: the split pattern, GPT-4's by default."""
        super().__init__()
        self.pattern = GPT4_SPLIT_PATTERN if pattern is None else pattern
        self.compiled_pattern = re.compile(self.pattern)
        self.special_tokens = {}
        self.inverse_special_tokens = {}

    def train(self, text, vocab_size, verbose=False):
        assert vocab_size >= 256
        ### BEGIN SOLUTION
        # each distinct chunk once, with its count, in order of first appearance
        chunks = Counter(tuple(ch.encode("utf-8"))
                         for ch in re.findall(self.compiled_pattern, text))
        self.merges, self.vocab = train_bpe(chunks, vocab_size - 256, verbose)
        ### END SOLUTION

    def register_special_tokens(self, special_tokens):
        # special_tokens is a dictionary of str -> int, e.g. {"<|endoftext|>": 100257}
        self.special_tokens = special_tokens
        self.inverse_special_tokens = {v: k for k, v in special_tokens.items()}

    def decode(self, ids):
        # given ids (list of integers), return Python string
        ### BEGIN SOLUTION
        part_bytes = []
        for idx in ids:
            if idx in self.vocab:
                part_bytes.append(self.vocab[idx])
            elif idx in self.inverse_special_tokens:
                part_bytes.append(self.inverse_special_tokens[idx].encode("utf-8"))
            else:
                raise ValueError(f"invalid token id: {idx}")
        return b"".join(part_bytes).decode("utf-8", errors="replace")
        ### END SOLUTION

    def _encode_chunk(self, text_bytes):
        # the token ids of one chunk: merge the lowest-ranked pair until none is left
        ### BEGIN SOLUTION
        ids = list(text_bytes)
        while len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break
            ids = merge(ids, pair, self.merges[pair])
        return ids
        ### END SOLUTION

    def encode_ordinary(self, text):
        """Encoding that ignores any special tokens."""
        ### BEGIN SOLUTION
        ids = []
        for chunk in re.findall(self.compiled_pattern, text):
            ids.extend(self._encode_chunk(chunk.encode("utf-8")))
        return ids
        ### END SOLUTION

    def encode(self, text, allowed_special="none_raise"):
        """Unlike encode_ordinary, this function handles special tokens."""
        ### BEGIN SOLUTION
        if allowed_special == "all":
            special = self.special_tokens
        elif allowed_special == "none":
            special = {}
        elif allowed_special == "none_raise":
            special = {}
            if any(token in text for token in self.special_tokens):
                raise ValueError("the text contains a special token; pass allowed_special")
        elif isinstance(allowed_special, set):
            special = {k: v for k, v in self.special_tokens.items() if k in allowed_special}
        else:
            raise ValueError(f"allowed_special={allowed_special} not understood")
        if not special:
            return self.encode_ordinary(text)
        # split on the special tokens (the capture group keeps them in the result)
        special_pattern = "(" + "|".join(re.escape(k) for k in special) + ")"
        ids = []
        for part in re.split(special_pattern, text):
            if part in special:
                ids.append(special[part])
            else:
                ids.extend(self.encode_ordinary(part))
        return ids
        ### END SOLUTION
