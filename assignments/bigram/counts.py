"""The counting bigram model.

A name like "emma" becomes the bigrams .e em mm ma a. — `.` marks both the start and the end of a
word. Count how often each character follows each other character in a 27×27 table `N` (row = the
first character, column = the next one), normalise every row to get the probabilities `P` of
the next character, and you have a language model: sample from it one character at a time, or
score a word list by its average negative log likelihood (lower is better).

On all of names.txt (228,146 bigrams) the lecture prints an NLL of 2.4541; with add-one
smoothing ("fake counts", N + 1) it is 2.4544. Those are the values of the lecture's loop, which
accumulates the log likelihood in a float32 tensor; summed exactly they are 2.4540 and 2.4546,
and the grader accepts both (see the tolerance in course.yaml).

Exercise ids: bigram.vocab, bigram.counts, bigram.smoothing, bigram.nll, bigram.sample.
"""
import torch


def build_vocab(words):
    """Return (stoi, itos) for the characters in `words`, sorted, with '.' at index 0.

    For names.txt: '.' -> 0, 'a' -> 1, ..., 'z' -> 26. Only characters that occur in `words`
    belong to the vocabulary.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def bigrams(words):
    """Yield every (ch1, ch2) pair of every word, with '.' before the first char and after the
    last: "emma" gives ('.', 'e'), ('e', 'm'), ('m', 'm'), ('m', 'a'), ('a', '.')."""
    # YOUR CODE HERE
    raise NotImplementedError()


def count_bigrams(words, stoi):
    """The count matrix N (V×V, torch.int32): N[i, j] = how often char j follows char i."""
    # YOUR CODE HERE
    raise NotImplementedError()


def probabilities(N, k=1.0):
    """Row-normalised probabilities (float32) after adding `k` fake counts to every cell.

    k = 0 is the raw counting model; k = 1 is the lecture's add-one smoothing, which keeps any
    bigram from having probability 0 (and an infinite loss). Mind the broadcasting: every row
    must be divided by its own sum.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def nll(words, P, stoi):
    """Average negative log likelihood of all bigrams of `words` under P, as a Python float."""
    # YOUR CODE HERE
    raise NotImplementedError()


def sample(P, itos, n, generator):
    """Sample `n` words from P, each ending with '.'; draw every character with
    `torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator)`, starting
    from ix = 0 ('.') and stopping when '.' comes out again."""
    # YOUR CODE HERE
    raise NotImplementedError()
