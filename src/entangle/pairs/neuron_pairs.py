"""Neuron-level token-pair items (NC-F3, F5, F6): the most entangled neurons of one layer, their top-OI
pairs as tables with tokens and pre-activations, and what the items read for a layer.

The cross-layer z-score protocol and the shared checks live in entangle.pairs.zscores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entangle.neurons.selection import top_k
from entangle.pairs.zscores import (LayerPairs, ZScoreError, check_neurons, check_same_pairs, next_token_ids,
                                    top_pairs_per_neuron)


def md_order(md: np.ndarray) -> np.ndarray:
    """Neurons with a finite MD, most entangled first: int64 [n_finite]."""
    md = np.asarray(md, dtype=np.float64)
    return top_k(md, int(np.isfinite(md).sum()))


def item_neurons(md: np.ndarray, neuron="top", table_neurons=4, scatter_neurons=8,
                 layer: int | None = None) -> tuple[int, list[int], list[int]]:
    """(NC-F3 neuron, NC-F5 neurons, NC-F6 neurons) of one layer.

    `neuron`: an index (paper: 5176) or "top" (the top-MD neuron). `table_neurons`: a list of indices
    (paper: 5224, 7723, 1168, 851) or a count of the next top-MD neurons after the NC-F3 neuron.
    NC-F6 shows the NC-F5 neurons, then the next top-MD neurons (never the NC-F3 one), up to
    `scatter_neurons` in all.
    """
    md = np.asarray(md, dtype=np.float64)
    order = [int(n) for n in md_order(md)]
    explicit = ([neuron] if not isinstance(neuron, str) else []) + (list(table_neurons) if isinstance(table_neurons, (list, tuple)) else [])
    check_neurons(explicit, len(md), layer=layer)
    if isinstance(neuron, str):
        if neuron != "top":
            raise ZScoreError(f"neuron = {neuron!r} is not allowed; give a neuron index or 'top'")
        f3 = order[0]
    else:
        f3 = int(neuron)
    if isinstance(table_neurons, (list, tuple)):
        f5 = [int(n) for n in table_neurons]
    else:
        f5 = [n for n in order if n != f3][: int(table_neurons)]
    rest = [n for n in order if n != f3 and n not in f5]
    f6 = (f5 + rest)[: int(scatter_neurons)]
    return f3, f5, f6


def md_rank(md: np.ndarray, neurons) -> list[int | None]:
    """1-based MD rank (1 = most entangled) of each neuron; None for a neuron without a finite MD."""
    rank = {int(n): r + 1 for r, n in enumerate(md_order(md))}
    return [rank.get(int(n)) for n in neurons]


def neuron_top_pairs(inputs, outputs, i, j, neurons, m: int):
    """Several neurons over the pairs, vectorized: (OI [P, k], each neuron's m highest-OI pairs [k, m],
    ‖Δx‖/N_x [P], |Δy|/N_y [P, k]) as `metrics.mapping.io_distances` gives them per neuron (identical-input
    pairs keep their output distance; their OI ratio is NaN)."""
    from entangle.metrics.mapping import oi_ratios, pair_input_distances

    neurons = np.asarray(neurons, dtype=np.int64).reshape(-1)
    oi = oi_ratios(inputs, outputs, i, j, neurons=neurons)
    dist = pair_input_distances(inputs, i, j)
    valid = dist > 0
    dx = dist / dist.max() if len(dist) and dist.max() > 0 else np.full(len(dist), np.nan)
    dy = np.abs(np.asarray(outputs[i][:, neurons], np.float64) - np.asarray(outputs[j][:, neurons], np.float64))
    n_y = np.median(dy[valid], axis=0) if valid.any() else np.full(len(neurons), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        dy = dy / np.where(n_y > 0, n_y, np.nan)
    return oi, top_pairs_per_neuron(oi, m), dx, dy


def flat_tokens(windows: np.ndarray, num_tokens: int) -> np.ndarray:
    """The first `num_tokens` token ids of the windows [n_windows, context], flattened window-major (as
    the captures are); ZScoreError if the windows hold fewer tokens or the count is not whole windows."""
    windows = np.asarray(windows)
    flat = windows.reshape(-1)
    if num_tokens > flat.size or num_tokens % windows.shape[1]:
        raise ZScoreError(f"the capture has {num_tokens} tokens but the token windows hold {flat.size} tokens in "
                          f"windows of {windows.shape[1]}; rebuild the capture from these windows")
    return flat[:num_tokens]


def pair_table(neuron: int, top: np.ndarray, oi: np.ndarray, i: np.ndarray, j: np.ndarray, pre: np.ndarray,
               dx: np.ndarray, dy: np.ndarray, tokens: np.ndarray, vocabulary: list[str]):
    """One row per top pair of a neuron: T1, T2 (tokens at the pair's positions), NT1, NT2 (next tokens),
    PT1, PT2 (the tokens before them, "" at the text's start: they tell a word-internal piece), OI ratio,
    pre-activations, normalized input/output distances and token categories. `pre` [T] is the neuron's
    pre-activation per token; `tokens` [T] the flattened token ids."""
    import pandas as pd

    from entangle.tokens import is_case_variant, is_same_word, pair_token_categories, token_category

    def text(ids):
        return [vocabulary[t] if 0 <= t < len(vocabulary) else ("" if t < 0 else f"<{t}>") for t in ids]

    top = np.asarray(top)
    p1, p2 = i[top], j[top]
    t1, t2 = text(tokens[p1]), text(tokens[p2])
    frame = pd.DataFrame({
        "neuron": int(neuron), "rank": np.arange(1, len(top) + 1), "pair": top, "position1": p1, "position2": p2,
        "T1": t1, "T2": t2, "NT1": text(next_token_ids(tokens, p1)), "NT2": text(next_token_ids(tokens, p2)),
        "PT1": text(previous_token_ids(tokens, p1)), "PT2": text(previous_token_ids(tokens, p2)),
        "oi_ratio": oi[top], "pre1": np.asarray(pre[p1], np.float64), "pre2": np.asarray(pre[p2], np.float64),
        "input_distance": dx[top], "output_distance": dy[top]})
    cats = [pair_token_categories(*pair) for pair in zip(t1, t2, frame["PT1"], frame["PT2"])]
    frame["category1"] = [c[0] for c in cats]
    frame["category2"] = [c[1] for c in cats]
    frame["token_category1"] = [token_category(t, p) for t, p in zip(t1, frame["PT1"])]
    frame["token_category2"] = [token_category(t, p) for t, p in zip(t2, frame["PT2"])]
    frame["case_variant"] = [is_case_variant(a, b) for a, b in zip(t1, t2)]
    frame["same_word"] = [is_same_word(a, b) for a, b in zip(t1, t2)]
    return frame


def negative_share(frame) -> tuple[int, int]:
    """(tokens with a negative pre-activation, tokens) over both tokens of every row of a pair table."""
    pre = np.concatenate([frame["pre1"].to_numpy(), frame["pre2"].to_numpy()])
    return int(np.sum(pre < 0)), int(pre.size)


def negative_counts(top: np.ndarray, i: np.ndarray, j: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """Tokens with a negative pre-activation (0, 1 or 2) in each chosen pair: top [..., m] pair indices into
    (i, j), pre [T] (one neuron) -> int64 [..., m]."""
    pre = np.asarray(pre)
    return (pre[i[top]] < 0).astype(np.int64) + (pre[j[top]] < 0)


def negative_share_estimate(oi: np.ndarray, i: np.ndarray, j: np.ndarray, pre: np.ndarray, m: int,
                            resamples: int | None = None, seed: int | None = None):
    """Claim 28 for one neuron: share of the tokens of its m highest-OI pairs with a negative pre-activation.

    oi [P] (NaN never chosen), i, j [P], pre [T]. 95% interval over the random pairs the top pairs are chosen
    from: each replicate redraws the P pairs with replacement and re-chooses the m highest-OI pairs among them
    (a pair drawn twice can be chosen twice). The ranking within one neuron does not depend on the OI ratio's
    normalisers, so the ratios are not recomputed. None when fewer than m pairs have a finite OI ratio."""
    from entangle.bootstrap import RESAMPLES, SEED, draws, from_replicates

    resamples, seed = resamples or RESAMPLES, SEED if seed is None else seed
    oi = np.nan_to_num(np.asarray(oi, dtype=np.float64), nan=-np.inf)
    if np.isfinite(oi).sum() < m:
        return None
    value = negative_counts(np.argsort(-oi, kind="stable")[:m], i, j, pre).mean() / 2
    idx = draws(oi.size, resamples, seed)  # [B, P]
    part = np.argpartition(-oi[idx], m - 1, axis=1)[:, :m]  # the m highest of each redraw (order irrelevant)
    chosen = np.take_along_axis(idx, part, axis=1)
    ok = np.isfinite(oi[chosen]).all(1)
    reps = np.where(ok, negative_counts(chosen, i, j, pre).mean(1) / 2, np.nan)
    return from_replicates(value, reps, "random pairs (top pairs re-chosen)", oi.size)


def layer_negative_shares(inputs, outputs, i: np.ndarray, j: np.ndarray, m: int, block: int = 256) -> dict:
    """Claim 28 over every neuron of the layer, the same rule as the illustrated neuron: per neuron, the share of
    its m highest-OI pairs' tokens with a negative pre-activation (`share` [n], NaN for neurons with fewer than
    m finite OI ratios) and whether each of those pairs holds exactly one negative token (`one_per_pair` [n])."""
    from entangle.metrics.mapping import oi_ratios

    y = outputs
    n = y.shape[1]
    y_i, y_j = np.asarray(y[i], np.float64), np.asarray(y[j], np.float64)  # [P, n]: both tokens of every pair
    share, one = np.full(n, np.nan), np.zeros(n, bool)
    for a in range(0, n, block):
        cols = np.arange(a, min(n, a + block))
        oi = oi_ratios(inputs, y, i, j, neurons=cols)
        live = np.isfinite(oi).sum(0) >= m
        if not live.any():
            continue
        top = top_pairs_per_neuron(oi[:, live], m)  # [k, m]
        pre1, pre2 = y_i[:, cols[live]].T, y_j[:, cols[live]].T  # [k, P]
        counts = (np.take_along_axis(pre1, top, 1) < 0).astype(np.int64) + (np.take_along_axis(pre2, top, 1) < 0)
        share[cols[live]] = counts.mean(1) / 2
        one[cols[live]] = (counts == 1).all(1)
    return {"share": share, "one_per_pair": one}


def layer_negative_summary(shares: dict, neuron: int) -> dict:
    """Population values beside claim 28 (neurons redrawn): median share, share of neurons at >= 0.9, share of
    neurons whose every top pair holds exactly one negative token; the illustrated neuron's rank among them."""
    from entangle.bootstrap import bootstrap

    s, one = shares["share"], shares["one_per_pair"]
    live = np.isfinite(s)
    v, o = s[live], one[live].astype(np.float64)
    if not v.size:
        return {"layer_neurons": 0}
    own = s[neuron]
    return {"layer_median_share_negative": bootstrap(np.median, v, unit="neurons"),
            "layer_share_neurons_ge_0_9": bootstrap(lambda x: np.mean(x >= 0.9), v, unit="neurons"),
            "layer_share_neurons_one_negative_per_pair": bootstrap(np.mean, o, unit="neurons"),
            "layer_share_neurons_all_negative": float(np.mean(v == 1)),
            "layer_share_neurons_none_negative": float(np.mean(v == 0)),
            "layer_neurons": int(v.size),
            "neuron_share_negative_percentile": float(np.mean(v <= own)) if np.isfinite(own) else None}


def previous_token_ids(flat_tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The token before each position in the flattened stream (the windows are consecutive cuts of one
    stream from its start, so this is the previous token of the text); -1 at position 0, the text's start."""
    flat_tokens = np.asarray(flat_tokens).reshape(-1)
    positions = np.asarray(positions, dtype=np.int64)
    out = np.full(positions.shape, -1, dtype=np.int64)
    ok = positions > 0
    out[ok] = flat_tokens[positions[ok] - 1]
    return out


def pair_tokens(i: np.ndarray, j: np.ndarray, tokens: np.ndarray,
                vocabulary: list[str]) -> list[tuple[str, str, str | None, str | None]]:
    """(T1, T2, PT1, PT2) raw token strings of pairs: the tokens and the tokens before them (None at the
    text's start), as `entangle.tokens.breakdown` takes them."""
    def before(ids):
        return [vocabulary[t] if t >= 0 else None for t in previous_token_ids(tokens, ids)]

    return list(zip([vocabulary[a] for a in tokens[i]], [vocabulary[b] for b in tokens[j]], before(i), before(j)))


@dataclass
class LayerItemData:
    """What the neuron-level items read for one layer (see `load_layer_item`)."""

    inputs: np.ndarray  # [T, d] memory-mapped capture
    outputs: np.ndarray  # [T, n] memory-mapped pre-activations
    md: np.ndarray  # [n] MD of every neuron
    i: np.ndarray  # [P]
    j: np.ndarray  # [P]
    layer_pairs: LayerPairs
    tokens: np.ndarray | None  # [T] flattened token ids of the captured windows
    vocabulary: list[str] | None


def load_layer_item(top, md, pairs_path, inputs, outputs, tokens=None, vocabulary=None) -> LayerItemData:
    """Read one layer's per-layer z-score file, MD table, pairs, captures and (optionally) token ids and
    vocabulary, checking they belong together."""
    import json

    import pandas as pd

    from entangle.io import load_matrix

    x, y = load_matrix(inputs), load_matrix(outputs)
    t, p = np.load(top), np.load(pairs_path)
    lp = LayerPairs.from_arrays(t)
    check_same_pairs([(p["i"], p["j"]), (t["i"], t["j"])], [lp.layer, lp.layer])
    md_values = pd.read_csv(md)["md"].to_numpy()
    if len(md_values) != y.shape[1]:
        raise ZScoreError(f"MD table has {len(md_values)} neurons but the capture has {y.shape[1]}")
    ids = flat_tokens(np.load(tokens), len(x)) if tokens is not None else None
    vocab = json.loads(open(vocabulary, encoding="utf-8").read()) if vocabulary is not None else None
    if ids is not None and vocab is not None and ids.size and int(ids.max()) >= len(vocab):
        raise ZScoreError(f"token id {int(ids.max())} is out of range: the vocabulary has ids 0..{len(vocab) - 1}")
    return LayerItemData(x, y, md_values, p["i"], p["j"], lp, ids, vocab)
