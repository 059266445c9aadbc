"""Claim values of WD-F7, F8, FA9 and FA4b (entangle.disentangle.predictors) on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from entangle.disentangle.predictors import (PREDICTORS, frontier, predictor_fits, row_sparsity_by_group,
                                             row_sparsity_columns, standardize, sweep_trend)
from entangle.disentangle.records import context

# --- WD-F7 (claim 17) -----------------------------------------------------------------------------------


def _neurons(n=400, seed=0):
    rng = np.random.default_rng(seed)
    wd = rng.gamma(2.0, 0.05, n)
    return pd.DataFrame({"model": "m", "revision": "r", "tokens": 100, "seed": 0, "neuron": np.arange(n), "wd": wd,
                         "mean": rng.normal(0, 1, n), "variance": rng.gamma(2.0, 1.0, n),
                         "gmm_components": rng.integers(1, 6, n),
                         "ri": 1.0 + 3.0 * wd + rng.normal(0, 0.05, n), "is_wn": False})


def test_ri_built_from_wd_ranks_wd_first():
    fits = predictor_fits(_neurons()).set_index("statistic")
    assert list(fits.index) == list(PREDICTORS)
    assert fits.loc["wd", "r2"] > 0.8
    for other in ("mean", "variance", "gmm_components"):
        assert fits.loc[other, "r2"] < 0.05 < fits.loc["wd", "r2"]
    assert fits.loc["wd", "slope"] == pytest.approx(3.0, rel=0.1)
    assert fits.loc["wd", "spearman"] > 0.8


def test_fits_use_the_same_neurons_and_skip_dead_ones():
    table = _neurons(50)
    table.loc[:4, "wd"] = np.nan  # dead neurons: no WD, no RI
    table.loc[:4, "ri"] = np.nan
    table.loc[5, "gmm_components"] = np.nan
    fits = predictor_fits(table)
    assert (fits["n"] == 44).all()


def test_exact_linear_relation_gives_r2_one_and_constant_statistic_zero():
    table = _neurons(30)
    table["ri"] = 2.0 * table["variance"] + 1.0
    table["gmm_components"] = 1
    fits = predictor_fits(table).set_index("statistic")
    assert fits.loc["variance", "r2"] == pytest.approx(1.0)
    assert fits.loc["variance", "intercept"] == pytest.approx(1.0)
    assert fits.loc["gmm_components", "r2"] == 0.0 and np.isnan(fits.loc["gmm_components", "slope"])


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="gmm_components"):
        predictor_fits(_neurons().drop(columns="gmm_components"))


def test_context_reads_the_first_row():
    assert context(_neurons(5)) == {"model": "m", "revision": "r", "tokens": 100, "seed": 0}


# --- WD-F8 (claim 18) -----------------------------------------------------------------------------------


def _cloud(slope=-0.5, intercept=0.3, seed=0):
    """Envelope points exactly on log10 y = intercept + slope log10 x, every other point above them."""
    rng = np.random.default_rng(seed)
    lx_env = np.linspace(0.0, 2.0, 8)  # one point per bin, at the bin's left edge (the first one is the minimum x)
    lx_env[1:] += 0.01
    lx = np.concatenate([lx_env, rng.uniform(0.0, 2.0, 200)])
    # others >= 0.2 above the line: more than the line falls within one bin, so each bin's minimum is on it
    ly = intercept + slope * lx + np.concatenate([np.zeros(8), rng.uniform(0.2, 1.0, 200)])
    return 10**lx, 10**ly


def test_frontier_on_a_line_has_r2_one_and_nothing_below():
    x, y = _cloud()
    fit = frontier(x, y, bins=8)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["slope"] == pytest.approx(-0.5) and fit["intercept"] == pytest.approx(0.3)
    assert fit["share_beyond"] == 0.0 and fit["n"] == 8 and fit["side"] == "lower"


def test_a_point_far_below_the_line_counts():
    x, y = _cloud()
    x, y = np.append(x, 10**1.5), np.append(y, 10 ** (0.3 - 0.5 * 1.5 - 1.0))
    fit = frontier(x, y, bins=8)
    assert fit["share_beyond"] > 0 and fit["r2"] < 1


def test_upper_frontier_mirrors_the_lower_one():
    x, y = _cloud(slope=0.7, intercept=-0.2)
    upper = frontier(x, 1.0 / y, bins=8, side="upper")
    assert upper["r2"] == pytest.approx(1.0)
    assert upper["slope"] == pytest.approx(-0.7) and upper["intercept"] == pytest.approx(0.2)
    assert upper["share_beyond"] == 0.0
    assert np.allclose(upper["env_y"], 0.2 - 0.7 * np.asarray(upper["env_x"]))
    with pytest.raises(ValueError, match="side"):
        frontier(x, y, side="left")


# --- WD-FA9 (claim 10) ----------------------------------------------------------------------------------


def test_sweep_trend_of_a_neuron_turning_gaussian():
    s = [0.9, 0, 0.5, 0.95, 0.8]  # unsorted on purpose
    wd = [0.12, 0.33, 0.30, 0.08, 0.25]
    t = sweep_trend(s, wd)
    assert t["wd_dense"] == 0.33 and t["wd_at_max_sparsity"] == 0.08 and t["max_sparsity"] == 0.95
    assert t["spearman_sparsity_wd"] == pytest.approx(-1.0) and t["monotone_nonincreasing"]
    assert t["wd_ratio_max_to_dense"] == pytest.approx(0.08 / 0.33)


def test_sweep_trend_without_dense_point_and_with_a_rise():
    t = sweep_trend([0.5, 0.9, 0.95], [0.2, 0.1, 0.15])
    assert np.isnan(t["wd_dense"]) and not t["monotone_nonincreasing"]
    assert t["spearman_sparsity_wd"] == pytest.approx(-0.5)


def test_standardize():
    z = standardize(np.array([1.0, 2.0, 3.0, 4.0]))
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    assert np.isnan(standardize(np.ones(3))).all()


# --- WD-FA4b (claim 5) ----------------------------------------------------------------------------------


def test_row_sparsity_groups():
    n = 20
    wn = np.zeros(n, bool)
    wn[:4] = True
    table = pd.DataFrame({"neuron": np.arange(n), "is_wn": wn, "row_sparsity_s0": 0.0,
                          "row_sparsity_s0.5": np.where(wn, 0.6, 0.475), "row_sparsity_s0.9": 0.9})
    assert row_sparsity_columns(table) == {0.0: "row_sparsity_s0", 0.5: "row_sparsity_s0.5", 0.9: "row_sparsity_s0.9"}
    groups = row_sparsity_by_group(table).set_index("sparsity")
    assert list(groups.index) == [0.5, 0.9]  # s = 0 (dense) is left out
    at = groups.loc[0.5]
    assert at["row_sparsity_layer"] == pytest.approx(0.5) and at["row_sparsity_wn"] == pytest.approx(0.6)
    assert at["wn_over_layer"] == pytest.approx(1.2) and at["wn_over_rest"] == pytest.approx(0.6 / 0.475)
    assert at["share_wn_above_layer_mean"] == 1.0 and at["mannwhitney_p"] < 0.01
    assert at["wn_rows"] == 4 and at["rows"] == n
    assert groups.loc[0.9, "wn_over_layer"] == pytest.approx(1.0) and np.isnan(groups.loc[0.9, "mannwhitney_p"])


def test_row_sparsity_reads_is_wn_as_written_to_csv(tmp_path):
    table = pd.DataFrame({"is_wn": [True, False, False], "row_sparsity_s0.5": [0.8, 0.5, 0.2]})
    table.to_csv(tmp_path / "n.csv", index=False)
    groups = row_sparsity_by_group(pd.read_csv(tmp_path / "n.csv"))
    assert groups.loc[0, "wn_over_layer"] == pytest.approx(0.8 / 0.5)
    with pytest.raises(KeyError, match="row_sparsity"):
        row_sparsity_by_group(table.drop(columns="row_sparsity_s0.5"))
