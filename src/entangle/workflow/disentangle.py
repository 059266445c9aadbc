"""The disentanglement jobs (WD paper §3): which FFN matrices are sparsified in isolation, and their settings.

`disentangle.jobs`: per_layer (one job per model, layer and matrix, paper) or per_model (one job per model
running its layers in turn, one model load; small scales).
"""

from __future__ import annotations

from entangle.config import Scale
from entangle.workflow.checks import disentangle_layers

JOBS = ("per_layer", "per_model")


def disentangle_units(scale: Scale) -> dict[str, list[int]]:
    """Model -> layers analysed: the GELU model's `wasserstein.layer` and WD-F8 layers, the SwiGLU model's layer."""
    layer = scale.settings["wasserstein"]["layer"]
    units = {scale.role("gelu").name: {layer, *disentangle_layers(scale)}}
    units.setdefault(scale.role("swiglu").name, set()).add(layer)
    return {model: sorted(layers) for model, layers in units.items()}


def detail(scale: Scale, model: str, layer) -> bool:
    """The GELU model's analysis layer runs in detail (K sweep, sparsity sweep, weighted WD/MD, GMM components)."""
    return model == scale.role("gelu").name and int(layer) == scale.settings["wasserstein"]["layer"]


def disentangle_settings(scale: Scale) -> dict:
    """The analysis settings (entangle.disentangle.analysis.AnalysisSettings) from the disentangle block."""
    s = scale.settings
    d, sp = s["disentangle"], s["sparsify"]
    return {"sparsity": d["sparsity"], "num_clusters": d["num_clusters"], "ks": d["ks"], "neuron": d["neuron"],
            "wn_percent": d["wn_percent"], "sweep": d["sweep"], "md_pairs": d["md_pairs"],
            "gmm_max_components": d["gmm"]["max_components"], "gmm_tokens": d["gmm"]["tokens"],
            "pca_variance": d["pca_variance"], "pca_factor": sp["expansion"]["pca_factor"],
            "n_init": sp["expansion"]["n_init"], "wd_method": s.get("wasserstein", {}).get("method", "fast"),
            "seed": s["seed"], "ties": s["prune_ties"], "router_seeds": d["router_seeds"]}
