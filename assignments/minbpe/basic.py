"""Byte Pair Encoding on raw bytes, the algorithm of the lecture, with no regex splitting and no
special tokens.

train: the text's UTF-8 bytes, then `vocab_size - 256` merges, each the most frequent pair of
adjacent tokens (ties to the pair seen first), minted as 256, 257, ...
encode: start from the bytes and keep merging the pair with the lowest merge id — the order the
merges were learned, never the pair counts of the text being encoded — until no pair can merge.
decode: concatenate the tokens' bytes and decode UTF-8 with errors="replace", so an invalid byte
sequence becomes U+FFFD instead of an exception.

Exercise ids: minbpe.basic_train, minbpe.basic_encode.
"""
from .base import Tokenizer, get_stats, merge, train_bpe


class BasicTokenizer(Tokenizer):

    def __init__(self):
        super().__init__()

    def train(self, text, vocab_size, verbose=False):
        assert vocab_size >= 256
        # YOUR CODE HERE
        raise NotImplementedError()

    def decode(self, ids):
        # given ids (list of integers), return Python string
        # YOUR CODE HERE
        raise NotImplementedError()

    def encode(self, text):
        # given a string text, return the token ids
        # YOUR CODE HERE
        raise NotImplementedError()
