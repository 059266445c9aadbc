import numpy as np
import pytest

from entangle.neurons.dynamics import first_step_reaching, mean_sem, row_update_norms
from entangle.neurons.multimodality import negative_modes
from entangle.neurons.selection import jaccard, median_neurons, random_neurons, top_k, top_percent


def test_top_k_ignores_nan_and_orders_descending():
    v = np.array([0.1, np.nan, 0.9, 0.5])
    assert top_k(v, 2).tolist() == [2, 3]
    with pytest.raises(ValueError, match="only 3 have a finite value"):
        top_k(v, 4)


def test_top_percent_matches_the_reference_count():
    v = np.random.default_rng(0).random(8192)
    # `WD > np.percentile(WD, 95)` keeps ranks 7782..8191: 410 neurons (CATALOG M7 says 409, i.e. int(0.05 * 8192))
    assert top_percent(v, 5).size == 410
    assert np.array_equal(top_percent(v, 5), np.flatnonzero(v > np.percentile(v, 95)))
    assert top_percent(v, 0).size == 0


def test_random_neurons_are_seeded_distinct_and_exclusive():
    a = random_neurons(100, 10, seed=3, exclude=np.arange(50))
    assert np.array_equal(a, random_neurons(100, 10, seed=3, exclude=np.arange(50)))
    assert len(set(a)) == 10 and a.min() >= 50


def test_median_neurons_and_jaccard():
    assert median_neurons(np.array([0.0, 5.0, 2.0, 9.0, 1.9]), 2).tolist() == [2, 4]
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5 and jaccard([], []) == 0.0


def test_negative_modes_count_structure_below_zero():
    rng = np.random.default_rng(0)
    bimodal = np.concatenate([rng.normal(-4, 0.3, 3000), rng.normal(-1.5, 0.3, 3000), rng.normal(1, 0.5, 3000)])
    unimodal = rng.normal(0, 1, 9000)
    assert negative_modes(bimodal) == 2
    assert negative_modes(unimodal - 2.5) == 1
    assert negative_modes(unimodal) == 0  # its negative half is the flank of the mode at 0
    assert negative_modes(np.abs(unimodal)) == 0  # no negative values
    # the left flank of a mode at x > 0 is not a negative mode
    assert negative_modes(np.concatenate([rng.normal(0.3, 0.3, 9000), rng.normal(-2, 0.3, 3000)])) == 1


def test_row_update_norms_and_summaries():
    w0, w1, w2 = np.zeros((2, 3)), np.ones((2, 3)), np.ones((2, 3))
    w2[1] = 3
    norms = row_update_norms([w0, w1, w2])
    np.testing.assert_allclose(norms, [[np.sqrt(3), np.sqrt(3)], [0, 2 * np.sqrt(3)]])
    mean, sem = mean_sem(np.array([[1.0, 3.0]]))
    assert mean[0] == 2 and sem[0] == pytest.approx(1.0)
    assert first_step_reaching(np.array([0, 10, 20]), np.array([0.0, 0.95, 1.0]), 0.9) == 10
