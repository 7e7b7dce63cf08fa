"""Lecture 2: makemore part 1, the bigram character-level language model.

`counts.py` counts bigrams into a 27×27 table and turns it into probabilities (the counting
model); `neural.py` learns the same table with a single linear layer and gradient descent;
`exercises.py` holds the lecture's exercises E01–E05 (trigram, dev/test splits, smoothing
sweep; E04/E05 live in `neural.py` beside the code they improve).
"""
