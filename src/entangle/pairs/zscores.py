"""Cross-layer z-scores of high-OI token pairs (NC §2.2 and Appendix A; NC-F2).

Protocol, for one model's up-projections and one seeded sample of P token-position pairs (i, j) shared
by every layer (`sample_pairs` depends only on the token count, P and the seed, so every layer of a
capture gets the same pairs; `check_same_pairs` verifies it):

1. per layer: MD of every neuron over the P pairs (`metrics.mapping.mapping_difficulty`);
2. per layer: the k most entangled (top-MD) neurons, their OI ratios over all P pairs [P, k], and
   for each of them its m highest-OI pairs, giving k·m pair indices per layer (repeats kept, as the
   paper says) -> `layer_top_pairs`;
3. for source layer s and evaluated layer e: the OI ratios of s's k·m pairs under e's k neurons, each
   turned into a z-score against that neuron's OI distribution over all P pairs (mean and standard
   deviation, ddof = 0, identical-input pairs left out), then averaged over the k neurons ->
   `cross_layer_z` [S, E, k·m];
4. the mean over the k·m pairs gives the heatmap Z[s, e]; each row is then normalized to its source
   layer (`normalize_to_source`: divide by Z[s, s] by default, or subtract it, or leave it);
5. layer index 0 is left out as the paper does ("instability in the OI ratio metrics").

The z-score of an OI ratio does not depend on N_x or N_y (both are constant factors per neuron over the
P pairs), so it is the z-score of |Δy| / ‖Δx‖. Everything is vectorized over neurons and pairs.

The input-distance statistic (NC-F2b) z-scores each top pair's ‖x_i − x_j‖ against the distances of all
P pairs of that layer (`input_distance_z`), reported as mean ± SEM over the k·m top pairs.

Decisions where the paper is silent, each a config value or stated here:
- z-score reference: per evaluated neuron (mean, std over the P pairs), then averaged over that layer's
  top neurons (not: average the OI ratios over neurons first and z-score the average);
- normalization to the source layer: divide each row by its diagonal (config `normalize`; `subtract`
  and `none` are available); the diagonal-dominance statistics use the raw z, so they do not depend on it;
- the k·m pool keeps repeated pairs (the paper: "some pairs could be repeated"); SEMs are over the pool;
- "all 2000 token IDs were unique" is read as token positions (pairs are drawn without replacement
  over positions); the number of distinct vocabulary ids among them is reported too;
- the next token (NT1, NT2) is the next token of the text: windows are consecutive cuts of one stream,
  so a pair at a window's last position takes the next window's first token.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from entangle.config import FFN_MATRICES
from entangle.neurons.selection import top_k

# entangle.metrics.mapping (numba, torch) is imported where used, so the workflow can import the checks below
# when it builds the DAG without loading torch.

NORMALIZATIONS = ("divide", "subtract", "none")


class ZScoreError(ValueError):
    """Bad input to the z-score analysis; the message names the value and the limit."""


def check_layers(layers, n_layers: int, what: str = "layer") -> list[int]:
    """The layer indices as ints; ZScoreError naming the first one outside 0..n_layers-1."""
    out = [int(layer) for layer in layers]
    for layer in out:
        if not 0 <= layer < n_layers:
            raise ZScoreError(f"{what} {layer} is out of range: the model has layers 0..{n_layers - 1}")
    return out


def check_matrix(family: str, matrix: str) -> str:
    """`matrix` if the family has it, else ZScoreError naming the family's matrices."""
    have = FFN_MATRICES.get(family)
    if have is None:
        raise ZScoreError(f"unknown model family {family!r}; supported: {', '.join(FFN_MATRICES)}")
    if matrix not in have:
        raise ZScoreError(f"{family} has no matrix {matrix!r}; it has {', '.join(have)}")
    return matrix


def check_neurons(neurons, n_neurons: int, layer: int | None = None) -> np.ndarray:
    """Neuron indices as int64; ZScoreError naming the first one outside 0..n_neurons-1."""
    out = np.asarray(neurons, dtype=np.int64).reshape(-1)
    where = f"layer {layer}" if layer is not None else "the layer"
    for n in out:
        if not 0 <= n < n_neurons:
            raise ZScoreError(f"neuron {int(n)} is out of range: {where} has neurons 0..{n_neurons - 1}")
    return out


def check_tokens(num_tokens: int, num_pairs: int) -> None:
    """ZScoreError unless there are at least 2 x num_pairs token positions (pairs are disjoint)."""
    if num_tokens < 2 * num_pairs:
        raise ZScoreError(f"{num_pairs} pairs need at least 2 x {num_pairs} = {2 * num_pairs} tokens, "
                          f"got {num_tokens} tokens")


def check_same_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], layers: list[int]) -> None:
    """ZScoreError unless every layer uses the same pairs (i, j): the cross-layer analysis needs it."""
    i0, j0 = pairs[0]
    for (i, j), layer in zip(pairs[1:], layers[1:]):
        if not (np.array_equal(i, i0) and np.array_equal(j, j0)):
            raise ZScoreError(f"layer {layer} was measured on other token pairs than layer {layers[0]}; "
                              "all layers need the same pairs (same token count, pair count and seed)")


def top_pairs_per_neuron(oi: np.ndarray, m: int) -> np.ndarray:
    """For OI ratios [P, k], the m highest-OI pairs of each neuron, highest first: int64 [k, m].

    NaN ratios (identical-input pairs, dead neurons) are never selected; ties keep pair order.
    """
    oi = np.asarray(oi, dtype=np.float64)
    valid = np.isfinite(oi).sum(0)
    if oi.shape[1] and valid.min() < m:
        worst = int(np.argmin(valid))
        raise ZScoreError(f"asked for the top {m} pairs of each neuron but neuron column {worst} has only "
                          f"{int(valid[worst])} pairs with a finite OI ratio")
    order = np.argsort(-np.nan_to_num(oi, nan=-np.inf), axis=0, kind="stable")
    return order[:m].T.astype(np.int64)


@dataclass
class LayerPairs:
    """One layer's entangled neurons and their top-OI pairs (step 2 of the protocol)."""

    layer: int
    neurons: np.ndarray  # [k] top-MD neurons, most entangled first
    md: np.ndarray  # [k] their MD
    oi: np.ndarray  # [P, k] OI ratios of all P pairs under those neurons (NaN for identical inputs)
    top: np.ndarray  # [k, m] indices into the P pairs: each neuron's m highest-OI pairs
    mean: np.ndarray  # [k] OI mean over the valid pairs, per neuron
    std: np.ndarray  # [k] OI standard deviation (ddof = 0) over the valid pairs, per neuron

    @property
    def pool(self) -> np.ndarray:
        """The k·m top pairs of the layer as indices into the P pairs (neuron-major, repeats kept)."""
        return self.top.reshape(-1)

    def arrays(self) -> dict:
        return {"layer": self.layer, "neurons": self.neurons, "md": self.md, "oi": self.oi, "top": self.top,
                "mean": self.mean, "std": self.std}

    @classmethod
    def from_arrays(cls, a) -> LayerPairs:
        return cls(layer=int(a["layer"]), **{k: np.asarray(a[k]) for k in ("neurons", "md", "oi", "top", "mean", "std")})


def neuron_moments(oi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (ddof = 0) of OI ratios [P, k], NaN-aware: ([k], [k])."""
    with np.errstate(invalid="ignore"):
        return np.nanmean(oi, axis=0), np.nanstd(oi, axis=0)


def layer_top_pairs(inputs, outputs, md, i, j, layer: int, top_neurons: int = 10, top_pairs: int = 10) -> LayerPairs:
    """Top-MD neurons of one layer, their OI ratios over the pairs (i, j) and their top pairs.

    inputs [T, d], outputs [T, n] (memory-mapped is fine: only the 2P rows of the pairs are read),
    md [n] from `mapping_difficulty` over the same pairs.
    """
    from entangle.metrics.mapping import oi_ratios

    md = np.asarray(md, dtype=np.float64)
    if len(md) != outputs.shape[1]:
        raise ZScoreError(f"layer {layer}: MD has {len(md)} neurons but the outputs have {outputs.shape[1]}")
    check_tokens(len(inputs), len(i))
    neurons = top_k(md, top_neurons)
    oi = oi_ratios(inputs, outputs, i, j, neurons=neurons)
    mean, std = neuron_moments(oi)
    return LayerPairs(layer=int(layer), neurons=neurons, md=md[neurons], oi=oi,
                      top=top_pairs_per_neuron(oi, top_pairs), mean=mean, std=std)


def selectors(lp: LayerPairs) -> np.ndarray:
    """bool [k·m, k]: for each pool entry, which of the layer's k neurons have that pair among their own top m."""
    pool = lp.pool
    return (lp.top[None, :, :] == pool[:, None, None]).any(-1)


def cross_layer_z(layers: list[LayerPairs], held_out: bool = False) -> np.ndarray:
    """z [S, E, k·m]: each source layer's top pairs under each evaluated layer's top-k neurons.

    z[s, e, q] = mean over e's neurons n of (OI_e[pool_s[q], n] − mean_e[n]) / std_e[n]. Source and
    evaluated layers are the same list, in its order. With `held_out`, the diagonal (e = s) averages only
    over the neurons that did not select the pair (`selectors`), so selection and scoring are independent;
    a pair selected by every top neuron gets NaN there. Off-diagonal cells are the same either way.
    """
    if not layers:
        return np.empty((0, 0, 0))
    oi = np.stack([lp.oi for lp in layers])  # [E, P, k]
    mean = np.stack([lp.mean for lp in layers])  # [E, k]
    std = np.stack([lp.std for lp in layers])  # [E, k]
    pools = np.stack([lp.pool for lp in layers])  # [S, k·m]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (oi[:, pools, :] - mean[:, None, None, :]) / np.where(std > 0, std, np.nan)[:, None, None, :]
        if held_out:
            for s, lp in enumerate(layers):
                z[s, s][selectors(lp)] = np.nan
        with warnings.catch_warnings():  # all-NaN rows (a pair every neuron selected) give NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            z = np.nanmean(z, axis=-1)  # [E, S, k·m]
    return np.transpose(z, (1, 0, 2))


def normalize_to_source(z: np.ndarray, how: str = "divide") -> np.ndarray:
    """Rows of a [S, S] heatmap relative to their source layer (the diagonal): Z / Z[s, s], Z − Z[s, s] or Z."""
    if how not in NORMALIZATIONS:
        raise ZScoreError(f"normalize = {how!r} is not allowed; allowed values: {', '.join(NORMALIZATIONS)}")
    z = np.asarray(z, dtype=np.float64)
    diag = np.diag(z)[:, None]
    if how == "divide":
        with np.errstate(divide="ignore", invalid="ignore"):
            return z / diag
    return z - diag if how == "subtract" else z.copy()


def diagonal_dominance(z: np.ndarray, layers: list[int], special: int = 1) -> dict:
    """Claims 24 and 25 on a raw [S, S] heatmap whose rows and columns are `layers`.

    - own_layer_highest: source layers whose own layer has the highest z of the row;
    - later_below_source_share: share of cells (s, e > s) with z[s, e] < z[s, s];
    - special_exceeds_source: source layers s ≠ `special` with z[s, special] > z[s, s];
    - special_offdiag_mean vs other_offdiag_mean and special_offdiag_rank (1 = highest) among the
      evaluated layers' off-diagonal column means.
    """
    z = np.asarray(z, dtype=np.float64)
    n = len(layers)
    layers = list(layers)
    diag = np.diag(z)
    own = int(np.sum(np.argmax(np.nan_to_num(z, nan=-np.inf), axis=1) == np.arange(n))) if n else 0
    later = np.triu(np.ones((n, n), bool), k=1)
    below = (z < diag[:, None])[later]
    off = ~np.eye(n, dtype=bool)
    col_means = np.array([np.nanmean(z[off[:, c], c]) if n > 1 else np.nan for c in range(n)])
    out = {"source_layers": n, "own_layer_highest": own, "own_layer_highest_share": own / n if n else np.nan,
           "later_cells": int(later.sum()), "later_below_source_share": float(below.mean()) if below.size else np.nan}
    if special in layers and n > 1:
        c = layers.index(special)
        others = [r for r in range(n) if r != c]
        exceeds = int(np.sum(z[others, c] > diag[others]))
        rank = int(1 + np.sum(col_means > col_means[c]))
        out.update({"special_layer": special, "special_exceeds_source": exceeds, "special_compared": len(others),
                    "special_offdiag_mean": col_means[c],
                    "other_offdiag_mean": float(np.nanmean(np.delete(col_means, c))) if n > 1 else np.nan,
                    "special_offdiag_rank": rank})
    return out


def top_pair_intervals(z: np.ndarray, dist_z: np.ndarray, layers: list[int], special: int = 1,
                       resamples: int | None = None, seed: int | None = None) -> dict:
    """Claims 24-26 with 95% intervals, each source layer's top pairs redrawn on their own.

    z [S, E, Q]: cross-layer z of each source layer's Q top pairs (`cross_layer_z`); dist_z [S, Q]: their
    input-distance z (`input_distance_z`). Per replicate the heatmap and the per-layer input-distance means
    are recomputed from the redrawn pairs. Returns Estimates of share_source_layers_own_highest,
    layer1_exceeds_source_count, share_layers_input_z_below_zero and layer1_input_z_minus_min_other (the
    `special` layer's mean input-distance z minus the most negative mean of the other layers).
    """
    from entangle.bootstrap import RESAMPLES, SEED, draws, from_replicates

    resamples = RESAMPLES if resamples is None else resamples
    seed = SEED if seed is None else seed
    z, dist_z = np.asarray(z, dtype=np.float64), np.asarray(dist_z, dtype=np.float64)
    n, q = z.shape[0], z.shape[-1]
    layers = list(layers)
    idx = [draws(q, resamples, seed + s) for s in range(n)]
    with np.errstate(all="ignore"):
        heat = np.stack([np.nanmean(z[s][:, idx[s]], axis=-1).T for s in range(n)], axis=1)  # [B, S, E]
        dist = np.stack([np.nanmean(dist_z[s][idx[s]], axis=-1) for s in range(n)], axis=1)  # [B, S]
    point_heat, point_dist = np.nanmean(z, axis=-1)[None], np.nanmean(dist_z, axis=-1)[None]
    diag = np.arange(n)

    def own(h):
        return (np.argmax(np.nan_to_num(h, nan=-np.inf), axis=2) == diag).mean(1)

    out = {"share_source_layers_own_highest": from_replicates(own(point_heat)[0], own(heat), "token pairs", q),
           "share_layers_input_z_below_zero": from_replicates(np.mean(point_dist[0] < 0), (dist < 0).mean(1),
                                                              "token pairs", q)}
    if special in layers and n > 1:
        c = layers.index(special)
        others = [r for r in range(n) if r != c]

        def exceeds(h):
            return (h[:, others, c] > h[:, others, others]).sum(1).astype(np.float64)

        def margin(d):
            return d[:, c] - d[:, others].min(1)

        out["layer1_exceeds_source_count"] = from_replicates(exceeds(point_heat)[0], exceeds(heat), "token pairs", q)
        out["layer1_input_z_minus_min_other"] = from_replicates(margin(point_dist)[0], margin(dist), "token pairs", q)
    return out


def input_distance_z(distances: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """z-scores of the pool's input distances against all P pairs of the layer (ddof = 0): float64 [len(pool)]."""
    d = np.asarray(distances, dtype=np.float64)
    sd = d.std()
    if not sd > 0:
        return np.full(len(pool), np.nan)
    return (d[np.asarray(pool)] - d.mean()) / sd


def next_token_ids(flat_tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The token after each position in the flattened stream (windows are consecutive, non-overlapping
    cuts of one token stream, so this is the next token of the text); -1 after the last position."""
    flat_tokens = np.asarray(flat_tokens).reshape(-1)
    positions = np.asarray(positions, dtype=np.int64)
    nxt = positions + 1
    out = np.full(positions.shape, -1, dtype=np.int64)
    ok = nxt < len(flat_tokens)
    out[ok] = flat_tokens[nxt[ok]]
    return out
