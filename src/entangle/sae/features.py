"""NE-F5: what one SAE neuron looks for (activation map, importance map) and does (logit effects).

Operational definitions (after the released mechMNISTic `virtual_input_weights`):
- activation map [n_pixels]: for pixel p alone, the largest ReLU'd contribution it can make to each
  MLP hidden unit h over the pixel's value range [x_min, x_max] (normalized units),
      c[h, p] = ReLU(max(W1[h, p]·x_max, W1[h, p]·x_min)),
  passed through SAE neuron j's encoder weights: map[p] = Σ_h W_enc[j, h] · c[h, p].
  Biases and b_dec are ignored; it is a per-pixel linear proxy, not an exact maximum.
- importance map: activation map ⊙ the mean of the neuron's activating examples in ink units
  ([0, 1] intensity, so background pixels contribute 0).
- logit effects [n_classes]: change of each class logit when the neuron's decoder direction
  (unit activation) is added to the hidden layer: W2 @ W_dec[:, j] (the output layer is linear).
"""

import torch


@torch.no_grad()
def activation_map(mlp, sae, j, x_min, x_max):
    W1 = mlp.fc1.weight                                          # [H, P]
    c = torch.relu(torch.maximum(W1 * x_max, W1 * x_min))
    return sae.W_enc[j] @ c                                      # [P]


@torch.no_grad()
def activating_examples(mlp, sae, x, j, max_examples=None):
    """Indices (in order) of inputs x [N, n_in] on which SAE neuron j is active."""
    idx = torch.nonzero(sae.encode(mlp.hidden(x))[:, j] > 0).squeeze(1)
    return idx if max_examples is None else idx[:max_examples]


@torch.no_grad()
def importance_map(act_map, mean_image):
    """act_map [P] ⊙ mean activating image [P] (in [0, 1] intensity)."""
    return act_map * mean_image


@torch.no_grad()
def logit_effects(mlp, sae, j):
    return mlp.fc2.weight @ sae.W_dec[:, j]                      # [n_classes]


@torch.no_grad()
def neuron_report(mlp, sae, x, j, stats, image_shape, n_examples=8, seed=0):
    """All NE-F5 arrays for SAE neuron j on inputs x [N, n_in] (normalized with stats=(mean, std)).

    Returns dict of numpy arrays: activation_map, importance_map (image_shape), logit_effects [C],
    examples [k, *image_shape] (a seeded random sample of activating inputs, ink units),
    n_active (int).
    """
    mean, std = stats
    ink = x * std + mean
    amap = activation_map(mlp, sae, j, x.min().item(), x.max().item())
    idx = activating_examples(mlp, sae, x, j)
    mean_img = ink[idx].mean(0) if len(idx) else torch.zeros(x.shape[1])
    g = torch.Generator().manual_seed(seed)
    pick = idx[torch.randperm(len(idx), generator=g)[:n_examples]]
    return dict(activation_map=amap.reshape(image_shape).numpy(),
                importance_map=importance_map(amap, mean_img).reshape(image_shape).numpy(),
                logit_effects=logit_effects(mlp, sae, j).numpy(),
                examples=ink[pick].reshape(-1, *image_shape).numpy(), n_active=len(idx))


def choose_neuron(per_neuron, min_examples=10):
    """NE-F5's neuron (the paper does not say how it chose one): among SAE neurons with at least
    `min_examples` activating test examples, the one with the lowest mean neuron-embedding distance
    (per_neuron: the arrays of metrics.neuron_embedding_metrics); ties: the lower index.
    Falls back to the neuron with the most activating examples if none qualifies; None if all are dead
    on the test set."""
    import numpy as np

    size, mean_d = np.asarray(per_neuron["size"]), np.asarray(per_neuron["mean_dist"], dtype=float)
    ok = (size >= min_examples) & np.isfinite(mean_d)
    if ok.any():
        return int(np.flatnonzero(ok)[np.argmin(mean_d[ok])])
    return int(size.argmax()) if size.max() > 0 else None


@torch.no_grad()
def neuron_clusters(sae, acts_test, j, max_examples=100, threshold=0.5, method="average"):
    """Feature clusters of SAE neuron j: HAC on the neuron embeddings (a - b_dec) ⊙ W_enc[j] of its first
    <= max_examples activating test examples (as in NE-T3). Returns embeddings.cluster_metrics's dict."""
    from ..embeddings.metrics import cluster_metrics

    f = sae.encode(acts_test)[:, j]
    idx = torch.nonzero(f > 0).squeeze(1)[:max_examples]
    e = ((acts_test[idx] - sae.b_dec) * sae.W_enc[j]).double().numpy()
    return cluster_metrics(e, threshold, method)
