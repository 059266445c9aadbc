"""Disentanglement under sparsity: one FFN matrix sparsified in isolation, measured neuron by neuron (WD paper §3).

Modules: `layer` (the sparse computations, torch), `analysis` (the per-layer analysis), `measures` and
`predictors` (numpy/scipy/scikit-learn), `records` (table context).
"""
