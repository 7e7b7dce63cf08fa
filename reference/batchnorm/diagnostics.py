"""The statistics behind the lecture's diagnostic plots, returned as data.

After a forward and backward pass (with `layer.out.retain_grad()` on every layer):
- activations: for every Tanh layer, the mean and std of its output and the fraction of units
  that are saturated (|t| > 0.97, where tanh's gradient 1 - t**2 is nearly zero);
- gradients: for every Tanh layer, the mean and std of the gradient flowing into its output;
- weights: for every 2-D parameter, the mean and std of its gradient and the grad:data ratio
  grad.std() / data.std() (how big the gradient is next to the values it will change);
- updates: for every 2-D parameter, log10 of the update-to-data ratio
  (lr * grad).std() / data.std(). Around -3 is healthy: much lower learns too slowly, much
  higher changes the weights too fast.
Standard deviations are torch's default `std()` (unbiased), as in the lecture.

Exercise ids: batchnorm.activation_stats, batchnorm.grad_stats.
"""
from .nn import Tanh


def activation_stats(layers, saturation=0.97):
    """[{layer, mean, std, saturated}] for every Tanh layer (`layer` is its index)."""
    ### BEGIN SOLUTION
    stats = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Tanh):
            t = layer.out
            stats.append({"layer": i, "mean": t.mean().item(), "std": t.std().item(),
                          "saturated": (t.abs() > saturation).float().mean().item()})
    return stats
    ### END SOLUTION


def gradient_stats(layers):
    """[{layer, mean, std}] of the gradient at every Tanh layer's output."""
    ### BEGIN SOLUTION
    stats = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Tanh):
            t = layer.out.grad
            stats.append({"layer": i, "mean": t.mean().item(), "std": t.std().item()})
    return stats
    ### END SOLUTION


def weight_stats(parameters):
    """[{index, mean, std, ratio}] of the gradient of every 2-D parameter (`index` in the list)."""
    ### BEGIN SOLUTION
    stats = []
    for i, p in enumerate(parameters):
        if p.ndim == 2:
            stats.append({"index": i, "mean": p.grad.mean().item(), "std": p.grad.std().item(),
                          "ratio": (p.grad.std() / p.std()).item()})
    return stats
    ### END SOLUTION


def update_ratios(parameters, lr):
    """log10((lr * grad).std() / data.std()) for every 2-D parameter, in order."""
    ### BEGIN SOLUTION
    return [((lr * p.grad).std() / p.data.std()).log10().item()
            for p in parameters if p.ndim == 2]
    ### END SOLUTION
