"""Sparse autoencoder on an MLP hidden layer, laid out as the released mechMNISTic code.

    f     = ReLU(W_enc (x - b_dec) + b_enc)      [B, d_sae]   (encoder sees x - b_dec)
    x_hat = W_dec f + b_dec                      [B, d_in]

`enc` and `dec` are nn.Linear(d_in, d_sae) and nn.Linear(d_sae, d_in), so W_enc = enc.weight
[d_sae, d_in] (row j = SAE neuron j's input weights), W_dec = dec.weight [d_in, d_sae]
(column j = its decoder direction) and b_dec = dec.bias.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class SparseAutoencoder(nn.Module):
    def __init__(self, d_in, d_sae):
        super().__init__()
        self.enc = nn.Linear(d_in, d_sae)
        self.dec = nn.Linear(d_sae, d_in)

    @property
    def W_enc(self):
        return self.enc.weight

    @property
    def W_dec(self):
        return self.dec.weight

    @property
    def b_dec(self):
        return self.dec.bias

    def encode(self, x):
        return F.relu(self.enc(x - self.dec.bias))

    def decode(self, f):
        return self.dec(f)

    def forward(self, x):
        """x [B, d_in] -> (x_hat [B, d_in], f [B, d_sae])."""
        f = self.encode(x)
        return self.decode(f), f

    @torch.no_grad()
    def normalize_decoder(self):
        """Rescale every decoder column to unit L2 norm (so L1 on f cannot be gamed by scale)."""
        self.dec.weight.div_(self.dec.weight.norm(dim=0, keepdim=True).clamp_min(1e-8))
