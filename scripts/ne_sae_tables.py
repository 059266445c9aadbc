"""NE-T2 and NE-T3: SAE metrics with and without the neuron-embedding loss, mean ± SEM over seeds, the
paper's values beside; claims 35-37 with the measured values."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.bootstrap import Estimate, bootstrap
from entangle.embeddings.claims import jsonable
from entangle.io import markdown_table, read_json, write_json, write_table, write_text

VARIANTS = {"standard": "Standard", "ne": "+ NE Loss"}
# Foote, Tables 2 and 3 (MNIST, one run each)
PAPER_T2 = {"standard": dict(mse=0.33, l1=2600, l0_pct=2.4, acc_loss=1.5),
            "ne": dict(mse=0.55, l1=3300, l0_pct=9.1, acc_loss=4.6)}
PAPER_T3 = {"standard": dict(max_dist=0.45, mean_dist=0.21, size=7, dead_pct=23.8),
            "ne": dict(max_dist=0.28, mean_dist=0.08, size=32, dead_pct=3.7)}
T2 = ["mse", "l1", "l1_total", "l0_pct", "acc_loss", "acc", "acc_sae"]
T3 = ["max_dist", "mean_dist", "size", "dead_pct"]


def sem(v):
    v = np.asarray(v, dtype=float)
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def summarise(runs, metrics, paper):
    rows = []
    first = runs[0]
    for variant, name in VARIANTS.items():
        vals = {m: [next(r for r in run["rows"] if r["variant"] == variant)[m] for run in runs] for m in metrics}
        row = {"variant": name}
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_sem"] = float(np.mean(vals[m])), sem(vals[m])
        row.update({f"paper_{m}": v for m, v in paper[variant].items()})
        coeffs = next(r for r in first["rows"] if r["variant"] == variant)
        row.update(dataset=first["dataset"], split="test", n_test=first["n_test"], n_train=first["n_train"],
                   seeds=" ".join(str(r["seed"]) for r in runs), n_seeds=len(runs),
                   mlp_acc_mean=float(np.mean([r["mlp_acc"] for r in runs])), paper_mlp_acc=94.0,
                   l1_coeff=coeffs["l1_coeff"], ne_coeff=coeffs["ne_coeff"],
                   d_sae=first["sae"]["expansion"] * first["mlp"]["hidden"], warmup_steps=first["sae"]["warmup_steps"])
        rows.append(row)
    return pd.DataFrame(rows)


def compact(df, names):
    """Markdown: mean ± SEM per metric, the paper's value in parentheses, and where the numbers come from."""
    out = pd.DataFrame({"": df["variant"]})
    for m, name in names.items():
        cell = [f"{r[f'{m}_mean']:.4g} ± {r[f'{m}_sem']:.2g}" if np.isfinite(r[f"{m}_sem"]) else f"{r[f'{m}_mean']:.4g}"
                for _, r in df.iterrows()]
        if f"paper_{m}" in df:
            cell = [f"{c} (paper {p:g})" for c, p in zip(cell, df[f"paper_{m}"])]
        out[name] = cell
    r = df.iloc[0]
    return (markdown_table(out) + f"\n\n{r['dataset']}, {r['split']} split ({r['n_test']} images), seeds {r['seeds']} "
            f"(mean ± SEM over {r['n_seeds']}); MLP test accuracy {r['mlp_acc_mean']:.1f}% (paper 94.0%); "
            f"SAE width {r['d_sae']}, λ1 = {r['l1_coeff']:g}, λ2 = {df.iloc[1]['ne_coeff']:g}, "
            f"NE loss on after {r['warmup_steps']} steps.\n")


def measured(df, metric):
    s, n = df.iloc[0], df.iloc[1]
    return {"standard": s[f"{metric}_mean"], "ne": n[f"{metric}_mean"],
            "standard_sem": s[f"{metric}_sem"], "ne_sem": n[f"{metric}_sem"],
            "paper_standard": s.get(f"paper_{metric}"), "paper_ne": n.get(f"paper_{metric}")}


def per_seed(runs, variant, metric) -> np.ndarray:
    """One metric of one SAE variant, per seed: float64 [seeds]."""
    return np.array([next(r for r in run["rows"] if r["variant"] == variant)[metric] for run in runs], dtype=np.float64)


def contrast(runs, metric) -> Estimate:
    """Mean over seeds of (NE-loss SAE − standard SAE), seeds redrawn (paired: both SAEs of a seed share its MLP)."""
    return bootstrap(np.mean, per_seed(runs, "ne", metric) - per_seed(runs, "standard", metric), unit="seeds")


def main(metrics: list, scale: str, t2: str, t2_md: str, t3: str, t3_md: str, t2_claims: str, t3_claims: str) -> None:
    runs = [read_json(p) for p in metrics]
    df2, df3 = summarise(runs, T2, PAPER_T2), summarise(runs, T3, PAPER_T3)
    write_table(df2, t2)
    write_table(df3, t3)
    write_text(t2_md, compact(df2, {"mse": "MSE", "l1": "L1 (per example)", "l1_total": "L1 (test-set sum)",
                                    "l0_pct": "L0 / %", "acc_loss": "Acc. loss / pts"}))
    write_text(t3_md, compact(df3, {"max_dist": "Max dist", "mean_dist": "Mean dist", "size": "Size",
                                    "dead_pct": "Dead / %"}))
    meta = {"scale": scale, "dataset": runs[0]["dataset"], "split": "test", "seeds": [r["seed"] for r in runs],
            "aggregation": "mean over seeds (sem = standard error of the mean)"}
    c35 = {m: measured(df2, m) for m in ("mse", "l1", "l1_total", "l0_pct", "acc_loss")}
    c35["mlp_acc"] = float(df2.iloc[0]["mlp_acc_mean"])
    c35["direction_holds"] = {m: bool(c35[m]["ne"] > c35[m]["standard"]) for m in ("mse", "l1", "l0_pct", "acc_loss")}
    c35.update({f"{m}_ne_minus_standard": contrast(runs, m) for m in ("mse", "l1", "l0_pct", "acc_loss")})
    write_json(t2_claims, jsonable({"item": "NE-T2", **meta, "claims": {"35": c35}}))
    c36 = {m: measured(df3, m) for m in ("max_dist", "mean_dist", "size")}
    c36["direction_holds"] = {"max_dist": bool(c36["max_dist"]["ne"] < c36["max_dist"]["standard"]),
                              "mean_dist": bool(c36["mean_dist"]["ne"] < c36["mean_dist"]["standard"]),
                              "size": bool(c36["size"]["ne"] > c36["size"]["standard"])}
    c36.update({f"{m}_ne_minus_standard": contrast(runs, m) for m in ("max_dist", "mean_dist", "size")})
    c37 = {"dead_pct": measured(df3, "dead_pct")}
    dead = c37["dead_pct"]
    c37["reduction_factor"] = bootstrap(lambda s, n: s.mean() / n.mean() if n.mean() > 0 else np.nan,  # seeds redrawn
                                        per_seed(runs, "standard", "dead_pct"), per_seed(runs, "ne", "dead_pct"),
                                        unit="seeds")
    c37["direction_holds"] = bool(dead["ne"] < dead["standard"])
    c37["more_than_6x"] = bool(c37["reduction_factor"].value is not None and c37["reduction_factor"].value > 6)
    write_json(t3_claims, jsonable({"item": "NE-T3", **meta, "claims": {"36": c36, "37": c37}}))


if __name__ == "__main__":
    run(main)
