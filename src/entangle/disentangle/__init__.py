"""Disentanglement under sparsity: one FFN matrix sparsified in isolation, measured neuron by neuron (WD paper §3)."""

from .analysis import AnalysisSettings, LayerAnalysis, analyse_layer
from .layer import LayerData, SparseLayer, neuron_outputs, rmse, sparse_expansion, sparsegpt

__all__ = ["AnalysisSettings", "LayerAnalysis", "LayerData", "SparseLayer", "analyse_layer", "neuron_outputs", "rmse",
           "sparse_expansion", "sparsegpt"]
