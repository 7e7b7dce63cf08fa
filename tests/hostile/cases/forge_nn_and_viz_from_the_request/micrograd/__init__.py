"""Hostile test case (see CASE.yaml): nn.py and viz.py are stubs; the probes lie instead."""
import zth_worker.probes as _probes


def _names(sizes):
    return [f"L{li}.N{ni}." + (f"w{k}" if k < sizes[li] else "b")
            for li in range(len(sizes) - 1) for ni in range(sizes[li + 1])
            for k in range(sizes[li] + 1)]


def _parameters(pkg, nin, nouts, values, xs, neuron_values, layer_values):
    def part(vals, n_out, inputs):   # the right count; the parent's values as "outputs"
        return {"count": len(vals), "outputs": [list(vals[:n_out]) for _ in inputs],
                "grads": [0.0] * len(vals)}
    return {"mlp": {**part(values, nouts[-1], xs), "order": _names([nin] + nouts)},
            "neuron": part(neuron_values, 1, xs[:2]),
            "layer": part(layer_values, nouts[0], xs[:2])}


def _zero_grad(pkg, nin, nouts, weights, stale, x, coefs):
    return [0.0] * len(stale)       # "every gradient is zero after zero_grad()"


def _draw_dot(pkg, dag):
    lines = ["digraph {"]
    for k, v in enumerate(dag["leaves"]):
        lines.append(f'\tn{k} [label="{{ | data {v:.4f} | grad 0.0000 }}" shape=record]')
    for k, op in enumerate(dag["ops"], len(dag["leaves"])):
        lines.append(f'\tn{k} [label="{{ | data 0.0000 | grad 1.0000 }}" shape=record]')
        lines.append(f'\t"n{k}{op[0]}" [label="{op[0]}"]')
        lines.append(f'\t"n{k}{op[0]}" -> n{k}')
        for i in op[1:3 if op[0] in ("add", "mul") else 2]:
            lines.append(f'\tn{i} -> "n{k}{op[0]}"')
    return {"source": "\n".join(lines + ["}"])}


_probes._PROBES["micrograd"].update(parameters=_parameters, zero_grad=_zero_grad,
                                    draw_dot=_draw_dot)
