"""The FFN activation on arrays, and negative modes of a layer's top-WD neurons (NC-F4 a-d, claim 30)."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from entangle.neurons.multimodality import ModeTest, negative_modes
from entangle.neurons.population import share
from entangle.neurons.selection import top_k


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """The FFN activation (Hugging Face names) on a NumPy array, in float64."""
    x = np.asarray(x, dtype=np.float64)
    if name == "gelu":  # exact (erf) GELU, as GPT-NeoX / Pythia
        return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "silu":
        return x * special.expit(x)
    raise ValueError(f"unknown activation {name!r}; known: gelu, gelu_new, gelu_pytorch_tanh, relu, silu")


def top_wd_modes(wd: np.ndarray, outputs, act: str, top: int, test: ModeTest) -> dict:
    """The representative (top-WD) neuron and the negative-mode counts of the top-`top` WD neurons.

    wd: WD per neuron [n] (NaN for dead neurons, never selected); outputs: pre-activations [T, n];
    act: the FFN activation (Hugging Face name). Modes are counted before (`pre`) and after (`post`)
    the activation; `persist_flags` [#multimodal pre]: which multimodal neurons stay multimodal after it.
    """
    k = min(top, int(np.isfinite(wd).sum()))
    neurons = top_k(wd, k)
    cols = np.asarray(outputs[:, neurons], dtype=np.float64)
    pre = np.array([negative_modes(cols[:, c], test) for c in range(k)])
    post = np.array([negative_modes(activation(act, cols[:, c]), test) for c in range(k)])
    x = cols[:, 0]
    return {"neuron": int(neurons[0]), "wd": float(wd[neurons[0]]), "pre": x, "post": activation(act, x),
            "activation": act, "frac_negative": float(np.mean(x < 0)), "modes_pre": int(pre[0]),
            "modes_post": int(post[0]), "top": k, "multimodal_pre": int(np.sum(pre >= 2)),
            "multimodal_post": int(np.sum(post >= 2)), "persist": int(np.sum((pre >= 2) & (post >= 2))),
            "persist_flags": post[pre >= 2] >= 2,  # claim 30: of the neurons with multimodal negative pre-activations
            "tokens": int(outputs.shape[0])}


def mode_persistence_values(g: dict, r: dict, name: str) -> dict:
    """Claim 30's values: whether negative-side modes persist through the smooth activation.

    `g`, `r`: `top_wd_modes` of the smooth-activation model (GELU, or a gated FFN's gate) and of the ReLU model.
    """
    return {"model": name, "gelu_neuron": g["neuron"], "gelu_wd": g["wd"], "gelu_frac_negative": g["frac_negative"],
            "gelu_negative_modes_pre": g["modes_pre"], "gelu_negative_modes_post": g["modes_post"],
            "relu_neuron": r["neuron"], "relu_wd": r["wd"], "relu_frac_negative": r["frac_negative"],
            "relu_negative_modes_pre": r["modes_pre"], "relu_post_nonzero_share": float(np.mean(r["post"] != 0)),
            "gelu_share_multimodal_persisting": share(g["persist_flags"]),  # of the multimodal ones, redrawn
            "top_neurons": g["top"], "gelu_top_multimodal_pre": g["multimodal_pre"],
            "gelu_top_multimodal_post": g["multimodal_post"], "gelu_top_multimodal_persist": g["persist"],
            "relu_top_multimodal_pre": r["multimodal_pre"], "activation": g["activation"]}
