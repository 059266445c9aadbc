"""SAE data sets and the NE-F5 neuron choice (entangle.sae.data, entangle.sae.features)."""

import numpy as np
import pytest
import torch

from entangle.data.text import DataError
from entangle.sae import SparseAutoencoder
from entangle.sae.data import raw_digits, raw_mnist, split_from_arrays
from entangle.sae.features import choose_neuron, neuron_clusters


def test_mnist_offline_error_names_dataset_and_fix(tmp_path):
    with pytest.raises(DataError, match=r"ylecun/mnist.*save_to_disk.*digits"):
        raw_mnist()
    with pytest.raises(DataError, match="local copy"):
        raw_mnist(local_path=str(tmp_path / "missing"))


def test_mnist_from_a_local_copy(tmp_path):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    rng = np.random.default_rng(0)

    def split(n):
        return datasets.Dataset.from_dict({"image": [Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8))
                                                     for _ in range(n)], "label": list(range(n))})

    datasets.DatasetDict({"train": split(6), "test": split(3)}).save_to_disk(str(tmp_path / "mnist"))
    d = raw_mnist(local_path=str(tmp_path / "mnist"))
    assert d["x_train"].shape == (6, 784) and d["x_test"].shape == (3, 784) and d["image_shape"] == (28, 28)
    assert d["x_train"].max() <= 255 and d["y_test"].tolist() == [0, 1, 2]


def test_split_from_arrays_normalizes_with_train_stats():
    d = raw_digits()
    assert d["x"].shape == (1797, 64) and d["max_value"] == 16.0
    s = split_from_arrays(d["x"][:100], d["y"][:100], d["x"][100:150], d["y"][100:150], (8, 8), 16.0)
    assert abs(s["x_train"].mean().item()) < 1e-5 and abs(s["x_train"].std().item() - 1) < 1e-4
    assert s["y_test"].dtype == torch.int64 and s["image_shape"] == (8, 8)


def test_choose_neuron_rule():
    per = {"size": np.array([50, 9, 12, 30, 0]), "mean_dist": np.array([0.2, 0.01, 0.05, 0.05, np.nan])}
    assert choose_neuron(per, 10) == 2           # neuron 1 is tighter but has < 10 examples; tie 2 vs 3 -> lower
    assert choose_neuron({"size": np.array([3, 5]), "mean_dist": np.array([0.1, 0.2])}, 10) == 1
    assert choose_neuron({"size": np.array([0, 0]), "mean_dist": np.array([np.nan, np.nan])}, 10) is None


def test_neuron_clusters_single_direction_is_one_cluster():
    sae = SparseAutoencoder(4, 3)
    with torch.no_grad():
        sae.enc.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]))
        sae.enc.bias.zero_()
        sae.dec.bias.zero_()
    acts = torch.tensor([[1.0, 0, 0, 0], [2.0, 0, 0, 0], [3.0, 1, 0, 0], [0, 1, 0, 0]])
    m = neuron_clusters(sae, acts, 0, threshold=0.5)
    assert m["n_examples"] == 3 and m["n_clusters"] == 1 and m["max_dist"] == pytest.approx(0.0, abs=1e-12)
