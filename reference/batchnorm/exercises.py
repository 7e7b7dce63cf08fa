"""The lecture's exercises.

E01: initialise every weight and bias to zero and train. The network neither trains fine nor
not at all: it trains *partially*. `zero_init_experiment` records which parameters ever receive
a non-zero gradient; the notebook asks you to explain the pattern (manually graded).

E02: after training, a BatchNorm in eval mode is an affine map per feature,
    y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta,
so it can be folded into the Linear before it: scale every output column of the weight by
s = gamma / sqrt(running_var + eps) and set the bias to (bias - running_mean) * s + beta (with
bias = 0 when the Linear has none). The folded network computes the same eval-mode outputs with
one layer less at inference time.

Exercise ids: batchnorm.fold (E02).
"""
import torch
import torch.nn.functional as F

from .model import build_mlp, forward, parameters
from .nn import Linear


def fold_batchnorm(linear, bn):
    """A new Linear (with a bias) equal to `bn(linear(x))` with `bn` in eval mode."""
    ### BEGIN SOLUTION
    scale = bn.gamma / torch.sqrt(bn.running_var + bn.eps)
    bias = linear.bias if linear.bias is not None else torch.zeros(linear.weight.shape[1])
    folded = Linear(*linear.weight.shape)
    folded.weight = linear.weight * scale.reshape(1, -1)
    folded.bias = ((bias - bn.running_mean) * scale + bn.beta).reshape(-1)
    return folded
    ### END SOLUTION


def parameter_names(layers):
    names = ["C"]
    for i, layer in enumerate(layers):
        for p in layer.parameters():
            kind = next(k for k, v in vars(layer).items() if v is p)
            names.append(f"layers[{i}].{kind}")
    return names


def zero_init_experiment(Xtr, Ytr, steps=1000, batch_size=32, batchnorm=False, generator=None):
    """E01: train the deep MLP from all-zero weights and biases.

    Returns {"losses": loss per step, "grad_max": {parameter name: largest |grad| seen}}: the
    parameters whose grad_max stays 0 never moved.
    """
    vocab_size = int(Ytr.max()) + 1
    C, layers = build_mlp(vocab_size, Xtr.shape[1], batchnorm=batchnorm, generator=generator)
    params = parameters(C, layers)
    names = parameter_names(layers)
    with torch.no_grad():
        for p in params[1:]:  # every weight and bias (the BatchNorm gains stay 1)
            if not (p.ndim == 1 and torch.all(p == 1)):
                p.zero_()
    grad_max = {n: 0.0 for n in names}
    losses = []
    for _ in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=generator)
        loss = F.cross_entropy(forward(C, layers, Xtr[ix]), Ytr[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for n, p in zip(names, params):
                grad_max[n] = max(grad_max[n], p.grad.abs().max().item())
                p -= 0.1 * p.grad
        losses.append(loss.item())
    return {"losses": losses, "grad_max": grad_max}
