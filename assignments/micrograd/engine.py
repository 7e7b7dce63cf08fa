"""A scalar-valued autograd engine.

Every operation builds a new `Value` (`out`) that remembers its inputs (`_prev`) and the op that
made it (`_op`), and defines a closure `_backward` that pushes `out.grad` into the inputs' grads by
the chain rule. `backward()` orders the graph topologically and calls each `_backward` from the
output back to the leaves. Gradients accumulate (`+=`): a node used twice gets both contributions.

Exercise ids: micrograd.ops (forward values), micrograd.backward (gradients), micrograd.accumulate,
micrograd.tanh, micrograd.exp and micrograd.log (each op's value and gradient).
"""
import math


class Value:
    """Stores a single scalar value and its gradient."""

    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op  # the op that produced this node, for graphviz / debugging

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            # YOUR CODE HERE
            raise NotImplementedError()
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            # YOUR CODE HERE
            raise NotImplementedError()
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data**other, (self,), f'**{other}')

        def _backward():
            # YOUR CODE HERE
            raise NotImplementedError()
        out._backward = _backward
        return out

    def tanh(self):
        # YOUR CODE HERE
        raise NotImplementedError()
        out._backward = _backward
        return out

    def exp(self):
        # YOUR CODE HERE
        raise NotImplementedError()
        out._backward = _backward
        return out

    def log(self):
        # YOUR CODE HERE
        raise NotImplementedError()
        out._backward = _backward
        return out

    def relu(self):
        # YOUR CODE HERE
        raise NotImplementedError()
        out._backward = _backward
        return out

    def backward(self):
        """Fill in .grad of every node that this one depends on (d self / d node)."""
        # YOUR CODE HERE
        raise NotImplementedError()

    # the rest is built from the ops above
    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
