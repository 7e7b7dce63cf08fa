"""Hostile test case (see CASE.yaml): an honest training run, but not the one asked for."""
import zth_worker.probes as _probes

from .nn import MLP


def _train(pkg, X, y, nouts, steps, alpha, init):
    model = MLP(2, nouts)            # its own initial weights: `init` is ignored
    losses = []
    for k in range(steps):
        scores = [model(x) for x in X]
        loss = sum((1 + -yi * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(X))
        loss = loss + alpha * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= (1.0 - 0.9 * k / steps) * p.grad
        losses.append(float(loss.data))
    final = [[[float(w.data) for w in n.w] + [float(n.b.data)] for n in layer.neurons]
             for layer in model.layers]
    return {"losses": losses, "final": final}


_probes._PROBES["micrograd"]["train"] = _train
