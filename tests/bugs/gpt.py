"""gpt's buggy variants. Head, MultiHeadAttention, Block, the model and what runs it depend on
each other (course.yaml depends_on): a bug in Head leaves the rest not graded."""
from __future__ import annotations

from . import Bug

HEAD_FORWARD = ("        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))\n"
                "        wei = F.softmax(wei, dim=-1)\n")
BUGS = {
    "no_causal_mask": Bug({"model.py": [(HEAD_FORWARD, "        wei = F.softmax(wei, dim=-1)\n")]},
                          fails="head causal"),
    # causal, but the rows no longer sum to 1
    "mask_after_softmax": Bug({"model.py": [(HEAD_FORWARD, (
        "        wei = F.softmax(wei, dim=-1)\n"
        "        wei = wei.masked_fill(self.tril[:T, :T] == 0, 0.0)\n"))]}, fails="head causal"),
    "scale_by_n_embd": Bug({"model.py": [(
        "wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5  # (B, T, T)",
        "wei = q @ k.transpose(-2, -1) * x.shape[-1]**-0.5")]}, fails="head causal"),
    "post_norm": Bug({"model.py": [(("        x = x + self.sa(self.ln1(x))\n"
                                     "        x = x + self.ffwd(self.ln2(x))\n"),
                                    ("        x = self.ln1(x + self.sa(x))\n"
                                     "        x = self.ln2(x + self.ffwd(x))\n"))]},
                     fails="causal block"),
    "generate_without_cropping": Bug({"model.py": [("idx_cond = idx[:, -self.block_size:]",
                                                    "idx_cond = idx")]}, raises="generate"),
    # the bigram model's draws: a softmax over the batch, or no draw at all (found by mutation)
    "bigram_softmax_over_batch": Bug({"bigram.py": [("probs = F.softmax(logits, dim=-1)",
                                                     "probs = F.softmax(logits, dim=0)")]},
                                     fails="bigram"),
    "bigram_argmax_instead_of_draw": Bug({"bigram.py": [(
        "idx_next = torch.multinomial(probs, num_samples=1)",
        "idx_next = probs.argmax(dim=-1, keepdim=True)")]}, fails="bigram"),
    # greedy decoding where the lecture samples: the one-hot test alone cannot tell
    "generate_argmax_instead_of_draw": Bug({"model.py": [(
        "idx_next = torch.multinomial(probs, num_samples=1)",
        "idx_next = probs.argmax(dim=-1, keepdim=True)")]}, fails="generate"),
    "pytorch_default_init": Bug({"model.py": [("        self.apply(self._init_weights)\n", "")]},
                                fails="init_loss"),
    # dropout that ignores eval mode: Head is already wrong in the grader's eval-mode checks
    "dropout_in_eval_mode": Bug({"model.py": [("        wei = self.dropout(wei)\n",
                                               "        wei = F.dropout(wei, 0.5)\n")]},
                                fails="head causal"),
    # the forward is right (gpt.model passes) but no gradient reaches the value projections
    "value_detached": Bug({"model.py": [("        v = self.value(x)  # (B, T, hs)\n",
                                         "        v = self.value(x).detach()  # (B, T, hs)\n")]},
                          fails="train"),
    "get_batch_ignores_generator": Bug({"data.py": [("(batch_size,), generator=generator)",
                                                     "(batch_size,))")]}, fails="data"),
}
