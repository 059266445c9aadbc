"""Neuron embeddings and feature clusters (Foote, Tackling Polysemanticity with Neuron Embeddings)."""

from .cluster import cluster_hac, cluster_sizes, cosine_distance_matrix
from .metrics import (aggregate, aggregate_cluster_metrics, cluster_metrics, compare_neuron_vs_pre_mlp,
                      find_rare_behaviour, inter_cluster_distance, intra_cluster_distance, size_ratio)
from .neuron import neuron_embeddings, pre_activation, select_examples
from .project import project_2d, project_pair
