"""Lecture 3: makemore part 2, a multilayer perceptron language model (Bengio et al. 2003).

`data.py` turns words into (context, next character) examples and splits them 80/10/10;
`model.py` is the network (embedding table, tanh hidden layer, output layer) with its loss,
initialisation and sampling; `train.py` is the minibatch training loop.
"""
