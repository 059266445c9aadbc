"""WD-F7: which neuron statistic predicts Sparse Expansion's relative improvement (RI) over SparseGPT?

Detail layer of the GELU model: per-neuron RI (ratio, K experts vs SparseGPT at the same sparsity, held-out
tokens) against WD to N(0,1), output mean, output variance and the BIC-optimal GMM component count.
With a gated-FFN model (role `gated`), the same for its detail layer (the same matrix) in a second figure row,
table rows (column `model`) and claim 17 under `by_model`.
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


def _analyse(neurons: str, summary: str) -> dict:
    """The four OLS fits of RI, the neurons they use, and claim 17's values."""
    table = pd.read_csv(neurons)
    info = read_json(summary)
    fits = predictor_fits(table, "ri", PREDICTORS)
    ok = np.isfinite(table[["ri", *PREDICTORS]].to_numpy(dtype=np.float64)).all(axis=1)
    by = fits.set_index("statistic")
    values = {f"r2_{'gmm' if s == 'gmm_components' else s}": by.loc[s, "r2"] for s in PREDICTORS}
    values.update({f"spearman_{'gmm' if s == 'gmm_components' else s}": by.loc[s, "spearman"] for s in PREDICTORS})
    values.update(slope_wd=by.loc["wd", "slope"], neurons=int(ok.sum()), median_ri=float(table[ok]["ri"].median()),
                  r2_wd_minus_best_other=r2_contrast(table, "ri", list(PREDICTORS)),  # claim 17, neurons redrawn
                  best_other=max((s for s in PREDICTORS if s != "wd"), key=lambda s: by.loc[s, "r2"]))
    return {"table": table, "info": info, "fits": fits, "used": table[ok], "record": context(table), "values": values}


def _panels(axes, a: dict, row: int, seed: int) -> None:
    """RI against each predictor, WNs highlighted, with the OLS line; panel letters a-d (row 0) or e-h (row 1)."""
    used, fits, info, record = a["used"], a["fits"], a["info"], a["record"]
    wn = used["is_wn"].astype(str).str.lower().eq("true").to_numpy()
    rng = np.random.default_rng(seed)
    letters = "abcd" if row == 0 else "efgh"
    for ax, letter, fit in zip(axes, letters, fits.itertuples()):
        x = used[fit.statistic].to_numpy(dtype=np.float64)
        shown = x + rng.uniform(-0.15, 0.15, x.size) if fit.statistic == "gmm_components" else x  # jitter: display only
        y = used["ri"].to_numpy(dtype=np.float64)
        ax.scatter(shown[~wn], y[~wn], s=6, alpha=0.5, lw=0, color=PALETTE["other"], label="other neurons")
        ax.scatter(shown[wn], y[wn], s=10, alpha=0.9, lw=0, color=PALETTE["wasserstein"],
                   label=f"top {info['wn_percent']:g}% WD")
        if np.isfinite(fit.slope):
            grid = np.linspace(x.min(), x.max(), 50)
            ax.plot(grid, fit.intercept + fit.slope * grid, color="k", lw=1.2, label="OLS fit")
        ax.set(xlabel=fit.label, title=f"({letter}) {record['model']}\n{fit.label}: $R^2$ = {fit.r2:.3f}")
        if fit.statistic == "gmm_components":
            ax.set_xticks(range(1, int(x.max()) + 1))
    axes[0].set_ylabel("RI (RMSE of SparseGPT / of SE)")
    axes[0].legend(loc="upper left", fontsize="x-small", framealpha=0.9)


def _rows(a: dict) -> pd.DataFrame:
    info, settings = a["info"], a["info"]["settings"]
    out = a["fits"].assign(target="ri", sparsity=info["sparsity"], num_clusters=info["num_clusters"],
                           gmm_max_components=settings["gmm_max_components"], gmm_tokens=settings["gmm_tokens"])
    return pd.concat([pd.DataFrame([a["record"]] * len(out)), out], axis=1)


def _describe(a: dict) -> str:
    r = a["record"]
    return f"{r['model']} layer {r['layer']} {r['matrix']}-projection, {len(a['used']):,} neurons"


def main(neurons: str, summary: str, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str,
         gated_neurons: str | None = None, gated_summary: str | None = None) -> None:
    a = _analyse(neurons, summary)
    g = _analyse(gated_neurons, gated_summary) if gated_neurons else None
    record, info, settings = a["record"], a["info"], a["info"]["settings"]

    fig, axes = figure(2 if g else 1, 4, width=3.0, height=3.0, sharey="row")
    _panels(axes[0], a, 0, record.get("seed", 0))
    if g:
        _panels(axes[1], g, 1, record.get("seed", 0))
    models = _describe(a) + (f" (a-d) and {_describe(g)} (e-h)" if g else "")
    caption(fig, "WD-F7", f"what predicts Sparse Expansion's gain, {models}, K = {info['num_clusters']} at "
            f"{info['sparsity']:.0%} sparsity ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    write_table(pd.concat([_rows(x) for x in (a, g) if x], ignore_index=True), csv, markdown)
    ctx = {**record, "sparsity": info["sparsity"], "num_clusters": info["num_clusters"],
           "gmm_max_components": settings["gmm_max_components"], "gmm_tokens": settings["gmm_tokens"],
           "ri": "ratio RMSE(SparseGPT)/RMSE(SE)"}
    if g:
        ctx.update(gated_model=g["record"]["model"], gated_layer=g["record"]["layer"],
                   gated_matrix=g["record"]["matrix"])
    write_claim_values(claims, "WD-F7", scale, {17: a["values"]}, context=ctx,
                       by_model={g["record"]["model"]: {17: g["values"]}} if g else None)


if __name__ == "__main__":
    run(main)
