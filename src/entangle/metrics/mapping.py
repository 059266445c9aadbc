"""Mapping difficulty (MD) and output-input (OI) ratios (WD Eq. 2; NC §2).

For a layer with inputs X [T, d] and outputs Y [T, n] (pre-activations; y = w·x + b), and P
token pairs (i, j) drawn without replacement:

    OI_p(w) = (|y_i − y_j| / N_y) / (‖x_i − x_j‖₂ / N_x),     MD(w) = mean_p OI_p(w)

N_x = max_p ‖x_i − x_j‖₂ (shared by the layer), N_y = median_p |y_i − y_j| (per neuron).
Both ratios are dimensionless. Decisions where the authors' code divides by zero:
- pairs with identical inputs (‖Δx‖ = 0) get NaN OI ratios and are left out of N_y and MD;
- neurons with N_y = 0 (dead) get NaN OI ratios and MD.
"""

from dataclasses import dataclass

import numpy as np

from .wasserstein import _as_numpy

CHUNK_BYTES = 2**28  # float64 working memory per neuron chunk ([P, chunk] arrays)
PAIR_CHUNK = 4_096  # pairs per block when computing input distances


@dataclass
class MappingDifficulty:
    """Per-layer MD and what is needed to reuse its pairs (see `oi_ratios`, `io_distances`)."""

    md: np.ndarray  # [n] mean OI ratio over valid pairs; NaN for dead neurons
    n_y: np.ndarray  # [n] median |y_i − y_j| over valid pairs (output units)
    n_x: float  # max ‖x_i − x_j‖₂ over the pairs (input units)
    i: np.ndarray  # [P] int64 first token of each pair
    j: np.ndarray  # [P] int64 second token of each pair
    n_identical_pairs: int  # pairs with ‖x_i − x_j‖ = 0, left out
    n_dead_neurons: int  # neurons with N_y = 0 (or non-finite)


def sample_pairs(num_tokens, num_pairs, seed):
    """2P distinct token positions from np.random.default_rng(seed), split in halves -> (i, j),
    each int64 [P]. As the authors' np.random.choice(T, 2P, replace=False), but seeded."""
    if num_tokens < 2 * num_pairs:
        raise ValueError(f"need at least 2 x {num_pairs} = {2 * num_pairs} tokens for {num_pairs} "
                         f"disjoint pairs, got {num_tokens} tokens")
    idx = np.random.default_rng(seed).choice(num_tokens, 2 * num_pairs, replace=False).astype(np.int64)
    return idx[:num_pairs], idx[num_pairs:]


def pair_input_distances(inputs, i, j):
    """‖x_i − x_j‖₂ per pair: inputs [T, d], i, j [P] -> float64 [P] (float64 accumulation)."""
    x = _as_numpy(inputs)
    dist = np.empty(len(i))
    for a in range(0, len(i), PAIR_CHUNK):
        s = slice(a, a + PAIR_CHUNK)
        diff = x[i[s]].astype(np.float64) - x[j[s]]
        dist[s] = np.sqrt(np.einsum("pd,pd->p", diff, diff))
    return dist


def _neuron_blocks(n, num_pairs, neurons=None):
    """Column blocks of ~CHUNK_BYTES / 4 float64 [P, block] each: slices of range(n), or index
    arrays into `neurons` if given."""
    step = max(1, CHUNK_BYTES // (8 * 4 * max(1, num_pairs)))
    if neurons is None:
        return [slice(a, min(n, a + step)) for a in range(0, n, step)]
    return [neurons[a : a + step] for a in range(0, len(neurons), step)]


def _gather(y, rows, cols):
    """y[rows][:, cols] without materializing whole rows; cols is a slice or an index array."""
    return y[rows, cols] if isinstance(cols, slice) else y[np.ix_(rows, cols)]


def _oi_block(y, i, j, cols, scaled_dist, valid, n_y=None):
    """OI ratios [P, k] and N_y [k] for the output columns `cols` (slice or indices) of y [T, n].

    scaled_dist = ‖Δx‖ / N_x [P]; valid [P] marks pairs with ‖Δx‖ > 0; n_y [k]: fixed output
    normalisers (default: the median |Δy| of these pairs).
    """
    dy = np.abs(_gather(y, i, cols).astype(np.float64) - _gather(y, j, cols))
    if n_y is None:
        n_y = np.median(dy[valid], axis=0) if valid.any() else np.full(dy.shape[1], np.nan)
    live = n_y > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = dy / np.where(live, n_y, np.nan) / scaled_dist[:, None]
    ratio[~valid] = np.nan
    return ratio, n_y


def _layer_terms(inputs, i, j, n_x=None):
    """(‖Δx‖ / N_x [P], valid [P], N_x) for the pairs (i, j); N_x = their max distance unless given."""
    dist = pair_input_distances(inputs, i, j)
    if n_x is None:
        n_x = float(dist.max()) if len(dist) else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return dist / n_x, dist > 0, n_x


def oi_ratios(inputs, outputs, i, j, neurons=None):
    """OI ratios of the pairs (i, j): inputs [T, d], outputs [T, n] -> float64 [P, k] for the
    k output columns `neurons` (all n if None). NaN rows for identical-input pairs, NaN columns
    for dead neurons. N_x comes from these pairs, N_y per neuron over them. The result takes
    P·k·8 bytes (3.3 GB for P = 50,000, k = 8,192): pass `neurons`, or use `mapping_difficulty`."""
    y = _as_numpy(outputs)
    neurons = None if neurons is None else np.asarray(neurons, np.int64).reshape(-1)
    scaled_dist, valid, _ = _layer_terms(inputs, i, j)
    blocks = [_oi_block(y, i, j, cols, scaled_dist, valid)[0]
              for cols in _neuron_blocks(y.shape[1], len(i), neurons)]
    return np.concatenate(blocks, axis=1) if blocks else np.empty((len(i), 0))


def mapping_difficulty(inputs, outputs, num_pairs, seed, n_x=None, n_y=None):
    """MD of every neuron of a layer: inputs [T, d], outputs [T, n], `num_pairs` seeded pairs
    (50,000 in WD, 1,000 in NC) -> MappingDifficulty. Chunked over neurons, so memory stays
    ~CHUNK_BYTES at P = 50,000, n = 8,192.

    n_x (float) and n_y [n]: fixed normalisers instead of those of these pairs, e.g. a neuron's
    global ones when MD is taken inside a cluster of its tokens (weighted MD, WD-F5c)."""
    x, y = _as_numpy(inputs), _as_numpy(outputs)
    if len(x) != len(y):
        raise ValueError(f"inputs have {len(x)} tokens but outputs have {len(y)}")
    i, j = sample_pairs(len(x), num_pairs, seed)
    scaled_dist, valid, n_x = _layer_terms(x, i, j, n_x)
    fixed = None if n_y is None else np.asarray(n_y, dtype=np.float64).reshape(-1)
    if fixed is not None and fixed.size != y.shape[1]:
        raise ValueError(f"n_y has {fixed.size} normalisers for {y.shape[1]} neurons")
    md, n_y = np.empty(y.shape[1]), np.empty(y.shape[1])
    for block in _neuron_blocks(y.shape[1], num_pairs):
        ratio, n_y[block] = _oi_block(y, i, j, block, scaled_dist, valid, None if fixed is None else fixed[block])
        md[block] = ratio[valid].mean(0) if valid.any() else np.nan
    return MappingDifficulty(
        md=md, n_y=n_y, n_x=n_x, i=i, j=j,
        n_identical_pairs=int((~valid).sum()),
        n_dead_neurons=int((~(n_y > 0)).sum()),
    )


def io_distances(inputs, outputs, i, j, neuron):
    """One neuron's normalized input and output distances over the pairs (i, j), the points of its IO
    scatter: (‖Δx‖ / N_x in [0, 1], |Δy| / N_y), each float64 [P]. Identical-input pairs give (0, 0); a
    dead neuron gives NaN outputs."""
    scaled_dist, valid, _ = _layer_terms(inputs, i, j)
    y = _as_numpy(outputs)[:, neuron].astype(np.float64)
    dy = np.abs(y[i] - y[j])
    n_y = np.median(dy[valid]) if valid.any() else np.nan
    return scaled_dist, dy / n_y if n_y > 0 else np.full(len(dy), np.nan)
