"""Claim statistics with intervals, and their controls: each control is tested on synthetic data where
the control and the naive claim statistic disagree."""

import numpy as np
import pandas as pd
import pytest

from entangle.claims import Term, criterion_verdict
from entangle.disentangle import intervals, measures
from entangle.evaluation.contrasts import recovered_fraction, window_contrast
from entangle.metrics.mapping import mapping_difficulty
from entangle.metrics.wasserstein import wasserstein_to_gaussian
from entangle.negative.stats import ratio_of_increases_rows
from entangle.neurons import population
from entangle.pairs.zscores import top_pair_intervals
from entangle.tokens import enrichment


def verdict(estimate, op, threshold):
    return criterion_verdict(Term(estimate.to_json()), op, threshold)


# --- claim 16: weighted MD with the neuron's global normalisers ------------------------------------------------


def _linear_layer(seed=0, tokens=4000, d=16, n=6):
    """A linear layer on heavy-tailed inputs (Student t, 3 d.o.f.), as transformer activations have."""
    rng = np.random.default_rng(seed)
    x = rng.standard_t(3, size=(tokens, d))
    return x, x @ rng.normal(size=(d, n))


def test_weighted_md_no_longer_moves_under_random_clusters():
    x, y = _linear_layer()
    labels = measures.random_clusters(np.arange(4000) % 16, seed=1)  # 16 random clusters of 250 tokens
    before = mapping_difficulty(x, y, 1000, 0)
    fixed = measures.weighted_md(x, y, labels, 1000, 0, n_x=before.n_x, n_y=before.n_y)
    own = measures.weighted_md(x, y, labels, 1000, 0)  # the old definition: each cluster's own normalisers
    np.testing.assert_allclose(fixed, before.md, rtol=0.05)  # random clusters: the statistic stays put
    assert (np.abs(own / before.md - 1) > 0.2).all()  # re-normalising in every cluster moved it for every neuron
    with pytest.raises(ValueError, match="both global normalisers"):
        measures.weighted_md(x, y, labels, 100, 0, n_x=before.n_x)


def test_random_clusters_keep_the_sizes():
    labels = np.repeat(np.arange(5), [1, 2, 3, 4, 90])
    shuffled = measures.random_clusters(labels, seed=3)
    assert np.array_equal(np.bincount(shuffled), np.bincount(labels)) and not np.array_equal(shuffled, labels)


# --- claim 15: weighted WD against random clusters (judged) and non-WNs (reported) ------------------------


def _weighted_table(wn_after, control_after, wn_after_random, before=1.0):
    n_wn, n_c = len(wn_after), len(control_after)
    return pd.DataFrame({"is_wn": [True] * n_wn + [False] * n_c, "is_control": [False] * n_wn + [True] * n_c,
                         "wd_before": before, "wd_after": np.r_[wn_after, control_after],
                         "wd_after_random": np.r_[wn_after_random, np.full(n_c, np.nan)]})


def test_weighted_wd_control_disagrees_with_the_share():
    rng = np.random.default_rng(0)
    # every WN's weighted WD falls by ~30% (the share criterion passes), but non-WNs fall by ~50% and random
    # clusters of the same sizes give the WNs the same fall: both controls say the drop is not Sparse Expansion's
    wn = 0.7 + 0.02 * rng.normal(size=40)
    table = _weighted_table(wn, 0.5 + 0.02 * rng.normal(size=200), wn + 0.01 * rng.normal(size=40))
    out = intervals.weighted_change(table, "wd")
    assert verdict(out["share_wd_decreased"], ">=", 0.9) == "reproduced"
    assert verdict(out["median_wd_drop_wn_minus_non_wn"], ">", 0) == "not reproduced"
    assert verdict(out["median_wd_drop_se_minus_random_clusters"], ">", 0) != "reproduced"
    # and when the clusters matter, the controls agree with the claim
    table = _weighted_table(wn, 1.3 + 0.02 * rng.normal(size=200), 1.2 + 0.02 * rng.normal(size=40))
    out = intervals.weighted_change(table, "wd")
    assert verdict(out["median_wd_drop_wn_minus_non_wn"], ">", 0) == "reproduced"
    assert verdict(out["median_wd_drop_se_minus_random_clusters"], ">", 0) == "reproduced"
    assert out["median_wd_drop_non_wn"] < 0 and out["non_wn_neurons"] == 200


def test_wn_minus_non_wn_passes_by_construction_where_random_clusters_fail():
    rng = np.random.default_rng(5)
    # no cluster effect at all: every neuron's weighted WD lands on a common floor (0.4), with Sparse Expansion's
    # clusters or random ones alike. Split on dense WD, the WNs (before 1.0) drop and the non-WNs (before 0.3)
    # rise: the WN-minus-non-WN control passes; the random-cluster control (claim 15's criterion) does not
    table = _weighted_table(0.4 + 0.01 * rng.normal(size=40), 0.4 + 0.01 * rng.normal(size=200),
                            0.4 + 0.01 * rng.normal(size=40))
    table.loc[table["is_control"], "wd_before"] = 0.3
    out = intervals.weighted_change(table, "wd")
    assert verdict(out["median_wd_drop_wn_minus_non_wn"], ">", 0) == "reproduced"
    assert verdict(out["median_wd_drop_se_minus_random_clusters"], ">", 0) != "reproduced"


def test_within_cluster_wd_has_a_floor_common_to_every_neuron():
    # why claim 15 needs its controls: a Gaussian neuron's WD rises when its tokens are split at random
    y = np.random.default_rng(2).normal(size=(2048, 8)).astype(np.float32)
    labels = measures.random_clusters(np.arange(2048) % 16, seed=0)
    assert (measures.weighted_wd(y, labels) > 1.5 * wasserstein_to_gaussian(y, method="exact")).all()


# --- claims 10, 11: populations ------------------------------------------------------------------------


def test_ri_population_can_disagree_with_the_top_neuron():
    rng = np.random.default_rng(1)
    ri = np.r_[5.0, 10 + rng.normal(size=19), 30 + rng.normal(size=200)]  # the top-WD neuron is a WN
    table = pd.DataFrame({"is_wn": [True] * 20 + [False] * 200, "ri_percent": ri})
    out = intervals.ri_wn_vs_other(table)
    assert verdict(out["ri_pct_median_wn_minus_other"], ">", 0) == "not reproduced"
    assert out["wn_neurons"] == 20 and out["ri_pct_median_other"] == pytest.approx(30, abs=0.5)


def test_sweep_population_uses_every_wn():
    s = [0.0, 0.5, 0.9, 0.95]
    falling = np.array([1.0, 0.8, 0.5, 0.4])
    rows = {f"wd_sweep_s{v:g}": np.r_[np.tile(falling, (9, 1))[:, i], [1.0], [np.nan]] for i, v in enumerate(s)}
    rows["wd_sweep_s0.95"][9] = 1.0  # one flat WN
    table = pd.DataFrame({"is_wn": [True] * 10 + [False], **rows})
    out = intervals.sweep_population(table)
    assert out["wn_count"] == 10 and out["wn_share_wd_decreased"] == pytest.approx(0.9)
    assert out["wn_median_wd_ratio_max_over_dense"].value == pytest.approx(0.4)
    assert out["wn_median_spearman_sparsity_wd"].value == pytest.approx(-1.0)


def sweep_table(wd, change, wn=None):
    """neurons.csv columns of a sweep: wd, change [n, S] over SWEEP."""
    wd, change = np.atleast_2d(wd), np.atleast_2d(change)
    cols = {f"wd_sweep_s{v:g}": wd[:, i] for i, v in enumerate(SWEEP)}
    cols.update({f"out_change_sweep_s{v:g}": change[:, i] for i, v in enumerate(SWEEP)})
    return pd.DataFrame({"is_wn": np.ones(len(wd), bool) if wn is None else wn, **cols})


SWEEP = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
CHANGE = np.array([0, 0.01, 0.01, 0.02, 0.02, 0.03, 0.1, 0.2, 0.4, 0.7, 0.9])  # SparseGPT changes little below 60%


def test_claim10_slope_tests_the_drift_where_outputs_change():
    rng = np.random.default_rng(5)
    n = 40
    # WD wiggles by sampling noise where the output is unchanged, then falls where SparseGPT changes the output
    wd = np.c_[1.0 + 0.05 * rng.standard_normal((n, 6)), np.tile([0.97, 0.93, 0.85, 0.75, 0.7], (n, 1))
               + 0.01 * rng.standard_normal((n, 5))]
    out = intervals.sweep_population(sweep_table(wd, np.tile(CHANGE, (n, 1))))
    assert out["wn_median_spearman_sparsity_wd"].value > -0.8  # the flat part sinks a fixed rho threshold ...
    assert verdict(out["wn_median_wd_slope_on_output_change"], "<", 0) == "reproduced"  # ... not the drift
    assert out["wn_median_wd_slope_on_output_change"].value == pytest.approx(
        np.median(intervals.slopes(np.tile(CHANGE, (n, 1)), wd)))
    rising = 2.0 - wd  # WD moving away from the Gaussian as the output changes
    out = intervals.sweep_population(sweep_table(rising, np.tile(CHANGE, (n, 1))))
    assert verdict(out["wn_median_wd_slope_on_output_change"], "<", 0) == "not reproduced"


def test_slopes_known_answer_and_missing_change_columns():
    x = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    y = np.array([[1.0, 0.5, 0.0], [3.0, 2.0, 1.0]])
    np.testing.assert_allclose(intervals.slopes(x, y), [-0.5, np.nan])
    table = sweep_table(np.tile([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05], (3, 1)),
                        np.tile(CHANGE, (3, 1)))
    table = table.drop(columns=[c for c in table.columns if c.startswith("out_change")])
    assert intervals.sweep_population(table)["wn_median_wd_slope_on_output_change"] is None


# --- claims 12, 13: held-out tokens ---------------------------------------------------------------------


def test_k_sweep_steps_match_the_measures_and_see_a_tie():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=3000)
    noise = [rng.normal(size=3000) for _ in range(3)]
    outputs = np.stack([dense + 0.5 * noise[0], dense + 0.3 * noise[1], dense + 0.1 * noise[2]])
    out = intervals.k_sweep_steps(dense, outputs, resamples=200)
    wd = [measures.wd_between(o, dense) for o in outputs]
    assert out["wd_min_step_decrease"].value == pytest.approx(min(-np.diff(wd)), rel=1e-9)
    assert verdict(out["ri_min_step_increase"], ">", 0) == "reproduced"
    tied = np.stack([outputs[0], outputs[1], outputs[1] + 1e-6 * noise[2]])  # the last step does nothing
    assert verdict(intervals.k_sweep_steps(dense, tied, resamples=200)["ri_min_step_increase"], ">", 0) != "reproduced"


def test_separation_contrast():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 4000)
    split = labels * 2.0 + 0.3 * rng.normal(size=4000)  # experts cover distinct parts
    mixed = rng.normal(size=4000)
    assert verdict(intervals.separation_contrast(split, mixed, labels), ">", 0) == "reproduced"
    assert verdict(intervals.separation_contrast(mixed, mixed + 1e-3 * rng.normal(size=4000), labels), ">", 0) != \
        "reproduced"


# --- claims 17, 18 ---------------------------------------------------------------------------------------


def test_r2_contrast_and_frontier_slope():
    rng = np.random.default_rng(0)
    wd = rng.normal(size=500)
    table = pd.DataFrame({"ri": wd + 0.5 * rng.normal(size=500), "wd": wd, "mean": rng.normal(size=500),
                          "variance": rng.normal(size=500)})
    assert verdict(intervals.r2_contrast(table, "ri", ["wd", "mean", "variance"]), ">", 0) == "reproduced"
    table["mean"] = table["ri"] + 0.1 * rng.normal(size=500)  # another statistic predicts better
    assert verdict(intervals.r2_contrast(table, "ri", ["wd", "mean", "variance"]), ">", 0) == "not reproduced"
    x = 10 ** rng.uniform(0, 2, 300)
    y = x**0.5 * 10 ** rng.uniform(0, 1, 300)  # a rising lower frontier
    assert verdict(intervals.frontier_slope(x, y, 8), ">", 0) == "reproduced"


# --- claim 1: every matrix against a Gaussian baseline --------------------------------------------------------


def test_gaussian_baseline_catches_noise():
    x = np.random.default_rng(100).standard_normal((64, 16)).astype(np.float32)  # pure noise, a small matrix
    values, rows = population.every_matrix_excess([{"wd": wasserstein_to_gaussian(x), "tokens": 64, "layer": 0}])
    assert verdict(values["min_gap_excess_over_gaussian"], ">", 0) != "reproduced"  # the baseline says noise
    assert rows[0]["layer"] == 0 and rows[0]["gaussian_neurons"] == 16 and rows[0]["top_neurons"] == 5
    y = x.copy()
    y[:, 0] = np.where(np.arange(64) % 2, 3.0, -1.0) + 0.05 * x[:, 0]  # one bimodal neuron among Gaussian ones
    values, _ = population.every_matrix_excess([{"wd": wasserstein_to_gaussian(x), "tokens": 64},
                                                {"wd": wasserstein_to_gaussian(y), "tokens": 64}])
    assert values["matrices"] == 2  # the minimum over matrices: the noise-only matrix decides
    assert values["min_top_over_median"].value == pytest.approx(population.top_over_median(wasserstein_to_gaussian(x)))


def test_claim1_top_set_is_a_group_not_a_maximum():
    bulk = 1.0 + 0.01 * np.random.default_rng(1).standard_normal(64)  # a layer whose median WD is far above noise
    one = bulk.copy()
    one[0] = 3.0  # a single outlier: top-1 / median = 3 would pass ">= 2"
    assert population.top_count(64) == 5 and population.top_count(8192) == 410
    values, rows = population.every_matrix_excess([{"wd": one, "tokens": 256}], resamples=200)
    assert rows[0]["top_neurons"] == 5
    assert rows[0]["top_over_median"] == pytest.approx((3.0 + np.sort(bulk[1:])[-4:].sum()) / 5 / np.median(one))
    assert values["min_top_over_median"].value < 2  # (3 + 4 x ~1) / 5: one neuron is not a group
    assert verdict(values["min_top_over_median"], ">=", 2) != "reproduced"
    group = bulk.copy()
    group[:8] = 4.0  # a small group of eight far above the bulk (redrawn neurons keep >= 2 of them in the top 5)
    values, rows = population.every_matrix_excess([{"wd": group, "tokens": 256}], resamples=200)
    assert rows[0]["top_over_median"] == pytest.approx(4.0 / np.median(group))
    assert verdict(values["min_top_over_median"], ">=", 2) == "reproduced"
    # in WD units: the group's gap over the median (~2) dwarfs what sampling noise puts there at 256 tokens
    assert rows[0]["gap_excess_over_gaussian"] == pytest.approx(rows[0]["top_gap"] - rows[0]["gaussian_top_gap"])
    assert 0 < rows[0]["gaussian_top_gap"] < 0.2
    assert verdict(values["min_gap_excess_over_gaussian"], ">", 0) == "reproduced"


def test_top_over_median_does_not_grow_with_neurons():
    small = [population.gaussian_wd(512, 128, seed=s) for s in range(8)]
    large = [population.gaussian_wd(512, 1024, seed=s) for s in range(3)]
    top = [np.mean([population.top_over_median(w) for w in ws]) for ws in (small, large)]
    old = [np.mean([np.max(w) / np.median(w) for w in ws]) for ws in (small, large)]
    assert top[1] / top[0] - 1 < 0.08  # 8x the neurons: the top-5% statistic hardly moves ...
    assert old[1] / old[0] - 1 > 2 * (top[1] / top[0] - 1)  # ... the old max/median grows with the neuron count


# --- claim 22, 23, 8, 9 -----------------------------------------------------------------------------------


def test_size_trend_and_update_ratios():
    rng = np.random.default_rng(0)
    models = [rng.gamma(2, s, 300) for s in (1.0, 1.5, 2.0)]
    out = population.size_trend(models, resamples=200)
    assert all(verdict(out[f"spearman_size_{k}_wd"], ">", 0) != "not reproduced" for k in ("mean", "median"))
    assert population.size_trend(models[:2])["spearman_size_mean_wd"] is None  # two sizes: no trend
    norms = np.abs(rng.normal(1, 0.1, (5, 200)))
    norms[0, :10] *= 3  # the WNs move more in the first interval only
    ratios = population.interval_ratios(norms, np.arange(10))
    assert verdict(ratios["first_interval_ratio_largest"], ">", 1) == "reproduced"
    assert verdict(ratios["last_interval_ratio_largest"], "<", 1) != "reproduced"
    assert population.update_ratio(norms, np.arange(10)).value == pytest.approx(
        norms[:, :10].sum(0).mean() / norms[:, 10:].sum(0).mean())


# --- claim 27: enrichment over random pairs ---------------------------------------------------------------


def test_enrichment_disagrees_with_an_absolute_share():
    function = [("Ġthe", "Ġof", None, "Ġ.")] * 60 + [("Ġcat", "Ġdog", "Ġ.", "Ġ.")] * 40  # 60% function words
    same = enrichment(function, list(function) * 5)  # ... but so are 60% of random pairs' tokens
    assert verdict(same, ">", 1) != "reproduced"
    rare = [("Ġthe", "Ġof", "Ġ.", "Ġ.")] * 20 + [("Ġcat", "Ġdog", "Ġ.", "Ġ.")] * 80
    assert verdict(enrichment(function, rare * 5), ">", 1) == "reproduced"
    assert enrichment(function, rare * 5).value == pytest.approx(0.6 / 0.2)


# --- claims 24-26 ----------------------------------------------------------------------------------------


def test_top_pair_intervals():
    rng = np.random.default_rng(0)
    layers = [1, 2, 3, 4]
    z = 0.1 * rng.normal(size=(4, 4, 50))
    z[np.arange(4), np.arange(4)] += 1.0  # each source layer's pairs score highest in their own layer
    z[1:, 0] += 1.5  # layer 1 scores other layers' pairs above their source
    dist = -0.2 + 0.1 * rng.normal(size=(4, 50))
    dist[0] -= 0.5
    out = top_pair_intervals(z, dist, layers, special=1, resamples=200)
    assert out["share_source_layers_own_highest"].value == 0.25
    assert out["layer1_exceeds_source_count"].value == 3
    assert verdict(out["share_layers_input_z_below_zero"], "==", 1) == "reproduced"
    assert verdict(out["layer1_input_z_minus_min_other"], "<", 0) == "reproduced"


# --- perplexity contrasts --------------------------------------------------------------------------------


def test_window_contrasts_are_paired():
    rng = np.random.default_rng(0)
    base = rng.normal(3.0, 0.5, 300)  # windows differ a lot; the conditions' shifts are small and common
    nll = np.stack([base, base + 0.05 + 0.005 * rng.normal(size=300), base + 0.01 + 0.005 * rng.normal(size=300),
                    base + 0.012 + 0.005 * rng.normal(size=300)])
    est = window_contrast(lambda p: ratio_of_increases_rows(p, 0, 1, [2, 3]), nll)
    assert est.unit == "evaluation windows" and 3.5 < est.ci_low < est.value < est.ci_high < 6.5
    rec = window_contrast(lambda p: recovered_fraction(p, 0, 1, 2), nll)
    assert rec.value == pytest.approx((np.exp(nll[1].mean()) - np.exp(nll[2].mean()))
                                      / (np.exp(nll[1].mean()) - np.exp(nll[0].mean())))
    assert np.isnan(ratio_of_increases_rows(np.array([[10.0, 12.0, 9.0]]), 0, 1, [2]))[0]  # nothing to compare with


# --- intervals over two random stages (claims 3, 13, 28) ------------------------------------------------


def test_hard_pair_ratio_interval_widens_when_neurons_are_redrawn():
    rng = np.random.default_rng(3)
    # many pairs, so the pair stage alone is precise; the neurons' own shares spread widely (top: 0.05-0.35,
    # random: 0.02-0.18): which neurons were drawn dominates the uncertainty of the ratio (about 2)
    shares = np.r_[np.linspace(0.05, 0.35, 10), np.linspace(0.02, 0.18, 10)]
    hard = (rng.random((20_000, 20)) < shares).astype(np.float64)
    top, other = np.arange(10), np.arange(10, 20)
    nested = population.hard_pair_ratio(hard, top, other, resamples=300)
    pairs_only = population.bootstrap(lambda h: np.nanmean(h[:, top]) / np.nanmean(h[:, other]), hard,
                                      unit="token pairs", resamples=300)
    assert nested.value == pytest.approx(pairs_only.value) == pytest.approx(2.0, rel=0.05)
    assert nested.unit == "neurons, then token pairs"
    assert (nested.ci_high - nested.ci_low) > 3 * (pairs_only.ci_high - pairs_only.ci_low)
    assert nested.ci_low < 1.5 < nested.ci_high  # the neuron stage alone makes "> 1.5" inconclusive
    assert verdict(pairs_only, ">", 1.5) == "reproduced"  # what the pair-only interval claimed


def test_k_sweep_interval_widens_when_router_seeds_are_redrawn():
    rng = np.random.default_rng(4)
    t = 20_000
    dense = rng.normal(size=t)
    noise = rng.normal(size=(3, t))

    def fits(levels):  # one fit per router seed: output = dense + level * noise (more noise, larger WD)
        return np.stack([dense + a * noise[s] for s, a in enumerate(levels)])

    # K = 1, 2, 4: the mean fit improves at each step, but two seeds of K = 4 are worse than those of K = 2
    by_seed = [fits([0.8]), fits([0.60, 0.55, 0.50]), fits([0.15, 0.62, 0.62])]
    nested = intervals.k_sweep_steps(dense, by_seed, resamples=300)
    tokens_only = intervals.k_sweep_steps(dense, [o[:1] for o in by_seed], resamples=300)  # one fit per K
    for key in ("wd_min_step_decrease", "ri_min_step_increase"):
        width = nested[key].ci_high - nested[key].ci_low
        assert width > 5 * (tokens_only[key].ci_high - tokens_only[key].ci_low)
        assert nested[key].ci_low < 0 < nested[key].value  # a seed redraw can undo the step
    assert nested["router_seeds"] == 3 and nested["wd_min_step_decrease"].unit == "router seeds, then held-out tokens"
    assert verdict(tokens_only["wd_min_step_decrease"], ">", 0) == "reproduced"  # what one fit per K claimed
    # identical seeds add nothing: the interval is the tokens-only one
    same = intervals.k_sweep_steps(dense, [np.repeat(o[:1], 3, axis=0) for o in by_seed], resamples=300)
    a, b = same["wd_min_step_decrease"], tokens_only["wd_min_step_decrease"]
    np.testing.assert_allclose([a.value, a.ci_low, a.ci_high], [b.value, b.ci_low, b.ci_high], rtol=1e-12)


def test_claim9_judges_the_wns_excess_over_the_rest_not_their_own_wd():
    rng = np.random.default_rng(3)
    n, wns = 200, np.arange(10)
    final = np.r_[np.full(10, 2.0), np.full(190, 0.5)] + 0.01 * rng.standard_normal(n)
    flat = 1.2 + 0.01 * rng.standard_normal(n)  # early on every neuron is high: the WNs do not stand out yet
    assert verdict(population.early_over_final(flat[wns], final[wns]), ">=", 0.5) == "reproduced"  # passes anyway
    excess = population.excess_early_over_final(flat, final, wns, resamples=300)
    assert excess.value == pytest.approx(0.0, abs=0.02)  # (1.2 - 1.2) / (2 - 0.5)
    assert verdict(excess, ">=", 0.5) == "not reproduced"
    assert population.early_top_overlap(flat, wns)["early_top_overlap_chance"] == pytest.approx(0.05)
    early = np.r_[np.full(10, 1.7), np.full(190, 0.5)] + 0.01 * rng.standard_normal(n)  # WNs already stand out
    excess = population.excess_early_over_final(early, final, wns, resamples=300)
    assert excess.value == pytest.approx(1.2 / 1.5, abs=0.02)
    assert verdict(excess, ">=", 0.5) == "reproduced"
    assert population.early_top_overlap(early, wns)["early_top_overlap_share"] == 1.0
