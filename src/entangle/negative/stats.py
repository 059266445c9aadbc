"""Statistics of the clamp ablation (NC §2.4; NC-F4 panels e, f, claim 31).

The paper states no test; here: per-window NLL, >= 10 random seeds, a stated test, mean ± SEM. All
conditions are evaluated on the same windows, so comparisons are paired over windows:
- primary: Wilcoxon signed-rank (two-sided) on per-window NLL, top-p clamp vs the random clamp
  averaged over seeds; effect sizes: matched-pairs rank-biserial correlation and Cohen's d_z;
- per seed: the same test against each random seed (the largest p and smallest effect are reported);
- across seeds: one-sample t-test of the random seeds' perplexities against the top-p perplexity,
  with z = (PPL_top − mean PPL_random) / sd, and the empirical p (1 + #{random ≥ top}) / (n + 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from entangle.evaluation.contrasts import window_contrast
from entangle.evaluation.ppl import perplexity

TEST = ("Wilcoxon signed-rank, two-sided, paired over evaluation windows: per-window NLL with the top-p% "
        "clamped vs the mean over seeds of the random clamps")
# The statistics of one percent that the sweep table keeps (beside the run's provenance).
SWEEP_COLUMNS = ("baseline_ppl", "top_ppl", "top_ppl_sem", "random_ppl_mean", "random_ppl_sem", "random_ppl_min",
                 "random_ppl_max", "increase_top", "increase_top_sem", "increase_random", "ratio_of_increases",
                 "p_wilcoxon", "rank_biserial", "cohens_dz", "p_wilcoxon_max_over_seeds", "p_ttest_across_seeds",
                 "z_across_seeds", "p_empirical")


def ppl_sem(nll: np.ndarray) -> float:
    """SEM of the perplexity over windows by the delta method: PPL × SEM(per-window NLL)."""
    nll = np.asarray(nll, dtype=np.float64)
    return perplexity(nll) * float(np.std(nll, ddof=1) / math.sqrt(nll.size)) if nll.size > 1 else float("nan")


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


def ratio_of_increases(baseline, top, random_mean) -> np.ndarray:
    """(PPL_top − PPL_base) / (mean PPL_random − PPL_base), elementwise over floats or arrays [B].

    NaN where the random clamp does not raise perplexity (a ratio over a non-increase says nothing).
    """
    denom = random_mean - baseline
    return np.where(denom > 0, (top - baseline) / np.where(denom > 0, denom, 1.0), np.nan)


def ratio_of_increases_rows(ppl: np.ndarray, base: int, top: int, others) -> np.ndarray:
    """`ratio_of_increases` per row of perplexities [B, C]: columns `base`, `top`, and `others` (e.g. the
    random seeds) averaged; the statistic a bootstrap over windows recomputes per replicate."""
    return ratio_of_increases(ppl[:, base], ppl[:, top], ppl[:, list(others)].mean(1))


def point_ratio_of_increases(baseline: float, top: float, random_mean: float) -> float:
    """`ratio_of_increases` of one measurement, except inf where only the top-p clamp raises perplexity."""
    if random_mean - baseline <= 0:
        return float("inf") if top > baseline else float("nan")
    return float(ratio_of_increases(baseline, top, random_mean))


def increase_sem(clamped: np.ndarray, baseline: np.ndarray) -> float:
    """SEM of PPL_clamped − PPL_base over windows, paired: PPL_base × SEM(per-window NLL difference)."""
    d = np.asarray(clamped, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    return perplexity(baseline) * float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")


def significance_stars(p: float) -> str:
    """The paper's convention: *** p ≤ 1e-4, ** p ≤ 1e-3, * p ≤ 0.05, n.s. otherwise."""
    if not np.isfinite(p):
        return "n/a"
    return "***" if p <= 1e-4 else "**" if p <= 1e-3 else "*" if p <= 0.05 else "n.s."


def summarize_percent(baseline: np.ndarray, top: np.ndarray, random: np.ndarray) -> dict:
    """Every statistic for one percent: per-window NLL baseline [N], top [N], random [n_seeds, N]."""
    random = np.atleast_2d(np.asarray(random, dtype=np.float64))
    base_ppl, top_ppl = perplexity(baseline), perplexity(top)
    random_ppls = np.array([perplexity(r) for r in random])
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
        "ratio_of_increases": point_ratio_of_increases(base_ppl, top_ppl, seeds["random_mean"]),
        "p_wilcoxon": primary["p"], "rank_biserial": primary["rank_biserial"], "cohens_dz": primary["cohens_dz"],
        "p_wilcoxon_max_over_seeds": max(t["p"] for t in per_seed),
        "rank_biserial_min_over_seeds": min(t["rank_biserial"] for t in per_seed),
        "p_ttest_across_seeds": seeds["ttest_p"], "z_across_seeds": seeds["z"], "p_empirical": seeds["empirical_p"],
        "p_top_vs_baseline": vs_base["p"], "p_random_vs_baseline": random_vs_base["p"],
        "n_seeds": seeds["n_seeds"], "windows": primary["n"], "random_ppls": random_ppls.tolist(),
    }


def clamp_sweep(runs: list[tuple[pd.DataFrame, dict]], dataset: str) -> tuple[list, dict]:
    """Table rows and per-percent statistics of one model's clamp jobs.

    runs: per job, its per-window NLL table (columns condition baseline | top_wd | random, percent,
    repetition, window, nll) and its summary JSON. Returns the sweep table's rows and, per percent,
    `summarize_percent` with the job's summary, selection and per-window NLL [2 + seeds, windows]
    (rows: baseline, top-p, each random seed).
    """
    rows, per = [], {}
    for frame, s in runs:
        base = frame.query("condition == 'baseline'").sort_values("window")["nll"].to_numpy()
        for key, sel in s["percents"].items():
            p = float(sel["percent"])
            part = frame[np.isclose(frame["percent"], p)]
            topc = part.query("condition == 'top_wd'").sort_values("window")["nll"].to_numpy()
            rand = (part.query("condition == 'random'").pivot(index="repetition", columns="window", values="nll")
                    .sort_index().to_numpy())
            summary = summarize_percent(base, topc, rand)
            per[p] = {**summary, "summary": s, "selection": sel, "window_nll": np.vstack([base, topc, rand])}
            counts = [sel["neurons_per_layer"][k] for k in sorted(sel["neurons_per_layer"], key=int)]
            rows.append({
                "model": s["model"], "model_id": s["model_id"], "revision": s["revision"], "dataset": dataset,
                "matrix": s.get("matrix", "up"), "activation": s["activation"], "clamp": s["clamp"],
                "split": s["split"], "wd_split": s["wd_split"], "windows": s["windows"],
                "window_tokens": s["window_tokens"], "tokens": s["tokens"], "seed": s["seed"],
                "random_seeds": s["random_seeds"], "percent": p,
                "neurons_per_layer": "/".join(map(str, counts)), "neurons_total": sel["neurons_total"],
                **{k: summary[k] for k in SWEEP_COLUMNS}, "significance": significance_stars(summary["p_wilcoxon"]),
                "test": TEST})
    return rows, per


def ablation_values(h: dict, percent: float, name: str, paper: dict) -> dict:
    """Claim 31's values at the headline percent: the clamp's perplexity increase against the random control.

    h: `clamp_sweep`'s statistics of that percent; paper: the paper's baseline_ppl, top5_ppl and p_value.
    The ratio of increases gets an interval with the evaluation windows redrawn, paired across conditions.
    """
    return {"model": name, "percent": percent, "baseline_ppl": h["baseline_ppl"], "clamped_ppl": h["top_ppl"],
            "random_ppl_mean": h["random_ppl_mean"], "random_ppl_sem": h["random_ppl_sem"],
            "increase_top": h["increase_top"], "increase_random": h["increase_random"],
            "ratio_of_increases": window_contrast(
                lambda ppl: ratio_of_increases_rows(ppl, 0, 1, range(2, 2 + h["n_seeds"])), h["window_nll"]),
            "ratio_of_increases_point": h["ratio_of_increases"], "p_value": h["p_wilcoxon"],
            "rank_biserial": h["rank_biserial"], "cohens_dz": h["cohens_dz"],
            "p_wilcoxon_max_over_seeds": h["p_wilcoxon_max_over_seeds"],
            "p_ttest_across_seeds": h["p_ttest_across_seeds"], "z_across_seeds": h["z_across_seeds"],
            "n_seeds": h["n_seeds"], "neurons_total": h["selection"]["neurons_total"],
            "matrix": h["summary"].get("matrix", "up"),
            "paper_baseline_ppl": paper["baseline_ppl"], "paper_clamped_ppl": paper["top5_ppl"],
            "paper_p_value": paper["p_value"]}
