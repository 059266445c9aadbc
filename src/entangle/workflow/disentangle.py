"""The disentanglement jobs (WD paper §3): which FFN matrices are sparsified in isolation, and their settings.

`jobs.disentangle`: per_layer (one job per model, layer and matrix, paper) or per_model (one job per model
running its layers in turn, one model load; small scales).
"""

from __future__ import annotations

from entangle.config import Scale
from entangle.workflow.checks import disentangle_layers

JOBS = ("per_layer", "per_model")


def disentangle_units(scale: Scale) -> dict[str, list[int]]:
    """Model -> layers analysed: the GELU model's `wasserstein.layer` and WD-F8 layers, the SwiGLU model's and
    the gated model's (role `gated`, if any) `wasserstein.layer`."""
    layer = scale.settings["wasserstein"]["layer"]
    units = {scale.role("gelu").name: {layer, *disentangle_layers(scale)}}
    for spec in (scale.role("swiglu"), scale.gated()):
        if spec is not None:
            units.setdefault(spec.name, set()).add(layer)
    return {model: sorted(layers) for model, layers in units.items()}


def detail_models(scale: Scale) -> list[str]:
    """The models whose analysis layer runs in detail: the GELU model, then the gated model (role `gated`) if any."""
    gated = scale.gated()
    gelu = scale.role("gelu").name
    return [gelu] + ([gated.name] if gated is not None and gated.name != gelu else [])


def detail(scale: Scale, model: str, layer) -> bool:
    """The analysis layer (`wasserstein.layer`) of the GELU and the gated model runs in detail (K sweep, sparsity
    sweep, weighted WD/MD, GMM components): WD-F5b/c, F6, F7, FA4b and FA9 read it for both."""
    return model in detail_models(scale) and int(layer) == scale.settings["wasserstein"]["layer"]


def gated_layers(scale: Scale) -> list[int]:
    """The gated model's layers whose clusters WD-F8 pools: those its disentangle job already analyses (the
    GELU model's `disentangle.layers` are not run for it); empty without a gated model."""
    gated = scale.gated()
    return disentangle_units(scale)[gated.name] if gated is not None else []


def disentangle_settings(scale: Scale) -> dict:
    """The analysis settings (entangle.disentangle.analysis.AnalysisSettings) from the disentangle block."""
    s = scale.settings
    d, sp = s["disentangle"], s["sparsify"]
    return {"sparsity": d["sparsity"], "num_clusters": d["num_clusters"], "ks": d["ks"], "neuron": d["neuron"],
            "wn_percent": d["wn_percent"], "sweep": d["sweep"], "md_pairs": d["md_pairs"],
            "gmm_max_components": d["gmm"]["max_components"], "gmm_tokens": d["gmm"]["tokens"],
            "pca_variance": d["pca_variance"], "pca_factor": sp["expansion"]["pca_factor"],
            "n_init": sp["expansion"]["n_init"], "wd_method": s["wasserstein"]["method"],
            "seed": s["seed"], "ties": s["prune_ties"], "router_seeds": d["router_seeds"]}
