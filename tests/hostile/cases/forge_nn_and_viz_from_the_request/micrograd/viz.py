"""Draw the expression graph of a Value with graphviz (the lecture's `draw_dot`).

Each Value becomes a record node `{ label | data 2.0000 | grad 0.0000 }`; each non-leaf also gets
a small op node (`+`, `*`, `tanh`, ...) with an edge op -> value, and every input gets an edge
input -> op. `draw_dot` returns a `graphviz.Digraph`; rendering it needs the `dot` binary, reading
its `.source` does not.

Exercise id: micrograd.draw_dot.
"""
from graphviz import Digraph


def trace(root):
    """All nodes and edges (child, parent) of the graph that ends in `root`."""
    # YOUR CODE HERE
    raise NotImplementedError()


def draw_dot(root, format='svg', rankdir='LR'):
    """A graphviz Digraph of the expression graph that ends in `root`."""
    assert rankdir in ['LR', 'TB']
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
    for n in nodes:
        label = getattr(n, 'label', '')
        dot.node(name=str(id(n)), label=f"{{ {label} | data {n.data:.4f} | grad {n.grad:.4f} }}",
                 shape='record')
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot
