"""Neuron-embedding (NE) loss for SAE training (Foote §3.3.2, Eq. 4 and 6).

    L_N = Σ_{b} Σ_{j active on b} 1 − cos(h_avg_j ⊙ w_j, h_b ⊙ w_j)

w_j is row j of W_enc. Decisions where the paper is silent:
- h is what the encoder sees, x − b_dec (b_dec detached: the loss shapes the encoder weights,
  and cannot be lowered by moving the decoder bias). h_avg_j stores raw inputs x and is centered
  with the current b_dec when used.
- "Active" means f_bj > 0. Only neurons that had already been active before the current batch
  contribute; a neuron's first activating batch only initialises its average (the paper
  "stores" the first embedding rather than scoring it).
- Within a batch all inputs are scored against the average as it was before the batch; the
  average is then updated as if the batch's activating inputs were processed one at a time in
  batch order with Eq. 6 and m = 0.9 (initialised with the first activating input), which has
  the closed form h_avg ← m^n h_avg + Σ_i (1 − m) m^(n−1−i) h_i over the n activating inputs.
- The average is tracked from step 0, the loss is only switched on after warm-up (train.py).
"""

import torch
import torch.nn.functional as F


class NeuronEmbeddingLoss:
    """Running per-neuron average inputs and the L_N term. State: h_avg [d_sae, d_in], seen [d_sae]."""

    def __init__(self, d_sae, d_in, momentum=0.9, eps=1e-8):
        self.m, self.eps = momentum, eps
        self.h_avg = torch.zeros(d_sae, d_in)
        self.seen = torch.zeros(d_sae, dtype=torch.bool)

    def loss(self, x, f, W_enc, b_dec):
        """x [B, d_in] SAE inputs, f [B, d_sae] codes, W_enc [d_sae, d_in], b_dec [d_in].

        Returns the scalar L_N (a sum over active, previously seen (b, j) pairs; 0 if none),
        differentiable w.r.t. W_enc.
        """
        b_idx, j_idx = ((f > 0) & self.seen[None]).nonzero(as_tuple=True)
        if len(b_idx) == 0:
            return W_enc.sum() * 0.0
        c = b_dec.detach()
        w = W_enc[j_idx]                                     # [P, d_in]
        e_b = (x[b_idx] - c) * w
        e_avg = (self.h_avg[j_idx] - c) * w
        return (1.0 - F.cosine_similarity(e_b, e_avg, dim=-1, eps=self.eps)).sum()

    @torch.no_grad()
    def update(self, x, f):
        """Fold the batch's activating inputs into the running averages (see module doc)."""
        A = (f > 0).to(x.dtype)                              # [B, J]
        n = A.sum(0)                                         # [J]
        new = (n > 0) & ~self.seen
        if new.any():
            first = A[:, new].argmax(0)                      # first activating input per new neuron
            self.h_avg[new] = x[first]
            self.seen |= new
        after = A.flip(0).cumsum(0).flip(0) - A              # activating inputs after b, per neuron
        wgt = (1 - self.m) * self.m ** after * A             # [B, J]
        self.h_avg = (self.m ** n)[:, None] * self.h_avg + wgt.T @ x
