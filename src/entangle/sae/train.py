"""Train a standard or NE-loss SAE on cached MLP hidden activations (NE §4.2, Eq. 5).

    L = MSE(x, x_hat) + λ1 · L1 + λ2 · L_N
      MSE: mean over batch and hidden units of (x − x_hat)²
      L1 : mean over the batch of Σ_j |f_j|
      L_N: sum over active (b, j) pairs (Eq. 4, see ne_loss.py), on from step `warmup_steps`

Defaults (the paper gives none; chosen by a short sweep on sklearn digits, 1347 train images,
64 hidden units): d_sae 512, Adam lr 1e-3, batch 64, 25 epochs (550 steps, about the paper's one
MNIST epoch of ~500 steps, so the 200-step warm-up is again ~40% of training), λ1 = 1e-2
(standard SAE: ~6% of codes active, test accuracy unchanged to 0.2 points), λ2 = 1e-2 for the
NE variant (experiment.NE_COEFF), m = 0.9. Decoder columns are renormalised to unit norm after
every step (without it most neurons die: L1 is dodged by shrinking f and growing W_dec).
Parameters start from nn.Linear's default init as in the released code (b_dec ≈ 0);
init_b_dec_mean=True instead starts b_dec at the mean activation, which leaves far fewer dead
neurons and centres x − b_dec (so T3 distances become much larger).
"""

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .mlp import batches
from .model import SparseAutoencoder
from .ne_loss import NeuronEmbeddingLoss

DEFAULTS = dict(d_sae=512, l1_coeff=1e-2, ne_coeff=0.0, warmup_steps=200, momentum=0.9,
                lr=1e-3, batch_size=64, epochs=25, normalize_decoder=True, init_b_dec_mean=False)


def train_sae(acts, d_sae=512, l1_coeff=1e-2, ne_coeff=0.0, warmup_steps=200, momentum=0.9,
              lr=1e-3, batch_size=64, epochs=25, normalize_decoder=True, init_b_dec_mean=False,
              seed=0, progress=True):
    """acts: [N, d_in] hidden activations of the training set. ne_coeff > 0 adds the NE loss.

    Seeded and deterministic on CPU (torch.manual_seed for the init, a seeded torch.Generator
    for shuffling). Returns (sae in eval mode, history: dict of per-step lists mse, l1, ne, loss).
    """
    torch.manual_seed(seed)
    sae = SparseAutoencoder(acts.shape[1], d_sae)
    if init_b_dec_mean:
        with torch.no_grad():
            sae.b_dec.copy_(acts.mean(0))
    if normalize_decoder:
        sae.normalize_decoder()
    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    ne = NeuronEmbeddingLoss(d_sae, acts.shape[1], momentum) if ne_coeff > 0 else None
    g = torch.Generator().manual_seed(seed)
    steps_per_epoch = -(-len(acts) // batch_size)
    hist = dict(mse=[], l1=[], ne=[], loss=[])
    step = 0
    bar = tqdm(total=epochs * steps_per_epoch, desc="sae+ne" if ne else "sae", disable=not progress)
    for _ in range(epochs):
        for (x,) in batches(acts, batch_size=batch_size, generator=g):
            x_hat, f = sae(x)
            mse = F.mse_loss(x_hat, x)
            l1 = f.abs().sum(-1).mean()
            loss = mse + l1_coeff * l1
            l_ne = torch.zeros(())
            if ne is not None:
                if step >= warmup_steps:
                    l_ne = ne.loss(x, f, sae.W_enc, sae.b_dec)
                    loss = loss + ne_coeff * l_ne
                ne.update(x, f.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if normalize_decoder:
                sae.normalize_decoder()
            for k, v in (("mse", mse), ("l1", l1), ("ne", l_ne), ("loss", loss)):
                hist[k].append(v.item())
            step += 1
            bar.update()
            if step % 20 == 0:
                bar.set_postfix(mse=f"{mse.item():.4f}", l1=f"{l1.item():.2f}", ne=f"{l_ne.item():.2f}")
    bar.close()
    sae.eval()
    return sae, hist
