"""The clamp of negative activations (NC §2.4), and the neurons it acts on.

Clamp. The reference code applies `clamp(min=0)` to the up-projection's output (the pre-activation)
of the selected neurons, before the activation function. For GELU this is exactly "a ReLU after the
GELU": GELU(x) < 0 ⇔ x < 0 and GELU(0) = 0. `clamp_negative` does it with forward hooks on the
up-projection modules, so the weights are never touched and every other neuron's output is passed
through bit for bit; leaving the context removes the hooks.

Neurons. Per layer, the top-p% by WD with the reference's rule (`WD > np.percentile(WD, 100 - p)`,
`entangle.neurons.selection.top_percent`), and a random control of the same count per layer,
drawn uniformly from all neurons of that layer (as the reference's `np.random.choice`), seeded per
(seed, repetition, layer). The random draw of repetition r in layer l is a prefix of one fixed
permutation, so a smaller p's random set is contained in a larger p's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import numpy as np

from entangle.neurons.selection import top_percent

# --- clamping ---------------------------------------------------------------------------------------------


def _clamp_hook(mask):
    def hook(_module, _args, output):
        m = mask.to(output.device)
        return output.masked_fill(m & (output < 0), 0.0)
    return hook


@contextlib.contextmanager
def clamp_negative(model, neurons: Mapping[int, np.ndarray], matrix: str = "up") -> Iterator[None]:
    """Within the context, the selected neurons' outputs of `blocks.{layer}.mlp.{matrix}` are clamped at 0.

    neurons: {layer: neuron indices}. Layers absent (or with no neurons) are untouched. The hook
    replaces the module's output by `output.masked_fill(selected & (output < 0), 0)`, so unselected
    neurons and non-negative values pass through unchanged. Weights are never modified.
    """
    import torch

    from entangle.models.arch import arch_of, mlp_matrix, module_weight

    if matrix != "gate" and "gate" in arch_of(model).matrices:
        raise ValueError(f"{arch_of(model).family}: the activation acts on the gate, not on {matrix!r}; "
                         "clamping it would not clamp an activation's negative side")
    handles = []
    try:
        for layer, idx in neurons.items():
            idx = np.asarray(idx, dtype=np.int64)
            if idx.size == 0:
                continue
            module = mlp_matrix(model, int(layer), matrix)
            d_out = module_weight(model, module).shape[0]
            if idx.min() < 0 or idx.max() >= d_out:
                raise IndexError(f"layer {layer}: neuron index out of range 0..{d_out - 1}")
            mask = torch.zeros(d_out, dtype=torch.bool)
            mask[torch.from_numpy(idx)] = True
            handles.append(module.register_forward_hook(_clamp_hook(mask)))
        yield
    finally:
        for h in handles:
            h.remove()


# --- neuron selection ----------------------------------------------------------------------------------


def top_wd_neurons(wd_by_layer: Mapping[int, np.ndarray], percent: float) -> dict[int, np.ndarray]:
    """Per layer, the reference's top-p% WD neurons (strict `>` on the (100 − p)th percentile)."""
    return {layer: top_percent(wd, percent) for layer, wd in wd_by_layer.items()}


def random_permutation(n: int, seed: int, repetition: int, layer: int) -> np.ndarray:
    """A fixed random order of n neurons for (seed, repetition, layer)."""
    return np.random.default_rng(np.random.SeedSequence([seed, repetition, layer])).permutation(n)


def random_like(selection: Mapping[int, np.ndarray], sizes: Mapping[int, int], seed: int,
                repetition: int) -> dict[int, np.ndarray]:
    """Per layer, as many neurons as `selection` has there, uniformly without replacement (sorted)."""
    return {layer: np.sort(random_permutation(sizes[layer], seed, repetition, layer)[: len(idx)])
            for layer, idx in selection.items()}
