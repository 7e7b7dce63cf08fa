"""A tiny neural net library on top of `Value`, with the API of PyTorch's nn.

`Neuron(nin, nonlin=True)` computes relu(w·x + b) (or w·x + b when nonlin=False); a `Layer` is
a list of neurons; an `MLP(nin, nouts)` stacks layers with relu everywhere but the last layer.
`parameters()` lists weights first, then the bias, neuron by neuron, layer by layer.

Exercise ids: micrograd.nn_forward, micrograd.parameters, micrograd.zero_grad, micrograd.train.
"""
import random

from .engine import Value


class Module:

    def zero_grad(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()

    def parameters(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()

    def parameters(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()

    def parameters(self):
        # YOUR CODE HERE
        raise NotImplementedError()

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
