"""wavenet's buggy variants."""
from __future__ import annotations

from . import Bug

BUGS = {
    "flatten_drops_the_squeeze": Bug(
        {"nn.py": [("        if x.shape[1] == 1:\n            x = x.squeeze(1)\n", "")]},
        fails="flatten shapes other_block_size", raises="torch_equiv eval_mode"),
    # the lecture's bug: statistics over dim 0 only, one set per position
    "batchnorm_mean_over_dim_0_only": Bug(
        {"nn.py": [("                dim = (0, 1)\n", "                dim = 0\n")]},
        raises="batchnorm3d", fails="torch_equiv eval_mode train"),
    "sequential_parameters_reversed": Bug(
        {"nn.py": [("for layer in self.layers for p in layer.parameters()]",
                    "for layer in self.layers[::-1] for p in layer.parameters()]")]},
        fails="sequential torch_equiv"),
    # x.squeeze() drops every singleton dim: a batch of one loses its batch dimension
    "flatten_squeezes_every_singleton": Bug(
        {"nn.py": [("        if x.shape[1] == 1:\n            x = x.squeeze(1)\n",
                    "        x = x.squeeze()\n")]},
        fails="flatten"),
    # running buffers updated with grad enabled: each step's graph stays alive through them
    "running_stats_updated_with_grad": Bug(
        {"nn.py": [("            with torch.no_grad():\n                self.running_mean",
                    "            if True:\n                self.running_mean")]},
        fails="batchnorm3d"),
    # biased variance throughout: running_var must track the unbiased one (the contract)
    "biased_running_var": Bug(
        {"nn.py": [("            xvar = x.var(dim, keepdim=True)",
                    "            xvar = x.var(dim, keepdim=True, unbiased=False)")]},
        fails="batchnorm3d eval_mode"),
    # found by `zth mutate wavenet`: the last layer scaled up, not down (confidently wrong at init)
    "last_layer_scaled_up": Bug(
        {"model.py": [("model.layers[-1].weight *= 0.1", "model.layers[-1].weight /= 0.1")]},
        fails="shapes other_block_size"),
}
