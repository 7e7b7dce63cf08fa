"""Lecture 6: building a WaveNet (makemore part 5).

`data` builds the data set with a context of 8 characters, `nn` the layers (torch.nn-like
containers included: Embedding, FlattenConsecutive, Sequential), `model` the hierarchical
network that fuses two neighbouring characters, then two neighbouring pairs, and so on.
"""
