"""Lecture 4: activations, gradients and BatchNorm (makemore part 3).

`data` builds the character-level data set, `nn` the layers (Linear, BatchNorm1d, Tanh),
`model` the deep MLP with a sensible initialisation, `diagnostics` the statistics behind the
lecture's activation / gradient / update-ratio plots, `exercises` the lecture's exercises E01/E02.
"""
