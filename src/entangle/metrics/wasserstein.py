"""Per-neuron 1-Wasserstein distance to N(0, 1) (WD Eq. 1; NC §2).

A layer's captured pre-activations are a matrix `outputs` [T tokens, n neurons] (numpy or torch,
any float dtype). Each column is standardized (mean 0, population std, ddof=0) and compared with
N(0, 1) itself:

    W1 = ∫_0^1 |F_n^{-1}(u) − Φ^{-1}(u)| du = ∫ |F_n(x) − Φ(x)| dx     (units: standard deviations)

Three estimators, all returning float64 numpy [n], NaN for dead (zero-variance) neurons:
- `wd_exact`: closed form per quantile interval, float64, O(T log T) per neuron. The reference.
- `wd_fast`: per-neuron histograms with per-bin sums (numba), ~100x faster than the SciPy loop; within
  TOLERANCE = 1e-4 of `wd_exact` on every input: each neuron carries a rigorous error bound, and a
  neuron whose bound exceeds the tolerance (tied or discrete values, or the many small sign changes of
  near-Gaussian outputs) has every bin where its error can arise integrated exactly from its sorted
  values. Typically ~1e-6 at T = 65,536.
- `wd_scipy_sample`: the authors' estimator, SciPy against one seeded N(0, 1) sample of size T.
"""

import logging
import math

import numpy as np
from numba import njit, prange
from scipy import stats
from scipy.special import ndtr, ndtri

log = logging.getLogger(__name__)

HALF_WIDTH = 6.0  # L: interior histogram range [-L, L) in standard deviations
BIN_WIDTH = 1.0 / 2048  # h: histogram bin width in standard deviations (24,576 bins: ~300 kB, in L2)
CHUNK_BYTES = 2**28  # working-memory budget of the vectorized float64 paths
BUFFER_BYTES = 2**27  # scratch for transposed columns in wd_fast
TOLERANCE = 1e-4  # wd_fast's promise: |wd_fast - wd_exact| <= TOLERANCE for every neuron


def _as_numpy(outputs):
    """numpy or torch [T, n] -> C-contiguous numpy float32/float64 [T, n].

    A torch tensor is recognised by its methods, so this module never imports torch (analysis jobs don't).
    """
    if hasattr(outputs, "detach") and hasattr(outputs, "cpu"):  # torch.Tensor
        outputs = outputs.detach().cpu()
        if str(outputs.dtype) not in ("torch.float32", "torch.float64"):
            outputs = outputs.float()
        outputs = outputs.numpy()
    x = np.asarray(outputs)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"outputs must be [tokens >= 1, neurons], got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    return np.ascontiguousarray(x)


def _phi(x):
    """N(0, 1) density."""
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _standardize(x):
    """[T, c] -> (z float64 [T, c] with dead columns set to 0, dead bool [c]).

    Shifting by the first row first makes constant columns exactly 0, hence dead.
    """
    x = x.astype(np.float64)
    x -= x[0]
    x -= x.mean(0)
    sd = np.sqrt((x * x).mean(0))
    dead = sd == 0
    x /= np.where(dead, 1.0, sd)
    return x, dead


def _column_chunks(n, rows):
    """Neuron slices sized so that ~8 float64 temporaries [rows, chunk] fit in CHUNK_BYTES."""
    step = max(1, CHUNK_BYTES // (64 * max(1, rows)))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def count_dead(outputs):
    """Number of zero-variance neurons in `outputs` [T, n] (their WD is NaN)."""
    x = _as_numpy(outputs)
    return int((x.max(0) == x.min(0)).sum())


def _log_dead(wd):
    dead = int(np.isnan(wd).sum())
    if dead:
        log.warning("%d of %d neurons are dead (zero variance or non-finite); their WD is NaN", dead, len(wd))


def _exact_sorted(z):
    """Exact W1 of sorted standardized columns z [T, c] (float64) to N(0, 1) -> [c].

    Over u in [(i-1)/T, i/T] the integrand |x_(i) − Φ^{-1}(u)| splits at c = Φ(x_(i)); with
    G(u) = ∫Φ^{-1} = −φ(Φ^{-1}(u)) (G(0) = G(1) = 0) each piece is closed form.
    """
    t = z.shape[0]
    u = np.arange(t + 1, dtype=np.float64) / t
    g = -_phi(ndtri(u))
    g[0] = g[-1] = 0.0
    u0, u1, g0, g1 = u[:-1, None], u[1:, None], g[:-1, None], g[1:, None]
    c = ndtr(z)
    below, above = c <= u0, c >= u1
    gc = np.where(below, g0, np.where(above, g1, -_phi(z)))
    c = np.clip(c, u0, u1)
    return (z * (c - u0) - (gc - g0) + (g1 - gc) - z * (u1 - c)).sum(0)


def wd_exact(outputs):
    """Reference W1 to N(0, 1) per neuron, closed form in float64.

    outputs: [T, n] numpy/torch. Returns float64 [n] (std units); NaN for dead neurons.
    Sorts each column: O(T log T) per neuron, chunked over neurons to bound memory.
    """
    x = _as_numpy(outputs)
    wd = np.empty(x.shape[1])
    for s in _column_chunks(x.shape[1], x.shape[0]):
        z, dead = _standardize(x[:, s])
        z.sort(axis=0)
        wd[s] = np.where(dead | ~np.isfinite(z).all(0), np.nan, _exact_sorted(z))
    _log_dead(wd)
    return wd


def wd_scipy_sample(outputs, seed=0):
    """The authors' estimator: scipy.stats.wasserstein_distance(z_neuron, g) per neuron, with one
    sample g ~ N(0, 1) of size T from np.random.default_rng(seed), shared by all neurons.

    outputs: [T, n]. Returns float64 [n]; NaN for dead neurons. Sampling noise ~1e-3 at T ~ 3e5.
    """
    x = _as_numpy(outputs)
    g = np.random.default_rng(seed).standard_normal(x.shape[0])
    wd = np.full(x.shape[1], np.nan)
    for s in _column_chunks(x.shape[1], x.shape[0]):
        z, dead = _standardize(x[:, s])
        for k in np.flatnonzero(~dead):
            wd[s.start + k] = stats.wasserstein_distance(z[:, k], g)
    _log_dead(wd)
    return wd


@njit(parallel=True, cache=True)
def _transpose(x, j0, out):
    """out[c, r] = x[r, j0 + c] for r < T, c < out.shape[0]; parallel over row blocks.

    Rows of x are read contiguously; out's row stride must not be a multiple of 4 KiB
    (cache-set aliasing), see `_column_buffer`.
    """
    t, w = x.shape[0], out.shape[0]
    for rb in prange((t + 255) // 256):
        for r in range(rb * 256, min(t, rb * 256 + 256)):
            for c in range(w):
                out[c, r] = x[r, j0 + c]


def _column_buffer(t, n, dtype):
    """Scratch [c, stride] for up to BUFFER_BYTES of transposed columns (c a multiple of 16 if
    possible, so rows of x are read in whole cache lines), stride ≡ 16 mod 1024."""
    stride = -(-t // 1024) * 1024 + 16
    c = max(1, min(n, BUFFER_BYTES // (stride * dtype.itemsize)))
    return np.empty((c - c % 16 if c > 16 else c, stride), dtype)


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _shifted_moments(col):
    """(Σd, Σd²) in float64 with d = col − col[0], col [T]."""
    s1 = s2 = 0.0
    c0 = np.float64(col[0])
    for i in range(col.shape[0]):
        d = np.float64(col[i]) - c0
        s1 += d
        s2 += d * d
    return s1, s2


@njit(cache=True)
def _histogram(col, a, b, nbins):
    """Histogram of q = a·col + b = (z + L) / h for one neuron, col [T].

    Returns count (int32) and sum of q (float64), each [nbins+2]: bin 0 holds q < 0 (z < −L),
    bin nbins+1 holds q ≥ nbins (z ≥ L), bin k in 1..nbins holds q in [k−1, k).
    """
    count = np.zeros(nbins + 2, np.int32)
    total = np.zeros(nbins + 2)
    top = float(nbins)
    for i in range(col.shape[0]):
        q = a * col[i] + b
        k = int(min(max(q, -1.0), top) + 1.0)
        count[k] += 1
        total[k] += q
    return count, total


@njit(cache=True)
def _cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True)
def _cdf_integral(x):
    """∫_{−∞}^x Φ = x Φ(x) + φ(x)."""
    return x * _cdf(x) + math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _gap(f, u, v):
    """∫_u^v |f − Φ(x)| dx for a constant f and u ≤ v (std units); Φ = f is found by bisection."""
    if _cdf(u) >= f or _cdf(v) <= f:
        return abs(f * (v - u) - (_cdf_integral(v) - _cdf_integral(u)))
    lo, hi = u, v
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _cdf(mid) < f:
            lo = mid
        else:
            hi = mid
    x = 0.5 * (lo + hi)
    return f * (2 * x - u - v) - 2 * _cdf_integral(x) + _cdf_integral(u) + _cdf_integral(v)


@njit(cache=True)
def _hist_w1(count, total, t, half_width, h, cdf, pint, tail, marked, threshold):
    """W1 and its error bound from one neuron's histogram (see `_histogram`) of t values.

    cdf[k] = Φ(e_k), pint[k] = e_k Φ(e_k) + φ(e_k) at the edges e_k = −L + k h (so
    ∫_a^b Φ = pint(b) − pint(a)); tail = ∫_L^∞ (1 − Φ) = ∫_{−∞}^{−L} Φ. Per bin,
    ∫_a^b F_n = h F_n(a) + (1/t) Σ_{x_i in bin} (b − x_i) is exact, so |∫(F_n − Φ)| is exact
    unless F_n − Φ changes sign in the bin; there the error is ≤ 2h·AB/(A+B) with
    A = F_n(b⁻) − Φ(a) > 0, B = Φ(b) − F_n(a) > 0. Such bins are integrated exactly if empty;
    if their bound exceeds `threshold` they are left out and their indices written to marked[:m]
    (threshold 0: every non-empty sign-change bin).
    Returns (w1 without them, bound without them, m).
    """
    nbins = count.shape[0] - 2
    lo = -total[0] * h / t - tail  # ∫_{−∞}^{−L} (F_n − Φ)
    hi = tail - (total[nbins + 1] - nbins * count[nbins + 1]) * h / t  # ∫_L^∞ (F_n − Φ)
    w1 = abs(lo) + abs(hi)
    bound = 4.0 * tail  # F_n − Φ ≥ −Φ below −L and ≤ 1 − Φ above L
    m = 0
    fa = count[0] / t
    for k in range(1, nbins + 1):
        fb = fa + count[k] / t
        big_a, big_b = fb - cdf[k - 1], cdf[k] - fa
        beta = 2.0 * h * big_a * big_b / (big_a + big_b) if big_a > 0.0 and big_b > 0.0 else 0.0
        if beta > 0.0 and count[k] == 0:  # F_n is constant here: integrate exactly
            w1 += _gap(fa, -half_width + (k - 1) * h, -half_width + k * h)
        elif beta > threshold:
            marked[m] = k
            m += 1
        else:
            w1 += abs(h * fa + (k * count[k] - total[k]) * h / t - (pint[k] - pint[k - 1]))
            bound += beta
        fa = fb
    return w1, bound, m


@njit(cache=True)
def _exact_bins(col, a, b, count, marked, t, h, half_width):
    """Exact Σ over the interior bins `marked` (increasing) of ∫|F_n − Φ|, from the sorted values
    of one neuron's column col [T] that fall in them (q = a·col + b as in `_histogram`)."""
    nbins = count.shape[0] - 2
    flag = np.zeros(nbins + 2, np.bool_)
    size = 0
    for k in marked:
        flag[k] = True
        size += count[k]
    q = np.empty(size)
    i = 0
    for r in range(col.shape[0]):
        v = a * col[r] + b
        if flag[int(min(max(v, -1.0), float(nbins)) + 1.0)]:
            q[i] = v
            i += 1
    q.sort()
    cum = np.cumsum(count)
    w1, i = 0.0, 0
    for k in marked:
        left, right = -half_width + (k - 1) * h, -half_width + k * h
        f, prev = cum[k - 1] / t, left
        for _ in range(count[k]):
            x = min(max(-half_width + q[i] * h, left), right)
            if x > prev:
                w1 += _gap(f, prev, x)
                prev = x
            f, i = f + 1.0 / t, i + 1
        w1 += _gap(f, prev, right)
    return w1


@njit(parallel=True, cache=True)
def _wd_columns(cols, t, half_width, h, cdf, pint, tail, tol, w1, bound):
    """Histogram W1 of each column cols[c, :t] into w1[c] and its error bound into bound[c]
    (NaN if the column is dead or not finite). Sign-change bins whose bound exceeds h² are
    integrated exactly; if the remaining bound still exceeds `tol` (many small sign changes, as
    near-Gaussian outputs have), every sign-change bin is, leaving only the tails' < 1e-9."""
    nbins = cdf.shape[0] - 1
    for c in prange(cols.shape[0]):
        col = cols[c, :t]
        s1, s2 = _shifted_moments(col)
        mean, var = s1 / t, s2 / t - (s1 / t) ** 2
        if not (var > 0.0 and np.isfinite(var)):
            w1[c] = bound[c] = np.nan
            continue
        a = 1.0 / (h * np.sqrt(var))
        b = half_width / h - (col[0] + mean) * a
        count, total = _histogram(col, a, b, nbins)
        marked = np.empty(nbins, np.int64)
        w1[c], bound[c], m = _hist_w1(count, total, t, half_width, h, cdf, pint, tail, marked, h * h)
        if bound[c] > tol:
            w1[c], bound[c], m = _hist_w1(count, total, t, half_width, h, cdf, pint, tail, marked, 0.0)
        if m:
            w1[c] += _exact_bins(col, a, b, count, marked[:m], t, h, half_width)


def wd_fast(outputs, tol=TOLERANCE, return_bound=False):
    """W1 to N(0, 1) per neuron from histograms (numba, parallel over neurons).

    outputs: [T, n] numpy/torch, float32 read as is. Returns float64 [n] (std units), NaN for
    dead neurons; with return_bound=True also a rigorous per-neuron error bound [n].

    Method: blocks of columns are transposed into a scratch buffer; per neuron, one pass gives
    the moments (float64) and one pass a histogram of z on [−6, 6) with bin width h = 1/2048 plus
    two tail bins, holding per-bin count and sum of values (float64). ∫(F_n − Φ) over each bin is
    then exact, so W1 = Σ_bins |∫(F_n − Φ)| is exact except in bins where F_n − Φ changes sign.
    Such a bin errs by at most 2h·AB/(A+B) ≤ h(ΔF_n + ΔΦ)/2, with A = F_n(b⁻) − Φ(a),
    B = Φ(b) − F_n(a); bins where this exceeds h² (concentrated mass, e.g. a spike of repeated
    values) are integrated exactly from their sorted values, empty bins directly. The returned bound is the sum over
    the remaining bins plus < 1e-9 for the tails. A bin holding about its Gaussian mass adds
    ≤ 0.46 h² ≈ 1e-7 to the bound and far less to the error: ~1e-6 per neuron at T = 65,536
    (benchmarks/bench_wasserstein.py). A neuron whose bound still exceeds `tol` (default TOLERANCE):
    spikes of tied values, or near-Gaussian outputs whose F_n crosses Φ in hundreds of bins) has every
    sign-change bin integrated exactly, so its error is that of the tails (< 1e-9); the error is ≤ tol
    on every input. tol=None returns the histogram values as they are (benchmarks). Cost: ~0.4 s CPU
    for 65,536 x 2,048 float32 (more where sign-change bins are sorted), plus BUFFER_BYTES of scratch.
    """
    x = _as_numpy(outputs)
    e = -HALF_WIDTH + BIN_WIDTH * np.arange(round(2 * HALF_WIDTH / BIN_WIDTH) + 1)
    cdf = ndtr(e)
    pint = e * cdf + _phi(e)
    tail = float(_phi(HALF_WIDTH) - HALF_WIDTH * ndtr(-HALF_WIDTH))
    t, n = x.shape
    wd, bound = np.empty(n), np.empty(n)
    buf = _column_buffer(t, n, x.dtype)
    for j0 in range(0, n, len(buf)):
        cols = buf[: min(len(buf), n - j0)]
        _transpose(x, j0, cols)
        s = slice(j0, j0 + len(cols))
        _wd_columns(cols, t, HALF_WIDTH, BIN_WIDTH, cdf, pint, tail, np.inf if tol is None else tol, wd[s],
                    bound[s])
    if tol is not None and (redo := bound > tol).any():  # a guard: the kernel leaves only the tails' < 1e-9
        log.warning("wd_fast: %d of %d neurons recomputed exactly", int(redo.sum()), len(wd))
        wd[redo] = wd_exact(x[:, redo])
        bound[redo] = 0.0
    _log_dead(wd)
    return (wd, bound) if return_bound else wd


def wasserstein_to_gaussian(outputs, method="fast", seed=0):
    """Per-neuron W1 to N(0, 1): outputs [T, n] -> float64 [n] (NaN for dead neurons).

    method: "fast" (`wd_fast`), "exact" (`wd_exact`) or "scipy_sample" (`wd_scipy_sample`, uses seed).
    """
    if method == "fast":
        return wd_fast(outputs)
    if method == "exact":
        return wd_exact(outputs)
    if method == "scipy_sample":
        return wd_scipy_sample(outputs, seed)
    raise ValueError(f"unknown WD method {method!r}; use 'fast', 'exact' or 'scipy_sample'")
