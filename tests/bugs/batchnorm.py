"""batchnorm's buggy variants."""
from __future__ import annotations

from . import Bug

UPDATE = ("                self.running_mean = (1 - self.momentum) * self.running_mean + "
          "self.momentum * xmean\n"
          "                self.running_var = (1 - self.momentum) * self.running_var + "
          "self.momentum * xvar\n")

BUGS = {
    # running = momentum * running + (1 - momentum) * batch
    "momentum_wrong_way_round": Bug(
        {"nn.py": [(UPDATE, UPDATE.replace("(1 - self.momentum) * self.running_mean + "
                                           "self.momentum * xmean",
                                           "self.momentum * self.running_mean + "
                                           "(1 - self.momentum) * xmean")
                    .replace("(1 - self.momentum) * self.running_var + self.momentum * xvar",
                             "self.momentum * self.running_var + (1 - self.momentum) * xvar"))]},
        fails="bn_running bn_eval bn_momentum"),
    # the running statistics are updated with the batch's statistics in eval mode too
    "running_stats_updated_in_eval_mode": Bug(
        {"nn.py": [("        if self.training:\n            with torch.no_grad():\n",
                    ("        if True:\n            xmean, xvar = x.mean(0, keepdim=True), "
                     "x.var(0, keepdim=True)\n            with torch.no_grad():\n"))]},
        fails="bn_eval"),
    # running statistics updated with grad enabled: each step's graph stays alive through them
    "running_stats_updated_with_grad": Bug(
        {"nn.py": [("            with torch.no_grad():\n                self.running_mean",
                    "            if True:\n                self.running_mean")]},
        fails="bn_running bn_momentum"),
    "no_tanh_gain": Bug({"model.py": [("layer.weight *= 5 / 3", "layer.weight *= 1.0")]},
                        fails="init_stats"),
    # ReLU's Kaiming gain sqrt(2) instead of tanh's 5/3: the pre-activation stds stay in range
    "relu_gain_instead_of_tanh": Bug({"model.py": [("layer.weight *= 5 / 3",
                                                    "layer.weight *= 2 ** 0.5")]},
                                     fails="init_stats"),
    "no_fan_in_scaling": Bug({"nn.py": [("/ fan_in**0.5", "")]},
                             fails="linear init_stats init_loss"),
    "last_layer_not_scaled_down": Bug(
        {"model.py": [("            layers[-1].weight *= 0.1\n", "            pass\n")]},
        fails="init_loss"),
    "fold_forgets_beta": Bug({"exercises.py": [("* scale + bn.beta)", "* scale)")]},
                             fails="fold"),
    # gamma and beta used detached: the forward is right, no gradient ever reaches them
    "gamma_beta_detached": Bug(
        {"nn.py": [("        self.out = self.gamma * xhat + self.beta\n",
                    "        self.out = self.gamma.detach() * xhat + self.beta.detach()\n")]},
        fails="bn_backward"),
    # the normalisation's statistics detached: a wrong x.grad, gamma/beta still right
    "batch_stats_detached": Bug(
        {"nn.py": [("        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)",
                    "        xhat = (x - xmean.detach()) / torch.sqrt(xvar.detach() + self.eps)")]},
        fails="bn_backward"),
    "variance_instead_of_std_in_stats": Bug(
        {"diagnostics.py": [('"mean": t.mean().item(), "std": t.std().item(),\n',
                             '"mean": t.mean().item(), "std": t.var().item(),\n')]},
        fails="activation_stats"),
}
