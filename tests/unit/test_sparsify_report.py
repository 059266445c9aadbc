"""WD-V1's MACs-matched comparison (entangle.sparsify.report) on runs whose perplexities and costs are known."""

import math

import numpy as np
import pandas as pd
import pytest

from entangle.sparsify.report import (equal_nonzeros_gap_values, flop_matched, flop_matched_gap_values,
                                      interpolation_weights)

DENSE = 1000.0  # non-zero FFN weights per token of the dense model


def test_interpolation_weights_known_answers():
    macs = [500.0, 1000.0, 300.0, 100.0]  # any order
    assert interpolation_weights(macs, 400.0) == [(2, pytest.approx(0.5)), (0, pytest.approx(0.5))]
    assert interpolation_weights(macs, 300.0) == [(2, 1.0)]
    assert interpolation_weights(macs, 875.0) == [(0, pytest.approx(0.25)), (1, pytest.approx(0.75))]
    assert interpolation_weights(macs, 1500.0) == [(1, 1.0)]  # above dense: the dense model
    assert interpolation_weights(macs, 50.0) is None  # below the grid: no extrapolation


def run(method, sparsity, ppl, k=None, router=0.0):
    ratio = 0.0 if method == "dense" else float(sparsity)
    return {"model": "m", "method": method, "k": k, "sparsity": sparsity, "sparsity_ratio": ratio,
            "structured": False, "perplexity": ppl, "ffn_nonzeros_per_token": DENSE * (1 - ratio),
            "router_macs_per_token": router}


def tidy_runs(se_router=200.0):
    """Baselines with ln PPL linear in density: ln PPL = 1 + 2 (1 - density) for magnitude, +0.1 and +0.2 for
    Wanda and SparseGPT; SE at 50% and 90% per expert with a router of `se_router` MACs per token."""
    rows = [run("dense", "0", math.exp(1.0))]
    for method, shift in (("magnitude", 0.0), ("wanda", 0.1), ("sparsegpt", 0.2)):
        rows += [run(method, s, math.exp(1 + 2 * float(s) + shift)) for s in ("0.5", "0.7", "0.9")]
    for k in (4, 16):
        rows += [run("sparse_expansion", "0.5", math.exp(1.5), k, se_router),
                 run("sparse_expansion", "0.9", math.exp(2.0), k, se_router)]
    df = pd.DataFrame(rows)
    df["k"] = df["k"].astype("Int64")
    return df


def test_flop_matched_interpolates_each_baseline_at_se_total_macs():
    table = flop_matched(tidy_runs(), [4, 16])
    row = table[(table.k == 16) & (table.sparsity == "0.9")].iloc[0]
    # SE at 90%: 100 non-zeros + 200 router MACs = 300 = magnitude's 70% point: ln PPL 1 + 2 * 0.7 = 2.4
    assert row.se_macs_per_token == pytest.approx(300.0)
    assert row.router_share == pytest.approx(200 / 300) and row.router_overhead == pytest.approx(2.0)
    assert row.baseline_sparsity_at_budget == pytest.approx(0.7)
    assert row.best_baseline == "magnitude"
    assert math.log(row.magnitude_ppl_at_budget) == pytest.approx(2.4)
    assert row.gap == pytest.approx(2.4 - 2.0)
    assert row.gap_equal_nonzeros == pytest.approx(1 + 2 * 0.9 - 2.0)  # claim 19's comparison, router left out
    # SE at 50%: 500 + 200 = 700 MACs, between dense (1000) and 50% (500): ln PPL 1 + 2 * 0.3 = 1.6
    row = table[(table.k == 16) & (table.sparsity == "0.5")].iloc[0]
    assert math.log(row.best_baseline_ppl) == pytest.approx(1.6) and row.gap == pytest.approx(0.1)


def test_budget_above_dense_compares_with_the_dense_model():
    table = flop_matched(tidy_runs(se_router=2000.0), [16])
    assert table.budget_above_dense.all()
    assert np.allclose(np.log(table.best_baseline_ppl), 1.0)


def test_claim21_intervals_on_the_matched_gap():
    tidy = tidy_runs()
    rng = np.random.default_rng(0)
    nll = {}
    for r in tidy.itertuples():  # windows whose mean NLL is the run's ln PPL exactly
        noise = rng.normal(0, 0.01, 64)
        nll[("m", r.method, None if pd.isna(r.k) or r.method != "sparse_expansion" else int(r.k), r.sparsity)] = \
            math.log(r.perplexity) + noise - noise.mean()
    values = flop_matched_gap_values(flop_matched(tidy, [4, 16]), tidy, nll)
    assert values["gap_macs_kmax_min"].value == pytest.approx(0.1, abs=1e-3)  # the 50% cell
    assert values["gap_macs_kmax_min_step"].value == pytest.approx(0.3, abs=1e-3)  # 0.4 - 0.1
    assert values["gap_kmax_min"].value == pytest.approx(0.5, abs=1e-3)  # equal non-zeros: 2.0 - 1.5 at 50%
    assert values["gap_macs_kmax_min"].ci_low < 0.1 < values["gap_macs_kmax_min"].ci_high
    equal_nonzeros, _ = equal_nonzeros_gap_values(tidy, 16, nll)
    assert equal_nonzeros["gap_min"].value == pytest.approx(values["gap_kmax_min"].value)
