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
        # YOUR CODE HERE
        raise NotImplementedError()

    def register_special_tokens(self, special_tokens):
        # special_tokens is a dictionary of str -> int, e.g. {"<|endoftext|>": 100257}
        self.special_tokens = special_tokens
        self.inverse_special_tokens = {v: k for k, v in special_tokens.items()}

    def decode(self, ids):
        # given ids (list of integers), return Python string
        # YOUR CODE HERE
        raise NotImplementedError()

    def _encode_chunk(self, text_bytes):
        # the token ids of one chunk: merge the lowest-ranked pair until none is left
        # YOUR CODE HERE
        raise NotImplementedError()

    def encode_ordinary(self, text):
        """Encoding that ignores any special tokens."""
        # YOUR CODE HERE
        raise NotImplementedError()

    def encode(self, text, allowed_special="none_raise"):
        """Unlike encode_ordinary, this function handles special tokens."""
        # YOUR CODE HERE
        raise NotImplementedError()
