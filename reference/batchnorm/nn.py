"""The layers of a deep MLP, written like torch.nn but on plain tensors.

`Linear(fan_in, fan_out, bias=True)` computes x @ weight + bias. Its weight is drawn from
N(0, 1/fan_in) ("Kaiming" init without the gain), so a unit-variance input gives a unit-variance
output; the network multiplies in the gain 5/3 for tanh (see `model.py`). The bias starts at zero.

`BatchNorm1d(dim, eps=1e-5, momentum=0.1)` in training mode normalises every feature with the
batch's mean and variance, then scales by `gamma` and shifts by `beta` (both trainable). It also
keeps running averages of the batch statistics,
    running = (1 - momentum) * running + momentum * batch,
which eval mode (`training = False`) uses instead of the batch's and leaves unchanged.
Variance: the lecture normalises with `x.var(0)`, the unbiased (Bessel-corrected) variance.
`torch.nn.BatchNorm1d` normalises with the biased one (divide by N) and updates `running_var`
with the unbiased one. The grader accepts either way of normalising and says which it found.

Backward: `gamma` and `beta` are trained with backprop, so the training-mode output must be
built from them (and from x) inside autograd's graph: no `.detach()`, no copies. The grader
backpropagates a random upstream gradient and compares x.grad, gamma.grad, beta.grad with torch.

`Tanh` applies tanh elementwise. Every layer keeps its last output in `.out` (the diagnostics
read it) and lists its trainable tensors in `parameters()`.

Exercise ids: batchnorm.linear, batchnorm.bn_train, batchnorm.bn_running, batchnorm.bn_eval,
batchnorm.bn_backward.
"""
import torch


class Linear:

    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        ### BEGIN SOLUTION
        self.weight = torch.randn((fan_in, fan_out), generator=generator) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION
        self.out = x @ self.weight
        if self.bias is not None:
            self.out = self.out + self.bias
        return self.out
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [self.weight] + ([] if self.bias is None else [self.bias])
        ### END SOLUTION


class BatchNorm1d:

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        # parameters (trained with backprop)
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        # buffers (trained with a running "momentum update")
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        ### BEGIN SOLUTION
        if self.training:
            xmean = x.mean(0, keepdim=True)  # batch mean
            xvar = x.var(0, keepdim=True)    # batch variance (unbiased, as in the lecture)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalise to unit variance
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out
        ### END SOLUTION

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:

    def __call__(self, x):
        ### BEGIN SOLUTION
        self.out = torch.tanh(x)
        return self.out
        ### END SOLUTION

    def parameters(self):
        return []
