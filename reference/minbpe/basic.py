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
        ### BEGIN SOLUTION
        ids = tuple(text.encode("utf-8"))
        self.merges, self.vocab = train_bpe({ids: 1}, vocab_size - 256, verbose)
        ### END SOLUTION

    def decode(self, ids):
        # given ids (list of integers), return Python string
        ### BEGIN SOLUTION
        text_bytes = b"".join(self.vocab[idx] for idx in ids)
        return text_bytes.decode("utf-8", errors="replace")
        ### END SOLUTION

    def encode(self, text):
        # given a string text, return the token ids
        ### BEGIN SOLUTION
        ids = list(text.encode("utf-8"))
        while len(ids) >= 2:
            # the pair with the lowest merge index (inf for pairs that never merge)
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break  # nothing else can be merged
            ids = merge(ids, pair, self.merges[pair])
        return ids
        ### END SOLUTION
