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
    # `WD > np.percentile(WD, 95)` keeps ranks 7782..8191: 410 neurons (the reference's 409 is int(0.05 * 8192))
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


def _mixture(rng, *parts):
    """Concatenated samples: each part (loc, scale, n[, df]) is Gaussian, or Student-t with df (heavy tails)."""
    out = []
    for loc, scale, n, *df in parts:
        out.append(loc + scale * (rng.standard_t(df[0], n) if df else rng.standard_normal(n)))
    return np.concatenate(out)


MIXTURES = {  # parts, number of modes at or below 0
    "one mode below 0": ([(-2, 0.5, 9000), (1.5, 0.5, 3000)], 1),
    "one mode exactly at 0": ([(0, 1, 9000)], 1),
    "one narrow mode at 0, far from a positive one": ([(0, 0.2, 6000), (3, 0.5, 6000)], 1),
    "one mode next to 0 (left)": ([(-0.1, 0.5, 9000)], 1),
    "one mode next to 0 (right)": ([(0.05, 0.5, 9000)], 1),
    "two modes, one at 0": ([(-3, 0.4, 4000), (0, 0.4, 4000)], 2),
    "two modes, one next to 0": ([(-3, 0.4, 4000), (-0.2, 0.4, 4000)], 2),
    "two modes below 0 and one above": ([(-4, 0.3, 3000), (-1.5, 0.3, 3000), (1, 0.5, 3000)], 2),
    "three modes, one at 0": ([(-5, 0.4, 3000), (-2.5, 0.4, 3000), (0, 0.4, 3000)], 3),
    "three modes below 0": ([(-6, 0.3, 3000), (-4, 0.3, 3000), (-2, 0.3, 3000), (2, 1, 3000)], 3),
    "heavy tails, one mode": ([(-2, 1, 20000, 3)], 1),
    "heavy tails, one mode at 0": ([(0, 1, 20000, 3)], 1),
    "heavy tails, two modes": ([(-6, 0.5, 10000, 2), (-1.5, 0.5, 10000, 2), (2, 1, 10000)], 2),
    "heavy tails, three modes, one at 0": ([(-8, 0.5, 10000, 3), (-4, 0.5, 10000, 3), (0, 0.5, 10000, 3)], 3),
    "only the flank of a mode right of 0": ([(1.5, 0.5, 9000)], 0),
    "the flank of a mode right of 0 and one below": ([(0.3, 0.3, 9000), (-2, 0.3, 3000)], 1),
    "a mode right of 0 beside one just left of it": ([(-0.4, 0.1, 5000), (0.4, 0.1, 5000)], 1),
}


@pytest.mark.parametrize("name", MIXTURES)
@pytest.mark.parametrize("seed", [0, 1])
def test_negative_modes_count_the_modes_of_known_mixtures(name, seed):
    parts, modes = MIXTURES[name]
    assert negative_modes(_mixture(np.random.default_rng(seed), *parts)) == modes


def test_negative_modes_without_negative_structure():
    rng = np.random.default_rng(0)
    assert negative_modes(np.abs(rng.normal(0, 1, 9000))) == 0  # no negative values
    assert negative_modes(np.r_[rng.normal(2, 0.5, 9000), -rng.random(20)]) == 0  # fewer than min_points
    assert negative_modes(np.r_[np.abs(rng.normal(2, 0.5, 9000)), np.full(100, -1.0)]) == 0  # one value repeated


def test_row_update_norms_and_summaries():
    w0, w1, w2 = np.zeros((2, 3)), np.ones((2, 3)), np.ones((2, 3))
    w2[1] = 3
    norms = row_update_norms([w0, w1, w2])
    np.testing.assert_allclose(norms, [[np.sqrt(3), np.sqrt(3)], [0, 2 * np.sqrt(3)]])
    mean, sem = mean_sem(np.array([[1.0, 3.0]]))
    assert mean[0] == 2 and sem[0] == pytest.approx(1.0)
    assert first_step_reaching(np.array([0, 10, 20]), np.array([0.0, 0.95, 1.0]), 0.9) == 10
