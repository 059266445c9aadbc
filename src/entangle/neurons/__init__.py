"""Neuron-level analyses: which neurons to look at, their shapes, and how they change in training."""
