"""Examples for the MLP: a fixed-size context of previous characters → the next character.

With block_size = 3, "emma" gives the five examples ... → e, ..e → m, .em → m, emm → a,
mma → . — the context starts as block_size dots (index 0) and slides along the word, so every
character of the word and the final '.' is predicted once. On all of names.txt that is 228,146
examples. The words are split at random (random.seed(42); random.shuffle) 80/10/10 into train,
dev and test: 182,625 / 22,655 / 22,866 examples.

Exercise ids: mlp.dataset, mlp.split.
"""
import random

import torch

# the vocabulary of names.txt, as the lecture builds it: sorted(set(''.join(words))) is a..z
chars = [chr(c) for c in range(ord('a'), ord('z') + 1)]
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)


def build_dataset(words, block_size=3):
    """X (torch.int64, n×block_size): the context of each example, as character indices;
    Y (torch.int64, n): the character that follows it. One example per character of each word
    plus one for the final '.'; every context starts as block_size zeros ('...')."""
    # YOUR CODE HERE
    raise NotImplementedError()


def split_words(words, seed=42):
    """The lecture's split: shuffle a copy of `words` exactly as random.seed(seed) followed by
    random.shuffle(words) would, then cut at n1 = int(0.8 * n) and n2 = int(0.9 * n).
    Returns (train, dev, test) lists of words. The caller's list and the global random state
    (`random`, torch) stay as they were: shuffle with a generator of its own,
    random.Random(seed)."""
    # YOUR CODE HERE
    raise NotImplementedError()
