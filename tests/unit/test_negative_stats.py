"""The NC-F4 sweep table and the negative-mode counts of a layer's top-WD neurons, on synthetic data."""

import numpy as np
import pandas as pd
import pytest

from entangle.negative.modes import activation, mode_persistence_values, top_wd_modes
from entangle.negative.stats import SWEEP_COLUMNS, TEST, clamp_sweep, summarize_percent
from entangle.neurons.multimodality import ModeTest


def clamp_run(rng, windows=16, seeds=3, percents=(1.0, 5.0)):
    """One clamp job's per-window NLL table and summary, as clamp_ablation writes them."""
    base = rng.normal(3.0, 0.2, windows)
    parts = [pd.DataFrame({"percent": np.nan, "condition": "baseline", "repetition": -1,
                           "window": np.arange(windows), "nll": base})]
    for p in percents:
        parts.append(pd.DataFrame({"percent": p, "condition": "top_wd", "repetition": 0,
                                   "window": np.arange(windows), "nll": base + 0.01 * p}))
        for r in range(seeds):
            parts.append(pd.DataFrame({"percent": p, "condition": "random", "repetition": r,
                                       "window": np.arange(windows), "nll": base + rng.normal(0.001, 0.001, windows)}))
    frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)  # row order must not matter
    summary = {"model": "m", "model_id": "org/m", "revision": "main", "activation": "gelu", "clamp": "up",
               "split": "validation", "wd_split": "test", "windows": windows, "window_tokens": 32,
               "tokens": windows * 32, "seed": 0, "random_seeds": seeds,
               "percents": {str(p): {"percent": p, "neurons_per_layer": {"10": 3, "2": 1}, "neurons_total": 4}
                            for p in percents}}
    return frame, summary, base


def test_clamp_sweep_rows_and_statistics():
    frame, summary, base = clamp_run(np.random.default_rng(0))
    rows, per = clamp_sweep([(frame, summary)], "wikitext")
    assert [r["percent"] for r in rows] == [1.0, 5.0] and sorted(per) == [1.0, 5.0]
    row = rows[1]
    assert row["neurons_per_layer"] == "1/3"  # layers in numeric order: 2, then 10
    assert row["matrix"] == "up" and row["dataset"] == "wikitext" and row["test"] == TEST
    assert set(SWEEP_COLUMNS) <= set(row)
    h = per[5.0]
    assert h["window_nll"].shape == (2 + 3, 16) and np.array_equal(h["window_nll"][0], base)
    expected = summarize_percent(h["window_nll"][0], h["window_nll"][1], h["window_nll"][2:])
    assert all(row[k] == expected[k] or (np.isnan(row[k]) and np.isnan(expected[k])) for k in SWEEP_COLUMNS)
    assert row["significance"] == "n.s." or row["p_wilcoxon"] <= 0.05
    assert h["increase_top"] > h["increase_random"] and h["summary"] is summary


def test_top_wd_modes_counts_modes_before_and_after_the_activation():
    rng = np.random.default_rng(1)
    t = 4000
    bimodal = np.where(rng.random(t) < 0.5, rng.normal(-3.0, 0.3, t), rng.normal(-0.8, 0.3, t))  # two modes < 0
    outputs = np.stack([rng.normal(0, 1, t), bimodal, rng.normal(0.5, 1, t)], axis=1)
    wd = np.array([0.05, 0.6, np.nan])  # the NaN (dead) neuron is never chosen
    test = ModeTest()
    g = top_wd_modes(wd, outputs, "gelu", top=5, test=test)
    assert g["neuron"] == 1 and g["top"] == 2 and g["tokens"] == t
    assert g["modes_pre"] == 2 and g["multimodal_pre"] == 1
    np.testing.assert_array_equal(g["post"], activation("gelu", bimodal))
    assert g["frac_negative"] == pytest.approx(np.mean(bimodal < 0))
    assert len(g["persist_flags"]) == g["multimodal_pre"] and g["persist"] == int(g["persist_flags"].sum())
    r = top_wd_modes(wd, outputs, "relu", top=5, test=test)
    assert r["modes_post"] == 0 and not np.any(r["post"] < 0)  # ReLU leaves no negative side
    values = mode_persistence_values(g, r, "m")
    assert values["gelu_neuron"] == 1 and values["relu_post_nonzero_share"] == pytest.approx(np.mean(r["post"] != 0))
    assert values["top_neurons"] == 2 and values["activation"] == "gelu"
