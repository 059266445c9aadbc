"""Negative computation (NC §2.4): clamping negative activations, and the ablation's statistics.

Clamp. The reference code applies `clamp(min=0)` to the up-projection's output (the pre-activation)
of the selected neurons, before the activation function. For GELU this is exactly "a ReLU after the
GELU": GELU(x) < 0 ⇔ x < 0 and GELU(0) = 0. `clamp_negative` does it with forward hooks on the
up-projection modules, so the weights are never touched and every other neuron's output is passed
through bit for bit; leaving the context removes the hooks.

Neurons. Per layer, the top-p% by WD with the reference's rule (`WD > np.percentile(WD, 100 - p)`,
`entangle.neurons.selection.top_percent`), and a random control of the same count per layer,
drawn uniformly from all neurons of that layer (as the reference's `np.random.choice`), seeded per
(seed, repetition, layer). The random draw of repetition r in layer l is a prefix of one fixed
permutation, so a smaller p's random set is contained in a larger p's.

Statistics (the paper states no test: per-window NLL, >= 10 random seeds, a stated test, mean ± SEM). All conditions
are evaluated on the same windows, so comparisons are paired over windows:
- primary: Wilcoxon signed-rank (two-sided) on per-window NLL, top-p clamp vs the random clamp
  averaged over seeds; effect sizes: matched-pairs rank-biserial correlation and Cohen's d_z;
- per seed: the same test against each random seed (the largest p and smallest effect are reported);
- across seeds: one-sample t-test of the random seeds' perplexities against the top-p perplexity,
  with z = (PPL_top − mean PPL_random) / sd, and the empirical p (1 + #{random ≥ top}) / (n + 1).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping

import numpy as np
from scipy import special, stats

from entangle.neurons.selection import top_percent

# The FFN activation of each family (as entangle.models.arch.ARCHS, which needs torch; this module is
# also used by the analysis env, which has no torch, so torch is imported only where a model is hooked).
FAMILY_ACTIVATION = {"gpt_neox": "gelu", "opt": "relu", "llama": "silu", "gpt2": "gelu_new"}

# --- clamping ---------------------------------------------------------------------------------------------


def _clamp_hook(mask):
    def hook(_module, _args, output):
        m = mask.to(output.device)
        return output.masked_fill(m & (output < 0), 0.0)
    return hook


@contextlib.contextmanager
def clamp_negative(model, neurons: Mapping[int, np.ndarray], matrix: str = "up") -> Iterator[None]:
    """Within the context, the selected neurons' outputs of `blocks.{layer}.mlp.{matrix}` are clamped at 0.

    neurons: {layer: neuron indices}. Layers absent (or with no neurons) are untouched. The hook
    replaces the module's output by `output.masked_fill(selected & (output < 0), 0)`, so unselected
    neurons and non-negative values pass through unchanged. Weights are never modified.
    """
    import torch

    from entangle.models.arch import arch_of, mlp_matrix, module_weight

    if matrix != "gate" and "gate" in arch_of(model).matrices:
        raise ValueError(f"{arch_of(model).family}: the activation acts on the gate, not on {matrix!r}; "
                         "clamping it would not clamp an activation's negative side")
    handles = []
    try:
        for layer, idx in neurons.items():
            idx = np.asarray(idx, dtype=np.int64)
            if idx.size == 0:
                continue
            module = mlp_matrix(model, int(layer), matrix)
            d_out = module_weight(model, module).shape[0]
            if idx.min() < 0 or idx.max() >= d_out:
                raise IndexError(f"layer {layer}: neuron index out of range 0..{d_out - 1}")
            mask = torch.zeros(d_out, dtype=torch.bool)
            mask[torch.from_numpy(idx)] = True
            handles.append(module.register_forward_hook(_clamp_hook(mask)))
        yield
    finally:
        for h in handles:
            h.remove()


# --- neuron selection ----------------------------------------------------------------------------------


def top_wd_neurons(wd_by_layer: Mapping[int, np.ndarray], percent: float) -> dict[int, np.ndarray]:
    """Per layer, the reference's top-p% WD neurons (strict `>` on the (100 − p)th percentile)."""
    return {layer: top_percent(wd, percent) for layer, wd in wd_by_layer.items()}


def random_permutation(n: int, seed: int, repetition: int, layer: int) -> np.ndarray:
    """A fixed random order of n neurons for (seed, repetition, layer)."""
    return np.random.default_rng(np.random.SeedSequence([seed, repetition, layer])).permutation(n)


def random_like(selection: Mapping[int, np.ndarray], sizes: Mapping[int, int], seed: int,
                repetition: int) -> dict[int, np.ndarray]:
    """Per layer, as many neurons as `selection` has there, uniformly without replacement (sorted)."""
    return {layer: np.sort(random_permutation(sizes[layer], seed, repetition, layer)[: len(idx)])
            for layer, idx in selection.items()}


# --- activations on arrays (panels a-d) ----------------------------------------------------------------


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """The FFN activation (Hugging Face names) on a NumPy array, in float64."""
    x = np.asarray(x, dtype=np.float64)
    if name == "gelu":  # exact (erf) GELU, as GPT-NeoX / Pythia
        return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "silu":
        return x * special.expit(x)
    raise ValueError(f"unknown activation {name!r}; known: gelu, gelu_new, gelu_pytorch_tanh, relu, silu")


# --- statistics ------------------------------------------------------------------------------------------


def ppl(nll: np.ndarray) -> float:
    """exp(mean per-window NLL) (equal-length windows)."""
    return float(math.exp(np.mean(np.asarray(nll, dtype=np.float64))))


def ppl_sem(nll: np.ndarray) -> float:
    """SEM of the perplexity over windows by the delta method: PPL × SEM(per-window NLL)."""
    nll = np.asarray(nll, dtype=np.float64)
    return ppl(nll) * float(np.std(nll, ddof=1) / math.sqrt(nll.size)) if nll.size > 1 else float("nan")


def paired_test(a: np.ndarray, b: np.ndarray) -> dict:
    """Wilcoxon signed-rank test (two-sided) of per-window a vs b, with effect sizes.

    Returns p, statistic, rank_biserial = (W+ − W−)/(W+ + W−) over non-zero differences (positive:
    a > b), cohens_dz = mean(d)/sd(d), mean_diff and n. Identical inputs give p = 1 and zero effects.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    nz = d[d != 0]
    out = {"n": int(d.size), "mean_diff": float(d.mean())}
    if nz.size == 0:
        return {**out, "statistic": 0.0, "p": 1.0, "rank_biserial": 0.0, "cohens_dz": 0.0}
    ranks = stats.rankdata(np.abs(nz))
    w_plus, w_minus = ranks[nz > 0].sum(), ranks[nz < 0].sum()
    res = stats.wilcoxon(nz)
    sd = d.std(ddof=1) if d.size > 1 else 0.0
    return {**out, "statistic": float(res.statistic), "p": float(res.pvalue),
            "rank_biserial": float((w_plus - w_minus) / (w_plus + w_minus)),
            "cohens_dz": float(d.mean() / sd) if sd > 0 else float("inf") * np.sign(d.mean())}


def across_seeds(top: float, random: np.ndarray) -> dict:
    """The top-p perplexity against the random seeds' perplexities [n_seeds]."""
    random = np.asarray(random, dtype=np.float64)
    mean = float(random.mean())
    sd = float(random.std(ddof=1)) if random.size > 1 else float("nan")
    out = {"n_seeds": int(random.size), "random_mean": mean, "random_sd": sd,
           "random_sem": sd / math.sqrt(random.size) if random.size > 1 else float("nan"),
           "empirical_p": (1 + int(np.sum(random >= top))) / (random.size + 1)}
    if random.size > 1 and sd > 0:
        out["ttest_p"] = float(stats.ttest_1samp(random, top).pvalue)
        out["z"] = (top - mean) / sd
    else:
        out["ttest_p"], out["z"] = float("nan"), float("nan")
    return out


def ratio_of_increases(baseline: float, top: float, random_mean: float) -> float:
    """(PPL_top − PPL_base) / (mean PPL_random − PPL_base).

    Only meaningful when the random clamp raises perplexity: if it does not, the ratio is inf when
    the top-p clamp does, else NaN (a ratio of two non-increases says nothing).
    """
    denom = random_mean - baseline
    if denom <= 0:
        return float("inf") if top > baseline else float("nan")
    return (top - baseline) / denom


def increase_sem(clamped: np.ndarray, baseline: np.ndarray) -> float:
    """SEM of PPL_clamped − PPL_base over windows, paired: PPL_base × SEM(per-window NLL difference)."""
    d = np.asarray(clamped, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    return ppl(baseline) * float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")


def significance_stars(p: float) -> str:
    """The paper's convention: *** p ≤ 1e-4, ** p ≤ 1e-3, * p ≤ 0.05, n.s. otherwise."""
    if not np.isfinite(p):
        return "n/a"
    return "***" if p <= 1e-4 else "**" if p <= 1e-3 else "*" if p <= 0.05 else "n.s."


def summarize_percent(baseline: np.ndarray, top: np.ndarray, random: np.ndarray) -> dict:
    """Every statistic for one percent: per-window NLL baseline [N], top [N], random [n_seeds, N]."""
    random = np.atleast_2d(np.asarray(random, dtype=np.float64))
    base_ppl, top_ppl = ppl(baseline), ppl(top)
    random_ppls = np.array([ppl(r) for r in random])
    seeds = across_seeds(top_ppl, random_ppls)
    primary = paired_test(top, random.mean(axis=0))
    per_seed = [paired_test(top, r) for r in random]
    vs_base = paired_test(top, baseline)
    random_vs_base = paired_test(random.mean(axis=0), baseline)
    return {
        "baseline_ppl": base_ppl, "baseline_ppl_sem": ppl_sem(baseline),
        "top_ppl": top_ppl, "top_ppl_sem": ppl_sem(top),
        "random_ppl_mean": seeds["random_mean"], "random_ppl_sem": seeds["random_sem"],
        "random_ppl_min": float(random_ppls.min()), "random_ppl_max": float(random_ppls.max()),
        "increase_top": top_ppl - base_ppl, "increase_top_sem": increase_sem(top, baseline),
        "increase_random": seeds["random_mean"] - base_ppl,
        "ratio_of_increases": ratio_of_increases(base_ppl, top_ppl, seeds["random_mean"]),
        "p_wilcoxon": primary["p"], "rank_biserial": primary["rank_biserial"], "cohens_dz": primary["cohens_dz"],
        "p_wilcoxon_max_over_seeds": max(t["p"] for t in per_seed),
        "rank_biserial_min_over_seeds": min(t["rank_biserial"] for t in per_seed),
        "p_ttest_across_seeds": seeds["ttest_p"], "z_across_seeds": seeds["z"], "p_empirical": seeds["empirical_p"],
        "p_top_vs_baseline": vs_base["p"], "p_random_vs_baseline": random_vs_base["p"],
        "n_seeds": seeds["n_seeds"], "windows": primary["n"], "random_ppls": random_ppls.tolist(),
    }
