"""SAE evaluation: NE-T2 (reconstruction and sparsity) and NE-T3 (neuron-embedding geometry).

Aggregations (the paper does not state them; NE §3.3.2, Tables 2-3):
- mse:      mean over test examples and hidden units of (a − a_hat)²; mse_sum: mean over test
            examples of Σ_units (a − a_hat)².
- l1:       mean over test examples of Σ_j |f_j|; l1_total: the sum over the whole test set.
- l0_pct:   mean over test examples of 100 · (#j with f_j > 0) / d_sae.
- acc_loss: 100 · (MLP test accuracy − accuracy with the hidden layer replaced by a_hat), points.
- T3, per SAE neuron j: its activating test examples (f_j > 0) in test order, the first
  ≤ max_examples of them, neuron embeddings (a − b_dec) ⊙ W_enc[j] (what the encoder sees),
  and the max and mean cosine distance over distinct pairs. Medians over neurons with ≥ 2
  examples. size = number of activating test examples (uncapped), median over neurons with ≥ 1.
  dead_pct = 100 · fraction of neurons with f_j = 0 on every TRAINING example.
"""

import numpy as np
import torch

from ..embeddings.cluster import cosine_distance_matrix
from .mlp import accuracy


@torch.no_grad()
def encode_all(sae, acts, batch_size=4096):
    """[N, d_in] -> codes [N, d_sae], in chunks."""
    return torch.cat([sae.encode(acts[i:i + batch_size]) for i in range(0, len(acts), batch_size)])


@torch.no_grad()
def reconstruction_metrics(mlp, sae, x_test, y_test):
    """NE-T2 on held-out data. x_test: [N, n_in] images. Returns a dict of floats."""
    a = mlp.hidden(x_test)
    a_hat, f = sae(a)
    err = (a - a_hat) ** 2
    acc = accuracy(mlp, x_test, y_test)
    acc_sae = accuracy(mlp, x_test, y_test, hidden_fn=lambda h: sae(h)[0])
    return dict(
        mse=err.mean().item(), mse_sum=err.sum(-1).mean().item(),
        l1=f.abs().sum(-1).mean().item(), l1_total=f.abs().sum().item(),
        l0_pct=100.0 * (f > 0).float().mean().item(),
        acc=100.0 * acc, acc_sae=100.0 * acc_sae, acc_loss=100.0 * (acc - acc_sae),
    )


@torch.no_grad()
def neuron_embedding_metrics(sae, acts_test, acts_train, max_examples=100):
    """NE-T3. acts_*: [N, d_in] SAE inputs (MLP hidden activations).

    Returns (summary dict, per-neuron dict of arrays [d_sae]: size, max_dist, mean_dist (NaN
    where < 2 examples), dead (bool)).
    """
    f = encode_all(sae, acts_test)
    W = sae.W_enc.double().numpy()
    centered = (acts_test - sae.b_dec).double().numpy()
    d_sae = f.shape[1]
    size = (f > 0).sum(0).numpy()
    max_d = np.full(d_sae, np.nan)
    mean_d = np.full(d_sae, np.nan)
    for j in range(d_sae):
        idx = torch.nonzero(f[:, j] > 0).squeeze(1).numpy()[:max_examples]
        if len(idx) < 2:
            continue
        d = cosine_distance_matrix(centered[idx] * W[j])
        pairs = d[np.triu_indices(len(idx), 1)]
        max_d[j], mean_d[j] = pairs.max(), pairs.mean()
    dead = ((encode_all(sae, acts_train) > 0).sum(0) == 0).numpy()
    ok = ~np.isnan(max_d)
    summary = dict(
        max_dist=float(np.median(max_d[ok])) if ok.any() else float("nan"),
        mean_dist=float(np.median(mean_d[ok])) if ok.any() else float("nan"),
        size=float(np.median(size[size > 0])) if (size > 0).any() else float("nan"),
        dead_pct=100.0 * dead.mean(),
        n_neurons_ge2=int(ok.sum()), n_active_test=int((size > 0).sum()),
    )
    return summary, dict(size=size, max_dist=max_d, mean_dist=mean_d, dead=dead)
