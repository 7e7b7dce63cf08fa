"""Hostile test case (see CASE.yaml): not a real micrograd."""
import torch

torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
