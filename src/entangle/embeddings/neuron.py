"""Neuron embeddings (Foote, Eq. 1-2) and dataset-example selection (NE §4.1.1).

The neuron embedding of an input for neuron j is the elementwise product of the vector the
neuron actually receives and its input weights:

    e = h ⊙ w_j          so that   e.sum() + b_j == pre-activation of neuron j

For a GPT-2 style model, h is the MLP input at the max-activating token, i.e. the *normalized*
residual stream after ln_2 (TransformerLens `blocks.{i}.ln2.hook_normalized` times ln_2's gain
and plus its bias, i.e. exactly what `mlp.c_fc` is applied to). Only with this choice does the
sum of e reproduce the pre-activation. The "pre-MLP embedding" used as the
NE-T1 baseline is h itself.
"""

import numpy as np


def neuron_embeddings(h, w):
    """Neuron embeddings of many examples for one neuron.

    h: [E, d] (or [d]) inputs the neuron receives; w: [d] the neuron's input weights.
    Returns [E, d] (or [d]) = h * w. Works for numpy arrays and torch tensors.
    """
    return h * w


def pre_activation(h, w, b=0.0):
    """Pre-activation from the same quantities: (h ⊙ w).sum(-1) + b, shape [E]."""
    return (h * w).sum(-1) + b


def select_examples(max_acts, ref_max, threshold_frac=0.75, k=100):
    """Indices of a neuron's dataset examples, as in the paper.

    max_acts: [N] the neuron's max activation over each example's tokens, in dataset order.
    ref_max: the neuron's reference maximum (Neuroscope in the paper; e.g. the max over a larger
        sample here). Examples with max_acts >= threshold_frac * ref_max qualify.
    Returns int64 [<=k]: the FIRST k qualifying examples in dataset order (not the top k).
    """
    max_acts = np.asarray(max_acts)
    keep = np.flatnonzero(max_acts >= threshold_frac * ref_max)
    return keep[:k]
