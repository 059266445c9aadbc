"""Mapping difficulty and OI ratios: hand example, pair sampling, degenerate cases, invariances."""

import numpy as np
import pytest
import torch

import entangle.metrics.mapping as mapping
from entangle.metrics.mapping import (
    io_distances,
    mapping_difficulty,
    oi_ratios,
    pair_input_distances,
    sample_pairs,
)


def layer(t=2_000, d=16, n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, d)).astype(np.float32)
    w = rng.standard_normal((d, n)).astype(np.float32)
    return x, x @ w + rng.standard_normal(n).astype(np.float32)


def test_hand_computed_example():
    x = np.array([[0, 0], [1, 1], [3, 4], [1, 2]], np.float32)
    y = np.array([[0, 5], [1, 5], [6, 5], [4, 5]], np.float32)  # neuron 1 is dead
    i, j = np.array([0, 1]), np.array([2, 3])
    np.testing.assert_allclose(pair_input_distances(x, i, j), [5.0, 1.0])
    # N_x = 5; neuron 0: |Δy| = [6, 3], N_y = 4.5 -> (6/4.5)/(5/5) = 4/3, (3/4.5)/(1/5) = 10/3
    oi = oi_ratios(x, y, i, j)
    np.testing.assert_allclose(oi[:, 0], [4 / 3, 10 / 3])
    assert np.isnan(oi[:, 1]).all()
    dx, dy = io_distances(x, y, i, j, 0)
    np.testing.assert_allclose(dx, [1.0, 0.2])
    np.testing.assert_allclose(dy, [4 / 3, 2 / 3])


def test_md_is_mean_of_oi_ratios_of_its_pairs():
    x, y = layer()
    res = mapping_difficulty(x, y, num_pairs=500, seed=3)
    oi = oi_ratios(x, y, res.i, res.j)
    np.testing.assert_allclose(res.md, oi.mean(0))
    assert res.n_x == pytest.approx(pair_input_distances(x, res.i, res.j).max())
    np.testing.assert_allclose(oi_ratios(x, y, res.i, res.j, neurons=[7, 2]), oi[:, [7, 2]])
    assert (res.md > 0).all() and res.n_identical_pairs == 0 and res.n_dead_neurons == 0


def test_pairs_distinct_seeded_reproducible():
    i, j = sample_pairs(1_000, 300, seed=5)
    assert i.dtype == j.dtype == np.int64 and len(i) == len(j) == 300
    assert len(np.unique(np.concatenate([i, j]))) == 600
    i2, j2 = sample_pairs(1_000, 300, seed=5)
    np.testing.assert_array_equal(i, i2)
    np.testing.assert_array_equal(j, j2)
    assert not np.array_equal(i, sample_pairs(1_000, 300, seed=6)[0])


def test_too_few_tokens_raises():
    with pytest.raises(ValueError, match=r"2000 tokens for 1000 disjoint pairs, got 1999"):
        sample_pairs(1_999, 1_000, seed=0)
    sample_pairs(2_000, 1_000, seed=0)


def test_identical_inputs_and_dead_neuron_give_nan_with_counts():
    rng = np.random.default_rng(1)
    context = rng.integers(0, 20, 400)  # 20 distinct inputs, so ~1 pair in 20 is identical
    x = rng.standard_normal((20, 8)).astype(np.float32)[context]
    y = x @ rng.standard_normal((8, 4)).astype(np.float32)
    y[:, 3] = 2.0
    res = mapping_difficulty(x, y, num_pairs=200, seed=0)
    i, j = res.i, res.j
    same = context[i] == context[j]
    assert res.n_identical_pairs == same.sum() > 0
    assert res.n_dead_neurons == 1
    assert np.isnan(res.md[3]) and np.isfinite(res.md[:3]).all()
    oi = oi_ratios(x, y, i, j)
    assert np.isnan(oi[same]).all() and np.isfinite(oi[~same, :3]).all()
    np.testing.assert_allclose(res.md[:3], oi[~same, :3].mean(0))


def test_md_invariant_to_output_scale_and_shift():
    x, y = layer()
    base = mapping_difficulty(x, y, 400, seed=1).md
    np.testing.assert_allclose(mapping_difficulty(x, -3.0 * y + 11.0, 400, seed=1).md, base, rtol=1e-5)


def test_chunking_and_torch_input_do_not_change_results(monkeypatch):
    x, y = layer(n=10)
    base = mapping_difficulty(x, y, 300, seed=2)
    monkeypatch.setattr(mapping, "CHUNK_BYTES", 8 * 4 * 300 * 3)  # 3 neurons per block
    monkeypatch.setattr(mapping, "PAIR_CHUNK", 7)
    small = mapping_difficulty(torch.from_numpy(x), torch.from_numpy(y), 300, seed=2)
    np.testing.assert_allclose(small.md, base.md, rtol=1e-12)
    np.testing.assert_allclose(small.n_y, base.n_y, rtol=1e-12)


def test_io_scatter_normalization():
    x, y = layer()
    res = mapping_difficulty(x, y, 500, seed=4)
    dx, dy = io_distances(x, y, res.i, res.j, 5)
    assert dx.max() == pytest.approx(1.0) and (dx > 0).all()
    assert np.median(dy) == pytest.approx(1.0)
    assert np.mean(dy / dx) == pytest.approx(res.md[5])
