"""Cross-layer z-scores of high-OI pairs (NC App. A): hand examples, a loop reference, invariances, bad input."""

import numpy as np
import pandas as pd
import pytest

from entangle.config import FFN_MATRICES
from entangle.metrics.mapping import io_distances, mapping_difficulty, oi_ratios
from entangle.pairs.neuron_pairs import (flat_tokens, item_neurons, md_rank, negative_share, neuron_top_pairs,
                                         pair_table, pair_tokens, previous_token_ids)
from entangle.pairs.zscores import (LayerPairs, ZScoreError, check_layers, check_matrix, check_neurons,
                                    check_same_pairs, check_tokens, cross_layer_z, diagonal_dominance,
                                    input_distance_z, layer_top_pairs, neuron_moments, next_token_ids,
                                    normalize_to_source, top_pairs_per_neuron)
from entangle.tokens import breakdown


def layer(t=3_000, d=12, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, d)).astype(np.float32)
    w = rng.standard_normal((d, n)).astype(np.float32)
    y = x @ w
    y[:, :5] = np.abs(y[:, :5]) * 4 - 3  # a few folded, entangled neurons
    return x, y


def synthetic_layers(n_layers=4, p=200, k=3, m=4, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for layer in range(n_layers):
        oi = rng.lognormal(size=(p, k))
        mean, std = neuron_moments(oi)
        out.append(LayerPairs(layer=layer, neurons=np.arange(k), md=oi.mean(0), oi=oi,
                              top=top_pairs_per_neuron(oi, m), mean=mean, std=std))
    return out


def test_cross_layer_z_matches_a_loop_over_layers_neurons_and_pairs():
    lps = synthetic_layers()
    z = cross_layer_z(lps)
    assert z.shape == (4, 4, 12)
    for s, src in enumerate(lps):
        for e, ev in enumerate(lps):
            for q, pair in enumerate(src.pool):
                per_neuron = [(ev.oi[pair, n] - ev.oi[:, n].mean()) / ev.oi[:, n].std() for n in range(3)]
                assert z[s, e, q] == pytest.approx(np.mean(per_neuron))


def test_hand_example_z():
    oi = np.array([[1.0], [2.0], [3.0], [6.0]])  # mean 3, std sqrt(3.5)
    lp = LayerPairs(layer=1, neurons=np.array([0]), md=np.array([3.0]), oi=oi, top=top_pairs_per_neuron(oi, 2),
                    mean=np.array([3.0]), std=np.array([np.sqrt(3.5)]))
    assert lp.top.tolist() == [[3, 2]]
    z = cross_layer_z([lp])
    np.testing.assert_allclose(z[0, 0], [3 / np.sqrt(3.5), 0.0])


def test_z_is_invariant_to_input_and_output_scale():
    x, y = layer()
    res = mapping_difficulty(x, y, 500, seed=1)
    a = layer_top_pairs(x, y, res.md, res.i, res.j, layer=0, top_neurons=4, top_pairs=5)
    b = layer_top_pairs(x * 7.0, y * np.linspace(0.5, 3, y.shape[1], dtype=np.float32), res.md, res.i, res.j,
                        layer=0, top_neurons=4, top_pairs=5)
    np.testing.assert_array_equal(a.top, b.top)
    np.testing.assert_allclose(cross_layer_z([a]), cross_layer_z([b]), rtol=1e-5)


def test_layer_top_pairs_picks_top_md_neurons_and_their_highest_oi_pairs():
    x, y = layer()
    res = mapping_difficulty(x, y, 500, seed=2)
    lp = layer_top_pairs(x, y, res.md, res.i, res.j, layer=3, top_neurons=4, top_pairs=6)
    assert lp.neurons.tolist() == np.argsort(-res.md)[:4].tolist()
    np.testing.assert_allclose(lp.md, res.md[lp.neurons])
    np.testing.assert_allclose(lp.oi, oi_ratios(x, y, res.i, res.j, neurons=lp.neurons))
    assert lp.top.shape == (4, 6) and lp.pool.shape == (24,)
    for c in range(4):
        assert lp.oi[lp.top[c], c].min() >= np.sort(lp.oi[:, c])[-6]
    # round trip through the per-layer file format
    again = LayerPairs.from_arrays(lp.arrays())
    np.testing.assert_array_equal(again.top, lp.top)
    assert again.layer == 3


def test_every_layer_of_a_capture_gets_the_same_pairs():
    x1, y1 = layer(seed=0)
    x2, y2 = layer(d=20, n=30, seed=1)
    r1, r2 = mapping_difficulty(x1, y1, 400, seed=5), mapping_difficulty(x2, y2, 400, seed=5)
    np.testing.assert_array_equal(r1.i, r2.i)
    np.testing.assert_array_equal(r1.j, r2.j)
    check_same_pairs([(r1.i, r1.j), (r2.i, r2.j)], [1, 2])
    r3 = mapping_difficulty(x2, y2, 400, seed=6)
    with pytest.raises(ZScoreError, match="layer 2 was measured on other token pairs than layer 1"):
        check_same_pairs([(r1.i, r1.j), (r3.i, r3.j)], [1, 2])


def test_top_pairs_skip_nan_and_complain_when_too_few():
    oi = np.array([[np.nan, 1.0], [5.0, 2.0], [3.0, np.nan], [4.0, 0.5]])
    assert top_pairs_per_neuron(oi, 2).tolist() == [[1, 3], [1, 0]]
    with pytest.raises(ZScoreError, match="top 4 pairs of each neuron but neuron column 0 has only 3"):
        top_pairs_per_neuron(oi, 4)


def test_normalize_to_source():
    z = np.array([[2.0, 1.0], [0.5, 4.0]])
    np.testing.assert_allclose(normalize_to_source(z, "divide"), [[1.0, 0.5], [0.125, 1.0]])
    np.testing.assert_allclose(normalize_to_source(z, "subtract"), [[0.0, -1.0], [-3.5, 0.0]])
    np.testing.assert_allclose(normalize_to_source(z, "none"), z)
    with pytest.raises(ZScoreError, match="normalize = 'scale' is not allowed; allowed values: divide, subtract, none"):
        normalize_to_source(z, "scale")


def test_diagonal_dominance_statistics():
    # rows: source layers 1, 2, 3; columns: evaluated layers 1, 2, 3
    z = np.array([[3.0, 1.0, 0.5],
                  [2.5, 2.0, 1.0],   # layer 1 exceeds source layer 2
                  [1.0, 0.2, 1.5]])
    d = diagonal_dominance(z, [1, 2, 3], special=1)
    assert d["own_layer_highest"] == 2 and d["source_layers"] == 3
    assert d["later_cells"] == 3 and d["later_below_source_share"] == pytest.approx(1.0)
    assert d["special_exceeds_source"] == 1 and d["special_compared"] == 2
    assert d["special_offdiag_mean"] == pytest.approx(1.75)  # (2.5 + 1.0) / 2
    assert d["other_offdiag_mean"] == pytest.approx(np.mean([(1.0 + 0.2) / 2, (0.5 + 1.0) / 2]))
    assert d["special_offdiag_rank"] == 1


def test_input_distance_z():
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    z = input_distance_z(d, np.array([0, 0, 4]))
    sd = d.std()
    np.testing.assert_allclose(z, [-2 / sd, -2 / sd, 2 / sd])
    assert np.isnan(input_distance_z(np.ones(4), np.array([1]))).all()


def test_neuron_top_pairs_agree_with_io_scatter_and_oi():
    x, y = layer()
    res = mapping_difficulty(x, y, 300, seed=0)
    oi, top, dx, dy = neuron_top_pairs(x, y, res.i, res.j, [0, 7], 5)
    assert oi.shape == (300, 2) and top.shape == (2, 5) and dy.shape == (300, 2)
    for c, n in enumerate((0, 7)):
        sdx, sdy = io_distances(x, y, res.i, res.j, n)
        np.testing.assert_allclose(dx, sdx)
        np.testing.assert_allclose(dy[:, c], sdy, rtol=1e-6)
        np.testing.assert_allclose(oi[:, c], sdy / sdx, rtol=1e-5)


def test_item_neurons():
    md = np.array([0.1, 5.0, np.nan, 3.0, 4.0, 2.0, 1.0])
    assert item_neurons(md, "top", 2, 4) == (1, [4, 3], [4, 3, 5, 6])
    assert item_neurons(md, 3, [0, 6], 3) == (3, [0, 6], [0, 6, 1])
    assert item_neurons(md, "top", 3, 2)[2] == [4, 3]
    assert md_rank(md, [1, 0, 2]) == [1, 6, None]
    with pytest.raises(ZScoreError, match="neuron 5176 is out of range: layer 1 has neurons 0..6"):
        item_neurons(md, 5176, 2, 4, layer=1)
    with pytest.raises(ZScoreError, match="neuron 7723 is out of range"):
        item_neurons(md, "top", [1, 7723], 4, layer=1)


def test_checks_name_the_value_and_the_limit():
    assert check_layers([0, 3], 4) == [0, 3]
    with pytest.raises(ZScoreError, match="layer 24 is out of range: the model has layers 0..23"):
        check_layers([1, 24], 24)
    with pytest.raises(ZScoreError, match="gpt_neox has no matrix 'gate'; it has up, down"):
        check_matrix("gpt_neox", "gate")
    assert check_matrix("llama", "gate") == "gate"
    with pytest.raises(ZScoreError, match="neuron 192 is out of range: layer 1 has neurons 0..191"):
        check_neurons([3, 192], 192, layer=1)
    with pytest.raises(ZScoreError, match="1000 pairs need at least 2 x 1000 = 2000 tokens, got 1999 tokens"):
        check_tokens(1999, 1000)
    x, y = layer(t=1_500)
    with pytest.raises(ZScoreError, match="got 1500 tokens"):
        layer_top_pairs(x, y, np.ones(y.shape[1]), np.arange(1000), np.arange(1000), layer=0)


def test_family_matrices_match_the_architecture_table():
    from entangle.models.arch import ARCHS

    assert FFN_MATRICES == {f: tuple(a.matrices) for f, a in ARCHS.items()}


def test_tokens_next_tokens_and_pair_table():
    windows = np.array([[5, 6, 7], [8, 9, 10], [11, 12, 13]])
    flat = flat_tokens(windows, 6)
    assert flat.tolist() == [5, 6, 7, 8, 9, 10]
    with pytest.raises(ZScoreError, match="the capture has 12 tokens but the token windows hold 9"):
        flat_tokens(windows, 12)
    assert next_token_ids(flat, np.array([0, 2, 5])).tolist() == [6, 8, -1]  # across windows; -1 at the end
    vocab = [f"t{k}" for k in range(5)] + ["Ġthe", "ĠThe", "Ġof", "Ġ19", ",", "Ġcat"]
    i, j = np.array([0, 2]), np.array([1, 5])
    oi = np.array([2.0, 9.0])
    pre = np.array([-1.0, -2.0, 0.5, -0.1, 3.0, 1.0])
    frame = pair_table(4, np.array([1, 0]), oi, i, j, pre, np.array([0.2, 0.1]), np.array([1.0, 4.0]), flat, vocab)
    assert frame[["T1", "T2", "NT1", "NT2"]].values.tolist() == [["Ġof", "Ġcat", "Ġ19", ""],
                                                                   ["Ġthe", "ĠThe", "ĠThe", "Ġof"]]
    assert frame["rank"].tolist() == [1, 2] and frame["oi_ratio"].tolist() == [9.0, 2.0]
    assert frame["case_variant"].tolist() == [False, True]
    assert frame["category1"].tolist() == ["function word", "case variant pair"]
    assert frame["token_category1"].tolist() == ["function word", "function word"]
    assert frame[["PT1", "PT2"]].values.tolist() == [["ĠThe", ","], ["", "Ġthe"]]  # "": the text's start
    assert negative_share(frame) == (2, 4)  # pre at positions 2, 5, 0, 1 -> 0.5, 1.0, -1.0, -2.0
    assert isinstance(frame, pd.DataFrame)


def test_claim28_interval_redraws_the_pool_the_top_pairs_come_from():
    from entangle.pairs.neuron_pairs import negative_share_estimate

    # 8 pairs with the highest OI hold one negative token each; the next 40 hold two. Redrawing the chosen
    # top pairs themselves could only give [0.5, 0.5]; redrawing the 1,000 random pairs leaves some of the 8 out
    # of a redraw, and pairs with two negative tokens take their place
    p, m = 1000, 8
    i, j = np.arange(p), np.arange(p, 2 * p)
    pre = np.ones(2 * p)
    pre[i[:m]] = -1.0  # top pairs: one negative token
    pre[i[m:m + 40]] = pre[j[m:m + 40]] = -1.0  # runners-up: two
    oi = np.r_[np.linspace(100, 90, m), np.linspace(89, 80, 40), np.linspace(10, 1, p - m - 40)]
    est = negative_share_estimate(oi, i, j, pre, m, resamples=400)
    assert est.value == 0.5 and est.ci_low == 0.5 and est.ci_high > 0.6
    assert est.unit == "random pairs (top pairs re-chosen)"
    pinned = pre.copy()
    pinned[i[m:m + 40]] = 1.0  # the runners-up hold one negative token too: the statistic is pinned at 0.5
    est = negative_share_estimate(oi, i, j, pinned, m, resamples=400)
    assert est.ci_low == est.ci_high == 0.5
    assert negative_share_estimate(np.r_[oi[:5], np.full(p - 5, np.nan)], i, j, pre, m) is None


def test_layer_negative_shares_rank_every_neuron_like_the_illustrated_one():
    from entangle.pairs.neuron_pairs import layer_negative_shares, layer_negative_summary, negative_counts

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    z = x @ rng.normal(size=(6, 3))
    y = np.c_[z[:, 0], -np.abs(z[:, 1]) - 1, np.abs(z[:, 2]) + 1, np.zeros(400)]  # mixed, all <0, all >0, dead
    i, j = rng.integers(0, 400, 300), rng.integers(0, 400, 300)
    out = layer_negative_shares(x, y, i, j, m=10, block=2)
    oi, best, _, _ = neuron_top_pairs(x, y, i, j, [0], 10)
    assert out["share"][0] == negative_counts(best[0], i, j, y[:, 0]).mean() / 2
    assert out["share"][1] == 1.0 and out["share"][2] == 0.0 and np.isnan(out["share"][3])
    assert not out["one_per_pair"][1:].any()
    summary = layer_negative_summary(out, neuron=1)
    assert summary["layer_neurons"] == 3 and summary["neuron_share_negative_percentile"] == 1.0
    assert summary["layer_share_neurons_all_negative"] == pytest.approx(1 / 3)


def test_pair_tokens_carry_the_token_before_them():
    vocab = ["Ġbe", "in", "g", "Ġin", "The"]
    flat = np.array([4, 0, 1, 2, 0, 3])  # "The be|in|g be in"
    assert previous_token_ids(flat, np.array([0, 2, 5])).tolist() == [-1, 0, 0]
    pairs = pair_tokens(np.array([2, 0]), np.array([5, 3]), flat, vocab)
    assert pairs == [("in", "Ġin", "Ġbe", "Ġbe"), ("The", "g", None, "in")]
    shares = breakdown(pairs)  # "The" opens the text; "in" and "g" continue "being"; "Ġin" is the preposition
    assert shares["function word"] == 0.5 and shares["other"] == 0.5


def hand_layer(layer, oi, m=1):
    """A layer whose OI ratios are already z-scores (mean 0, std 1 given), so z = OI."""
    oi = np.asarray(oi, dtype=np.float64)
    k = oi.shape[1]
    return LayerPairs(layer=layer, neurons=np.arange(k), md=np.ones(k), oi=oi, top=top_pairs_per_neuron(oi, m),
                      mean=np.zeros(k), std=np.ones(k))


def test_held_out_diagonal_leaves_out_the_selecting_neuron():
    # layer 0: neuron 0 alone is high on pair 0, neuron 1 alone on pair 1 (each selects its pair, the other is 0);
    # layer 1: both neurons give layer 0's pairs z = 1 and select pairs 2 and 3.
    src = hand_layer(0, [[5, 0], [0, 5], [0, 0], [0, 0], [0, 0], [0, 0]])
    ev = hand_layer(1, [[1, 1], [1, 1], [4, 0], [0, 4], [0, 0], [0, 0]])
    assert src.pool.tolist() == [0, 1] and ev.pool.tolist() == [2, 3]
    inside, held = cross_layer_z([src, ev]), cross_layer_z([src, ev], held_out=True)
    heat_in, heat_out = inside.mean(-1), held.mean(-1)
    # in-sample, the selecting neuron alone makes the diagonal win: (5 + 0) / 2 = 2.5 > 1
    assert heat_in[0, 0] == pytest.approx(2.5) and heat_in[0, 1] == pytest.approx(1.0)
    assert diagonal_dominance(heat_in, [0, 1])["own_layer_highest"] == 2
    # held out, the pairs are scored in their own layer only by the neuron that did not pick them: 0 < 1
    assert heat_out[0, 0] == pytest.approx(0.0) and heat_out[0, 1] == pytest.approx(1.0)
    assert np.argmax(heat_out[0]) == 1
    np.testing.assert_array_equal(held[0, 1], inside[0, 1])  # off-diagonal cells unchanged
    np.testing.assert_array_equal(held[1, 0], inside[1, 0])


def test_held_out_leaves_out_every_neuron_that_selected_a_repeated_pair():
    lp = hand_layer(0, [[5, 4, 0], [0, 0, 3], [1, 1, 1], [0, 0, 0]])  # pair 0 selected by neurons 0 and 1
    assert lp.pool.tolist() == [0, 0, 1]
    held = cross_layer_z([lp], held_out=True)[0, 0]
    np.testing.assert_allclose(held, [0.0, 0.0, 0.0])  # pair 0 scored by neuron 2 only; pair 1 by neurons 0, 1
    every = hand_layer(0, [[5], [0], [0]])  # one neuron: it selects every pair, nothing is left to score
    assert np.isnan(cross_layer_z([every], held_out=True)[0, 0]).all()
