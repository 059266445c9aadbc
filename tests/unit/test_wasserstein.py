"""Per-neuron W1 to N(0, 1): exactness, estimator agreement, invariances, dead neurons."""

import logging

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.special import ndtr, ndtri

from entangle.metrics.wasserstein import (
    count_dead,
    wasserstein_to_gaussian,
    wd_exact,
    wd_fast,
    wd_scipy_sample,
)


def w1_quad(col):
    """Independent reference: ∫|F_n − Φ| dx by adaptive quadrature, piece by piece."""
    z = np.sort((col - col.mean()) / col.std())
    n = len(z)
    total = integrate.quad(ndtr, -np.inf, z[0], epsabs=1e-14)[0]
    total += integrate.quad(lambda x: ndtr(-x), z[-1], np.inf, epsabs=1e-14)[0]
    for i in range(1, n):
        f, a, b = i / n, z[i - 1], z[i]
        if b > a:
            cross = ndtri(f)
            total += integrate.quad(lambda x: abs(f - ndtr(x)), a, b, points=[cross] if a < cross < b else None,
                                    epsabs=1e-14, epsrel=1e-12)[0]
    return total


def realistic_columns(t, rng):
    """[t, 8] float32: near-Gaussian, t3, exponential, lognormal, bimodal, multimodal, spike, uniform."""
    g = rng.standard_normal(t)
    spike = rng.standard_normal(t)
    spike[rng.random(t) < 0.1] = 0.37
    cols = [
        g + 0.05 * g * g,
        rng.standard_t(3, t),
        rng.exponential(size=t),
        rng.lognormal(0, 1, t),
        np.where(rng.random(t) < 0.3, rng.normal(-2, 0.5, t), rng.normal(1.5, 1, t)),
        rng.choice([-3.0, 0.0, 1.0, 4.0], t) + 0.4 * rng.standard_normal(t),
        spike,
        rng.random(t),
    ]
    return (np.stack(cols, 1) * 3 + 1).astype(np.float32)


def test_normal_sample_gives_small_wd_shrinking_with_n():
    rng = np.random.default_rng(0)
    small = wd_exact(rng.standard_normal((1_000, 8))).mean()
    large = wd_exact(rng.standard_normal((100_000, 8))).mean()
    assert large < 0.01
    assert large < small / 4  # ~1/sqrt(n) decay: expect ~10x


@pytest.mark.parametrize("kind", ["uniform", "mixture"])
def test_exact_and_fast_match_quadrature(kind):
    rng = np.random.default_rng(1)
    n = 60
    col = rng.random(n) if kind == "uniform" else np.where(rng.random(n) < 0.5, rng.normal(-2, 1, n), rng.normal(2, 1, n))
    ref = w1_quad(col)
    assert wd_exact(col[:, None])[0] == pytest.approx(ref, abs=1e-10)
    fast, bound = wd_fast(col[:, None], return_bound=True)
    assert abs(fast[0] - ref) <= bound[0] + 1e-10


def test_exact_known_value_for_uniform_limit():
    # Standardized U(0,1) is U(-√3, √3); its W1 to N(0,1) by quadrature of the quantile gap.
    ref = integrate.quad(lambda u: abs(np.sqrt(3) * (2 * u - 1) - ndtri(u)), 0, 1, limit=200)[0]
    u = (np.arange(200_000) + 0.5) / 200_000
    assert wd_exact(u[:, None])[0] == pytest.approx(ref, abs=1e-5)


def test_agrees_with_scipy_against_large_reference_sample():
    rng = np.random.default_rng(2)
    x = realistic_columns(4_000, rng).astype(np.float64)
    g = rng.standard_normal(1_000_000)
    z = (x - x.mean(0)) / x.std(0)
    sampled = np.array([stats.wasserstein_distance(z[:, k], g) for k in range(x.shape[1])])
    np.testing.assert_allclose(wd_exact(x), sampled, atol=3e-3)


def test_fast_matches_exact_on_realistic_columns():
    x = realistic_columns(16_384, np.random.default_rng(3))
    fast, bound = wd_fast(x, return_bound=True)
    exact = wd_exact(x)
    assert np.abs(fast - exact).max() < 1e-4
    assert (np.abs(fast - exact) <= bound + 1e-12).all()


def test_fast_tol_guarantees_error():
    x = realistic_columns(2_000, np.random.default_rng(4))
    fast, bound = wd_fast(x, tol=1e-7, return_bound=True)
    assert np.abs(fast - wd_exact(x)).max() <= 1e-7
    assert bound.max() <= 1e-7


def test_half_precision_values_hold_the_tolerance():
    # bf16 outputs tie many values per bin: the bins where that matters are integrated exactly
    x = torch.from_numpy(realistic_columns(4_096, np.random.default_rng(5))).to(torch.bfloat16)
    fast, bound = wd_fast(x, return_bound=True)
    assert (np.abs(fast - wd_exact(x)) <= bound + 1e-12).all()
    assert bound.max() <= 1e-4


@pytest.mark.parametrize("kind", ["gaussian", "near_gaussian"])
def test_near_gaussian_columns_need_no_whole_column_recompute(kind, caplog):
    # F_n crosses Phi in hundreds of bins: the kernel integrates those bins exactly instead of
    # handing the neuron to wd_exact (the guard logs a warning if it ever does)
    rng = np.random.default_rng(12)
    g = rng.standard_normal((16_384, 64))
    x = (g + rng.uniform(-0.1, 0.1, 64) * g * g if kind == "near_gaussian" else g).astype(np.float32)
    tol = 1e-7  # tighter than the histogram bound of these columns, so the second pass must run
    _, loose = wd_fast(x, tol=None, return_bound=True)
    assert (loose > tol).mean() > 0.2  # the case: a histogram-only bound past the tolerance
    with caplog.at_level("WARNING", logger="entangle.metrics.wasserstein"):
        fast, bound = wd_fast(x, tol=tol, return_bound=True)
    assert "recomputed exactly" not in caplog.text
    assert (np.abs(fast - wd_exact(x)) <= bound + 1e-12).all()
    assert bound.max() <= tol


def _hard_columns(kind: str, rng, t: int = 20_000) -> np.ndarray:
    g = rng.standard_normal((t, 24))
    if kind == "tied":  # outputs rounded to 2 decimals: many ties per histogram bin
        return np.round(g, 2).astype(np.float32)
    if kind == "bf16_in_float32":  # bf16 values stored as float32, the first rows not (so no up-front detection)
        x = torch.from_numpy(g.astype(np.float32)).bfloat16().float().numpy()
        x[:300] = g[:300]
        return x
    if kind == "discrete":
        return np.concatenate([rng.integers(0, 5, (t, 12)), rng.poisson(2.0, (t, 12))], axis=1).astype(np.float32)
    if kind == "heavy_tailed":
        return np.concatenate([rng.standard_cauchy((t, 12)), rng.standard_t(1.5, (t, 12))], axis=1).astype(np.float32)
    if kind == "constant":  # dead columns among live ones, one live column with a single outlier
        x = g.astype(np.float32)
        x[:, ::3] = 2.5
        x[:, 1] = 0.0
        x[7, 1] = 1.0
        return x
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["tied", "bf16_in_float32", "discrete", "heavy_tailed", "constant"])
def test_fast_path_holds_its_tolerance_on_every_input(kind):
    from entangle.metrics.wasserstein import TOLERANCE

    x = _hard_columns(kind, np.random.default_rng(11))
    fast, exact = wasserstein_to_gaussian(x, method="fast"), wd_exact(x)
    assert np.array_equal(np.isnan(fast), np.isnan(exact))
    assert np.nanmax(np.abs(fast - exact)) <= TOLERANCE
    _, bound = wd_fast(x, return_bound=True)
    assert np.nanmax(bound) <= TOLERANCE  # columns past the tolerance were recomputed exactly


def test_tied_columns_stay_within_their_bound():
    # outputs rounded to 2 decimals put many tied values in one bin: the histogram value errs, within its bound
    x = _hard_columns("tied", np.random.default_rng(11))
    raw, bound = wd_fast(x, tol=None, return_bound=True)
    error = np.abs(raw - wd_exact(x))
    assert error.max() > 1e-7 and (error <= bound + 1e-12).all()


@pytest.mark.parametrize("method", ["fast", "exact", "scipy_sample"])
def test_affine_invariance(method):
    x = realistic_columns(3_000, np.random.default_rng(6)).astype(np.float64)
    base = wasserstein_to_gaussian(x, method)
    moved = wasserstein_to_gaussian(2.5 * x - 7.0, method)
    np.testing.assert_allclose(moved, base, atol=1e-6 if method == "fast" else 1e-10)


def test_scipy_sample_is_seeded_authors_estimator():
    x = realistic_columns(1_000, np.random.default_rng(7))
    got = wd_scipy_sample(x, seed=11)
    g = np.random.default_rng(11).standard_normal(1_000)
    col = x[:, 0].astype(np.float64)
    want = stats.wasserstein_distance((col - col.mean()) / col.std(), g)
    assert got[0] == pytest.approx(want, abs=1e-12)
    np.testing.assert_array_equal(got, wd_scipy_sample(x, seed=11))
    assert not np.array_equal(got, wd_scipy_sample(x, seed=12))


def test_dead_neurons_are_nan_and_counted(caplog):
    x = realistic_columns(500, np.random.default_rng(8))
    x[:, 2] = 3.7
    assert count_dead(x) == 1
    for method in ["fast", "exact", "scipy_sample"]:
        with caplog.at_level(logging.WARNING, logger="entangle.metrics.wasserstein"):
            wd = wasserstein_to_gaussian(x, method)
        assert np.isnan(wd[2]) and np.isfinite(np.delete(wd, 2)).all()
        assert "1 of 8 neurons are dead" in caplog.text
        caplog.clear()


def test_torch_and_numpy_inputs_agree():
    x = realistic_columns(800, np.random.default_rng(9))
    np.testing.assert_array_equal(wd_fast(torch.from_numpy(x)), wd_fast(x))
    np.testing.assert_array_equal(wd_exact(torch.from_numpy(x)), wd_exact(x))


def test_unknown_method_raises():
    with pytest.raises(ValueError, match="unknown WD method"):
        wasserstein_to_gaussian(np.zeros((4, 2)), "sinkhorn")
