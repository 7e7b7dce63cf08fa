"""Lecture 5: becoming a backprop ninja (makemore part 4).

`model` is the exercise's two-layer MLP with BatchNorm, its forward pass broken into named
intermediates; `ninja` is exercise 1 (backprop through every intermediate by hand); `fused` are
exercises 2 and 3 (cross-entropy and BatchNorm backward in one expression each); `train` is
exercise 4 (a full training loop with the manual gradients). The manual-gradient functions may not
call autograd (`.backward()`, `torch.autograd`): the grader checks.
"""
