"""The GPT-4 tokenizer, rebuilt as a RegexTokenizer from tiktoken's cl100k_base ranks.

tiktoken stores the merged byte strings and their ranks ({b"hello": 15339, ...}), not the pairs.
The pair behind a token of rank r is recovered by running BPE on its bytes with only the merges
of rank < r: what is left is exactly two parts, the pair that was merged to make it. A token's
id is its rank, so the merges are {(rank of part 0, rank of part 1): rank}.

One historical quirk: the single-byte tokens are not ids 0..255 in byte order, so every byte is
first permuted to its rank (`byte_shuffle`) before the merges apply, and decoding undoes it.
The special tokens are GPT-4's five.

Exercise id: minbpe.gpt4.
"""
import itertools

import tiktoken

from .regex import GPT4_SPLIT_PATTERN, RegexTokenizer

GPT4_SPECIAL_TOKENS = {
    '<|endoftext|>': 100257,
    '<|fim_prefix|>': 100258,
    '<|fim_middle|>': 100259,
    '<|fim_suffix|>': 100260,
    '<|endofprompt|>': 100276,
}


def bpe(mergeable_ranks, token, max_rank):
    """Split `token` (bytes) with the merges of rank < max_rank, lowest rank first."""
    # YOUR CODE HERE
    raise NotImplementedError()
    return parts


def recover_merges(mergeable_ranks):
    """{(rank0, rank1): rank} for every multi-byte token of `mergeable_ranks`."""
    # YOUR CODE HERE
    raise NotImplementedError()
    return merges


class GPT4Tokenizer(RegexTokenizer):
    """RegexTokenizer with GPT-4's pattern, merges, byte order and special tokens."""

    def __init__(self):
        super().__init__(pattern=GPT4_SPLIT_PATTERN)
        enc = tiktoken.get_encoding("cl100k_base")
        mergeable_ranks = enc._mergeable_ranks
        # YOUR CODE HERE
        raise NotImplementedError()

    def _encode_chunk(self, text_bytes):
        # bytes -> shuffled bytes -> BPE with the recovered merges
        # YOUR CODE HERE
        raise NotImplementedError()

    def decode(self, ids):
        # ids -> (shuffled) bytes -> unshuffled bytes -> text; special tokens pass through
        # YOUR CODE HERE
        raise NotImplementedError()

    # a pretrained tokenizer: not meant to be trained, and its byte shuffle has no place in
    # the minbpe v1 file format
    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError("GPT4Tokenizer is pretrained")

    def save(self, file_prefix):
        raise NotImplementedError("GPT4Tokenizer cannot be saved.")

    def load(self, model_file):
        raise NotImplementedError("GPT4Tokenizer cannot be loaded.")
