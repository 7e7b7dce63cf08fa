"""Lecture 7: Let's build GPT, from scratch, in code, spelled out.

A character-level language model on tiny Shakespeare: first a bigram model, then the
"mathematical trick" of self-attention, then a decoder-only Transformer (GPT) built from
`Head`, `MultiHeadAttention`, `FeedForward` and `Block`. Read the files in the order data flows:
data.py -> bigram.py -> trick.py -> model.py -> train.py.
"""
