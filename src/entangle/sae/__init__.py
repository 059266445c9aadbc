"""SAEs on a toy image classifier, with and without the neuron-embedding loss (Foote §3.3, §4.2)."""

from .data import load_digits_split, normalize_images, raw_digits, raw_mnist, split_from_arrays
from .features import activation_map, importance_map, logit_effects, neuron_report
from .metrics import neuron_embedding_metrics, reconstruction_metrics
from .mlp import MLP, accuracy, train_mlp
from .model import SparseAutoencoder
from .ne_loss import NeuronEmbeddingLoss
from .train import DEFAULTS, train_sae
