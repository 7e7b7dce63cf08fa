"""The base Tokenizer class and the helpers every tokenizer shares.

Byte Pair Encoding starts from the 256 byte values and repeatedly mints a new token for the most
frequent pair of adjacent tokens: `get_stats` counts the pairs, `merge` replaces every occurrence
of one pair with the new id. A trained tokenizer is just its ordered `merges`
({(id0, id1): new_id}, new ids 256, 257, ...); `vocab` ({id: bytes}) follows from them.

`train_bpe` is the training loop both trainable tokenizers share. It gives exactly the merges of
the lecture's loop (recount every pair, take the most frequent, ties to the pair seen first in
the text), but it counts each distinct chunk once, weighted by how often it occurs, and after a
merge it updates only the counts around the replaced pairs instead of recounting everything.

`save(prefix)` writes `prefix.model` (the `minbpe v1` format: version line, pattern, number of
special tokens, one `token id` line each, then one `id0 id1` line per merge in order) and the
human-readable `prefix.vocab`; `load(model_file)` reads the `.model` back.

Exercise ids: minbpe.get_stats, minbpe.merge, minbpe.save_load.
"""
import itertools
import unicodedata

# -----------------------------------------------------------------------------
# helpers shared by BasicTokenizer and RegexTokenizer

def get_stats(ids, counts=None):
    """Count consecutive pairs: [1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}.
    Updates `counts` in place when it is given (to sum over many chunks)."""
    # YOUR CODE HERE
    raise NotImplementedError()
    return counts


def merge(ids, pair, idx):
    """Replace every occurrence of `pair` in `ids`, left to right, with `idx`:
    ids=[1, 2, 3, 1, 2], pair=(1, 2), idx=4 -> [4, 3, 4]. Occurrences do not overlap:
    [7, 7, 7] with pair (7, 7) -> [idx, 7]."""
    # YOUR CODE HERE
    raise NotImplementedError()
    return newids


def _merge_counting(ids, pair, idx, weight, stats, where, w):
    """`merge` that also updates `stats` for a chunk occurring `weight` times: each replaced
    pair loses its count, and its neighbours (prev, a) / (b, next) become (prev, idx) /
    (idx, next). `where` (pair -> chunks that may hold it) learns about the new pairs."""
    newids = []
    i = 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            stats[pair] -= weight
            if newids:                       # left neighbour, possibly a token just minted
                left = newids[-1]
                stats[(left, pair[0])] -= weight
                stats[(left, idx)] = stats.get((left, idx), 0) + weight
                where.setdefault((left, idx), set()).add(w)
            if i + 2 < len(ids):             # right neighbour
                right = ids[i + 2]
                stats[(pair[1], right)] -= weight
                stats[(idx, right)] = stats.get((idx, right), 0) + weight
                where.setdefault((idx, right), set()).add(w)
            newids.append(idx)
            i += 2
        else:
            newids.append(ids[i])
            i += 1
    return newids


def train_bpe(chunks, num_merges, verbose=False):
    """BPE training on `chunks`: {tuple of byte ids: number of occurrences}, in the order each
    chunk first appears in the text. Returns (merges, vocab).

    The lecture's loop is a correct answer too (recount with get_stats, take
    `max(stats, key=stats.get)`, merge every chunk); `_merge_counting` is there for the fast one.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
    return merges, vocab


def replace_control_characters(s: str) -> str:
    """Escape control characters (\\n, \\x00, ...) so a token prints on one line."""
    return "".join(ch if unicodedata.category(ch)[0] != "C" else f"\\u{ord(ch):04x}" for ch in s)


def render_token(t: bytes) -> str:
    """Pretty-print a token: decode with U+FFFD for partial UTF-8, escape control characters."""
    return replace_control_characters(t.decode("utf-8", errors="replace"))


# -----------------------------------------------------------------------------
# the base Tokenizer class

class Tokenizer:
    """Base class for Tokenizers."""

    def __init__(self):
        # default: vocab size of 256 (all bytes), no merges, no patterns
        self.merges = {}          # (int, int) -> int
        self.pattern = ""         # str
        self.special_tokens = {}  # str -> int, e.g. {'<|endoftext|>': 100257}
        self.vocab = self._build_vocab()  # int -> bytes

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError

    def encode(self, text):
        raise NotImplementedError

    def decode(self, ids):
        raise NotImplementedError

    def _build_vocab(self):
        # the vocab is simply and deterministically derived from the merges
        vocab = {idx: bytes([idx]) for idx in range(256)}
        for (p0, p1), idx in self.merges.items():
            vocab[idx] = vocab[p0] + vocab[p1]
        for special, idx in self.special_tokens.items():
            vocab[idx] = special.encode("utf-8")
        return vocab

    def save(self, file_prefix):
        """Write file_prefix.model (for load) and file_prefix.vocab (for people to read)."""
        # YOUR CODE HERE
        raise NotImplementedError()

    def load(self, model_file):
        """Inverse of save(), from the .model file only."""
        assert model_file.endswith(".model")
        # YOUR CODE HERE
        raise NotImplementedError()
