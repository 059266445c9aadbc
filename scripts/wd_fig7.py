"""WD-F7: which neuron statistic predicts Sparse Expansion's relative improvement (RI) over SparseGPT?

Detail layer of the GELU model: per-neuron RI (ratio, K experts vs SparseGPT at the same sparsity, held-out
tokens) against WD to N(0,1), output mean, output variance and the BIC-optimal GMM component count.
"""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import r2_contrast
from entangle.disentangle.predictors import PREDICTORS, predictor_fits
from entangle.disentangle.records import context
from entangle.io import read_json, save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure


def main(neurons: str, summary: str, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    table = pd.read_csv(neurons)
    info = read_json(summary)
    settings = info["settings"]
    record = context(table)
    fits = predictor_fits(table, "ri", PREDICTORS)
    ok = np.isfinite(table[["ri", *PREDICTORS]].to_numpy(dtype=np.float64)).all(axis=1)
    used = table[ok]
    wn = used["is_wn"].astype(str).str.lower().eq("true").to_numpy()

    fig, axes = figure(1, 4, width=3.0, height=3.0, sharey=True)
    rng = np.random.default_rng(record.get("seed", 0))
    for ax, letter, fit in zip(axes[0], "abcd", fits.itertuples()):
        x = used[fit.statistic].to_numpy(dtype=np.float64)
        shown = x + rng.uniform(-0.15, 0.15, x.size) if fit.statistic == "gmm_components" else x  # jitter: display only
        y = used["ri"].to_numpy(dtype=np.float64)
        ax.scatter(shown[~wn], y[~wn], s=6, alpha=0.5, lw=0, color=PALETTE["other"], label="other neurons")
        ax.scatter(shown[wn], y[wn], s=10, alpha=0.9, lw=0, color=PALETTE["wasserstein"],
                   label=f"top {info['wn_percent']:g}% WD")
        if np.isfinite(fit.slope):
            grid = np.linspace(x.min(), x.max(), 50)
            ax.plot(grid, fit.intercept + fit.slope * grid, color="k", lw=1.2, label="OLS fit")
        ax.set(xlabel=fit.label, title=f"({letter}) {fit.label}: $R^2$ = {fit.r2:.3f}")
        if fit.statistic == "gmm_components":
            ax.set_xticks(range(1, int(x.max()) + 1))
    axes[0, 0].set_ylabel("RI (RMSE of SparseGPT / of SE)")
    axes[0, 0].legend(loc="upper left", fontsize="x-small", framealpha=0.9)
    caption(fig, "WD-F7", f"what predicts Sparse Expansion's gain, {record['model']} layer {record['layer']} "
            f"{record['matrix']}-projection, {len(used):,} neurons, K = {info['num_clusters']} at "
            f"{info['sparsity']:.0%} "
            f"sparsity ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    out = fits.assign(target="ri", sparsity=info["sparsity"], num_clusters=info["num_clusters"],
                      gmm_max_components=settings["gmm_max_components"], gmm_tokens=settings["gmm_tokens"])
    out = pd.concat([pd.DataFrame([record] * len(out)), out], axis=1)
    write_table(out, csv, markdown)
    by = fits.set_index("statistic")
    values = {f"r2_{'gmm' if s == 'gmm_components' else s}": by.loc[s, "r2"] for s in PREDICTORS}
    values.update({f"spearman_{'gmm' if s == 'gmm_components' else s}": by.loc[s, "spearman"] for s in PREDICTORS})
    values.update(slope_wd=by.loc["wd", "slope"], neurons=int(ok.sum()), median_ri=float(used["ri"].median()),
                  r2_wd_minus_best_other=r2_contrast(table, "ri", list(PREDICTORS)),  # claim 17, neurons redrawn
                  best_other=max((s for s in PREDICTORS if s != "wd"), key=lambda s: by.loc[s, "r2"]))
    write_claim_values(claims, "WD-F7", scale, {17: values},
                       context={**record, "sparsity": info["sparsity"], "num_clusters": info["num_clusters"],
                                "gmm_max_components": settings["gmm_max_components"],
                                "gmm_tokens": settings["gmm_tokens"], "ri": "ratio RMSE(SparseGPT)/RMSE(SE)"})


if __name__ == "__main__":
    run(main)
