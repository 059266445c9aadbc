"""NE-F5 figure: one SAE neuron's activation map, importance map, logit effects and examples.

The drawing lives in entangle.plotting.embeddings (no torch needed); this name is kept for callers.
"""

from entangle.plotting.embeddings import plot_sae_neuron

__all__ = ["plot_sae_neuron"]
