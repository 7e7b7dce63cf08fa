"""micrograd's buggy variants. A wrong op shows wherever Values are used: in the graphs of the
op checks, the network, the exercises and the picture, so most bugs fail many checks; the first
in report order says which op holds it."""
from __future__ import annotations

from . import Bug

# Own ops for -, / and neg (a correct style, tests/hostile/test_heldout_micrograd.py), so their
# _backward can hold a planted bug too.
OWN_OPS = [
    ("    def __neg__(self):  # -self\n        return self * -1\n",
     "    def __neg__(self):\n"
     "        out = Value(-self.data, (self,), 'neg')\n\n"
     "        def _backward():\n"
     "            self.grad -= out.grad\n"
     "        out._backward = _backward\n"
     "        return out\n"),
    ("    def __sub__(self, other):  # self - other\n        return self + (-other)\n",
     "    def __sub__(self, other):\n"
     "        other = other if isinstance(other, Value) else Value(other)\n"
     "        out = Value(self.data - other.data, (self, other), '-')\n\n"
     "        def _backward():\n"
     "            self.grad += out.grad\n"
     "            other.grad -= out.grad\n"
     "        out._backward = _backward\n"
     "        return out\n"),
    ("    def __truediv__(self, other):  # self / other\n        return self * other**-1\n",
     "    def __truediv__(self, other):\n"
     "        other = other if isinstance(other, Value) else Value(other)\n"
     "        out = Value(self.data / other.data, (self, other), '/')\n\n"
     "        def _backward():\n"
     "            self.grad += out.grad / other.data\n"
     "            other.grad -= out.grad * self.data / other.data**2\n"
     "        out._backward = _backward\n"
     "        return out\n")]


def _engine(old: str, new: str, own_ops: bool = False) -> dict:
    return {"engine.py": [*(OWN_OPS if own_ops else []), (old, new)]}


# what a wrong + or * breaks: every graph, the network and its training pieces, the picture
EVERYWHERE = "backward accumulate tanh exp log nn_forward parameters zero_grad draw_dot " \
             "softmax_nll big_graph"

BUGS = {
    # forward of each op
    "add_forward": Bug(_engine("Value(self.data + other.data, (self, other), '+')",
                               "Value(self.data + other.data * 1.01, (self, other), '+')"),
                       fails="ops " + EVERYWHERE),
    "mul_forward": Bug(_engine("Value(self.data * other.data, (self, other), '*')",
                               "Value(self.data * other.data + 0.01, (self, other), '*')"),
                       fails="ops " + EVERYWHERE),
    "pow_forward": Bug(_engine("Value(self.data**other, (self,)",
                               "Value(self.data**other * 1.01, (self,)"),
                       fails="ops backward draw_dot softmax_nll big_graph"),
    "relu_is_abs": Bug(_engine("Value(0 if self.data < 0 else self.data",
                               "Value(-self.data if self.data < 0 else self.data"),
                       fails="ops backward nn_forward zero_grad big_graph"),
    "neg_forward": Bug(_engine("        return self * -1\n", "        return self * 1\n"),
                       fails="ops backward tanh exp log softmax_nll big_graph"),
    "sub_forward": Bug(_engine("        return self + (-other)\n", "        return self + other\n"),
                       fails="ops backward tanh exp log big_graph"),
    "div_forward": Bug(_engine("        return self * other**-1\n",
                               "        return self * other**-2\n"),
                       fails="ops backward softmax_nll big_graph"),
    "tanh_forward": Bug(_engine("t = math.tanh(self.data)", "t = math.tanh(self.data * 1.01)"),
                        fails="tanh"),
    "exp_forward": Bug(_engine("e = math.exp(self.data)", "e = math.exp(self.data + 0.01)"),
                       fails="exp"),
    "log_forward": Bug(_engine("Value(math.log(self.data), (self,)",
                               "Value(math.log(self.data + 0.01), (self,)"),
                       fails="log softmax_nll"),
    # gradient of each op
    "add_backward": Bug(_engine("            other.grad += out.grad\n",
                                "            other.grad += 2 * out.grad\n"), fails=EVERYWHERE),
    "mul_backward": Bug(_engine("other.grad += self.data * out.grad",
                                "other.grad += 2 * self.data * out.grad"), fails=EVERYWHERE),
    "pow_gradient_wrong": Bug(_engine("other * self.data**(other - 1) * out.grad",
                                      "other * self.data**other * out.grad"),
                              fails="backward draw_dot softmax_nll big_graph"),
    "relu_grad_not_gated": Bug(_engine("self.grad += (out.data > 0) * out.grad",
                                       "self.grad += out.grad"),
                               fails="backward nn_forward zero_grad big_graph"),
    "neg_backward": Bug(_engine("            self.grad -= out.grad\n",
                                "            self.grad += out.grad\n", own_ops=True),
                        fails="backward softmax_nll big_graph"),
    "sub_backward": Bug(_engine("            other.grad -= out.grad\n",
                                "            other.grad -= 0.5 * out.grad\n", own_ops=True),
                        fails="backward tanh exp log big_graph"),
    "div_backward": Bug(_engine("other.grad -= out.grad * self.data / other.data**2",
                                "other.grad -= out.grad * self.data / other.data", own_ops=True),
                        fails="backward softmax_nll big_graph"),
    "tanh_derivative_wrong": Bug(_engine("(1 - t**2) * out.grad", "(1 - t) * out.grad"),
                                 fails="tanh"),
    "exp_backward": Bug(_engine("self.grad += e * out.grad", "self.grad += self.data * out.grad"),
                        fails="exp softmax_nll"),
    "log_backward": Bug(_engine("self.grad += out.grad / self.data",
                                "self.grad += out.grad * self.data"), fails="log softmax_nll"),
    # backward() itself: no topological order
    "no_topological_sort": Bug(_engine("        build_topo(self)\n",
                                       "        build_topo(self)\n"
                                       "        topo = sorted(topo, key=lambda v: v.data)\n"),
                               fails=EVERYWHERE.replace("accumulate ", "")),
    # '=' instead of '+=': reused nodes lose a contribution; the graphs and the check of
    # accumulation itself both name +
    "assign_not_accumulate": Bug(
        _engine("self.grad += out.grad\n            other.grad += out.grad",
                "self.grad = out.grad\n            other.grad = out.grad"),
        fails="backward accumulate tanh exp log nn_forward parameters softmax_nll big_graph",
        named="backward accumulate"),
    "tanh_assign_not_accumulate": Bug(_engine("self.grad += (1 - t**2) * out.grad",
                                              "self.grad = (1 - t**2) * out.grad"),
                                      fails="tanh"),
    # nn and the exercises
    "zero_grad_misses_biases": Bug({"nn.py": [("        for p in self.parameters():\n"
                                               "            p.grad = 0",
                                               "        for layer in self.layers:\n"
                                               "            for n in layer.neurons:\n"
                                               "                for w in n.w:\n"
                                               "                    w.grad = 0")]},
                                   fails="zero_grad"),
    "parameters_bias_first": Bug({"nn.py": [("return self.w + [self.b]",
                                             "return [self.b] + self.w")]}, fails="parameters"),
    "one_sided_difference": Bug({"exercises.py": [("(f(*up) - f(*down)) / (2 * h)",
                                                   "(f(*up) - f(*args)) / h")]},
                                fails="numerical_grad"),
    "relu_on_last_layer": Bug({"nn.py": [("nonlin=i != len(nouts) - 1", "nonlin=True")]},
                              fails="nn_forward zero_grad"),
    # draw_dot
    "draw_dot_edges_reversed": Bug({"viz.py": [(
        "dot.edge(str(id(n1)), str(id(n2)) + n2._op)",
        "dot.edge(str(id(n2)) + n2._op, str(id(n1)))")]}, fails="draw_dot"),
    "draw_dot_shows_data_as_grad": Bug({"viz.py": [("grad {n.grad:.4f}", "grad {n.data:.4f}")]},
                                       fails="draw_dot"),
    "trace_not_recursive": Bug({"viz.py": [("                build(child)\n", "")]},
                               fails="draw_dot"),
    "draw_dot_op_node_for_leaves": Bug({"viz.py": [("        if n._op:\n",
                                                    "        if True:\n")]}, fails="draw_dot"),
}
