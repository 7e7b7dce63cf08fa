"""Minibatch training of the MLP.

Every step draws a random minibatch of examples (torch.randint with the given generator), runs
the forward pass and the loss, zeroes the gradients, backpropagates and nudges every parameter
against its gradient with the step's learning rate. A minibatch gradient is only an estimate of
the full one, but a good-enough direction computed 7000× faster than the full batch beats the
exact one. The lecture's run: 200,000 steps of batch 32, lr 0.1 then 0.01 after step 100,000,
reaching train 2.1260 / dev 2.1701 (E01: beat a dev loss of 2.2).

Exercise id: mlp.train.
"""
import torch

from .model import forward, loss_fn


def lecture_lr(i):
    """The lecture's learning-rate schedule: 0.1, then 0.01 after step 100,000."""
    return 0.1 if i < 100_000 else 0.01


def train(parameters, X, Y, steps, batch_size=32, lr=lecture_lr, generator=None):
    """`steps` steps of minibatch SGD on `parameters`, in place. Step i = 0, 1, ... draws the
    minibatch ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator), computes
    loss_fn(forward(parameters, X[ix]), Y[ix]), zeroes every grad, backpropagates and updates
    p.data += -lr(i) * p.grad. Returns the minibatch loss of every step, as floats."""
    ### BEGIN SOLUTION
    lossi = []
    for i in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        logits = forward(parameters, X[ix])
        loss = loss_fn(logits, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr(i) * p.grad
        lossi.append(loss.item())
    return lossi
    ### END SOLUTION


@torch.no_grad()
def evaluate(parameters, X, Y):
    """The loss on a whole split (no gradients), as a float."""
    return loss_fn(forward(parameters, X), Y).item()
