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
    ### BEGIN SOLUTION
    chars = sorted(set(''.join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos
    ### END SOLUTION


def bigrams(words):
    """Yield every (ch1, ch2) pair of every word, with '.' before the first char and after the
    last: "emma" gives ('.', 'e'), ('e', 'm'), ('m', 'm'), ('m', 'a'), ('a', '.')."""
    ### BEGIN SOLUTION
    for w in words:
        chs = ['.'] + list(w) + ['.']
        yield from zip(chs, chs[1:])  # noqa: RUF007 (the lecture's idiom)
    ### END SOLUTION


def count_bigrams(words, stoi):
    """The count matrix N (V×V, torch.int32): N[i, j] = how often char j follows char i."""
    ### BEGIN SOLUTION
    V = len(stoi)
    pairs = torch.tensor([(stoi[ch1], stoi[ch2]) for ch1, ch2 in bigrams(words)],
                         dtype=torch.long).view(-1, 2)
    N = torch.zeros((V, V), dtype=torch.int32)
    # the vectorised N[ix1, ix2] += 1: accumulate=True counts a pair once per occurrence
    N.index_put_((pairs[:, 0], pairs[:, 1]), torch.ones(len(pairs), dtype=torch.int32),
                 accumulate=True)
    return N
    ### END SOLUTION


def probabilities(N, k=1.0):
    """Row-normalised probabilities (float32) after adding `k` fake counts to every cell.

    k = 0 is the raw counting model; k = 1 is the lecture's add-one smoothing, which keeps any
    bigram from having probability 0 (and an infinite loss). Mind the broadcasting: every row
    must be divided by its own sum.
    """
    ### BEGIN SOLUTION
    P = (N + k).float()
    P /= P.sum(1, keepdim=True)
    return P
    ### END SOLUTION


def nll(words, P, stoi):
    """Average negative log likelihood of all bigrams of `words` under P, as a Python float."""
    ### BEGIN SOLUTION
    log_likelihood = 0.0
    n = 0
    for ch1, ch2 in bigrams(words):
        prob = P[stoi[ch1], stoi[ch2]]
        log_likelihood += torch.log(prob)
        n += 1
    return (-log_likelihood / n).item()
    ### END SOLUTION


def sample(P, itos, n, generator):
    """Sample `n` words from P, each ending with '.'; draw every character with
    `torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator)`, starting
    from ix = 0 ('.') and stopping when '.' comes out again."""
    ### BEGIN SOLUTION
    out = []
    for _ in range(n):
        chars = []
        ix = 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=generator).item()
            chars.append(itos[ix])
            if ix == 0:
                break
        out.append(''.join(chars))
    return out
    ### END SOLUTION
