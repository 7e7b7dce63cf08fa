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
    ### BEGIN SOLUTION
    counts = {} if counts is None else counts
    for pair in itertools.pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    ### END SOLUTION
    return counts


def merge(ids, pair, idx):
    """Replace every occurrence of `pair` in `ids`, left to right, with `idx`:
    ids=[1, 2, 3, 1, 2], pair=(1, 2), idx=4 -> [4, 3, 4]. Occurrences do not overlap:
    [7, 7, 7] with pair (7, 7) -> [idx, 7]."""
    ### BEGIN SOLUTION
    newids = []
    i = 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            newids.append(idx)
            i += 2
        else:
            newids.append(ids[i])
            i += 1
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    words = [list(c) for c in chunks]
    weights = list(chunks.values())
    stats, where = {}, {}            # pair -> count, pair -> indices of chunks holding it
    for w, (ids, weight) in enumerate(zip(words, weights)):
        for pair in itertools.pairwise(ids):
            stats[pair] = stats.get(pair, 0) + weight
            where.setdefault(pair, set()).add(w)

    def first_seen(pair):
        # the lecture's max() over a fresh count returns the tie seen first in the text
        for w in sorted(where[pair]):
            ids = words[w]
            for i in range(len(ids) - 1):
                if (ids[i], ids[i + 1]) == pair:
                    return (w, i)
        return (len(words), 0)

    merges = {}
    vocab = {idx: bytes([idx]) for idx in range(256)}
    for i in range(num_merges):
        best = max(stats.values(), default=0)
        if best <= 0:
            break  # every chunk is a single token: nothing left to merge
        ties = [pair for pair, count in stats.items() if count == best]
        pair = min(ties, key=first_seen) if len(ties) > 1 else ties[0]
        idx = 256 + i
        for w in where.pop(pair):
            words[w] = _merge_counting(words[w], pair, idx, weights[w], stats, where, w)
        del stats[pair]
        merges[pair] = idx
        vocab[idx] = vocab[pair[0]] + vocab[pair[1]]
        if verbose:
            print(f"merge {i + 1}/{num_merges}: {pair} -> {idx} ({vocab[idx]}) had {best} "
                  "occurrences")
    ### END SOLUTION
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
        ### BEGIN SOLUTION
        with open(file_prefix + ".model", "w", encoding="utf-8") as f:
            f.write("minbpe v1\n")
            f.write(f"{self.pattern}\n")
            f.write(f"{len(self.special_tokens)}\n")
            f.writelines(f"{special} {idx}\n" for special, idx in self.special_tokens.items())
            f.writelines(f"{idx1} {idx2}\n" for idx1, idx2 in self.merges)
        inverted_merges = {idx: pair for pair, idx in self.merges.items()}
        with open(file_prefix + ".vocab", "w", encoding="utf-8") as f:
            for idx, token in self.vocab.items():
                s = render_token(token)
                if idx in inverted_merges:
                    idx0, idx1 = inverted_merges[idx]
                    s0, s1 = render_token(self.vocab[idx0]), render_token(self.vocab[idx1])
                    f.write(f"[{s0}][{s1}] -> [{s}] {idx}\n")
                else:
                    f.write(f"[{s}] {idx}\n")
        ### END SOLUTION

    def load(self, model_file):
        """Inverse of save(), from the .model file only."""
        assert model_file.endswith(".model")
        ### BEGIN SOLUTION
        merges, special_tokens = {}, {}
        idx = 256
        with open(model_file, encoding="utf-8") as f:
            version = f.readline().strip()
            assert version == "minbpe v1"
            self.pattern = f.readline().strip()
            num_special = int(f.readline().strip())
            for _ in range(num_special):
                special, special_idx = f.readline().strip().split()
                special_tokens[special] = int(special_idx)
            for line in f:
                idx1, idx2 = map(int, line.split())
                merges[(idx1, idx2)] = idx
                idx += 1
        self.merges = merges
        self.special_tokens = special_tokens
        self.vocab = self._build_vocab()
        ### END SOLUTION
