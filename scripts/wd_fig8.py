"""WD-F8 (b, c): empirical bounds of sparse computation under entanglement; every Sparse Expansion cluster, every layer.

x = PCA components reaching `pca_variance` of the cluster's held-out inputs (effective features);
y = the cluster's expert RMSE over all neurons, relative to the layer's dense-output std (b), and its
improvement over SparseGPT on the same tokens (c). Log-log; (b) with its lower envelope (binned minima)
and the line through it, (c) with its upper envelope.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _runner import run
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import frontier_slope
from entangle.disentangle.predictors import frontier
from entangle.disentangle.records import CONTEXT, context
from entangle.io import save_figure, write_table
from entangle.plotting.style import caption, figure

PANELS = {"rmse_expert": ("b", "lower", "expert RMSE / dense-output std"),
          "improvement": ("c", "upper", "improvement over SparseGPT (RMSE ratio)")}


def _log_axis(axis, lo: float, hi: float) -> None:
    """Log scale with plain-number ticks; denser ticks when the data span less than a decade."""
    subs = (1.0, 2.0, 5.0) if hi / lo > 10 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def main(clusters: list, layers: list, bins: int, pca_variance: float, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    frames = [pd.read_csv(f) for f in clusters]
    record = context(frames[0])
    table = pd.concat(frames, ignore_index=True)
    ok = (table["pca_components"] > 0) & (table["rmse_expert"] > 0) & (table["improvement"] > 0)
    data = table[ok]
    fits = {col: frontier(data["pca_components"], data[col], bins, side) for col, (_, side, _) in PANELS.items()}

    fig, axes = figure(1, 2, width=4.6, height=3.6)
    cmap = plt.get_cmap("viridis", max(len(layers), 2))
    x = data["pca_components"].to_numpy(dtype=np.float64)
    for ax, (col, (letter, side, ylabel)) in zip(axes[0], PANELS.items()):
        for i, layer in enumerate(layers):
            sub = data[data["layer"] == layer]
            ax.scatter(sub["pca_components"], sub[col], s=18, alpha=0.8, lw=0, color=cmap(i), label=f"layer {layer}")
        fit = fits[col]
        env_x, env_y = 10 ** np.asarray(fit["env_x"]), 10 ** np.asarray(fit["env_y"])
        ax.scatter(env_x, env_y, s=60, marker="s", facecolors="none", edgecolors="k", lw=1.1,
                   label=f"envelope: lowest (b) / highest (c) of {bins} log-x bins")
        if np.isfinite(fit["slope"]):
            lx = np.linspace(np.log10(x.min()), np.log10(x.max()), 50)
            ax.plot(10**lx, 10 ** (fit["intercept"] + fit["slope"] * lx), "k--", lw=1.2, label="envelope fit")
        ax.set_xscale("log")
        ax.set_yscale("log")
        y = data[col].to_numpy(dtype=np.float64)
        _log_axis(ax.xaxis, x.min(), x.max())
        _log_axis(ax.yaxis, y.min(), y.max())
        beyond = "below" if side == "lower" else "above"
        ax.set(xlabel=f"PCA components for {pca_variance:.0%} of cluster input variance", ylabel=ylabel,
               title=f"({letter}) {side} envelope: slope {fit['slope']:.2f}, $R^2$ = {fit['r2']:.2f}\n"
                     f"{fit['share_beyond']:.0%} of clusters > 0.05 decades {beyond} it")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=min(len(labels), 8),
               fontsize="small", frameon=False)
    caption(fig, "WD-F8", f"sparse computation vs effective features, {len(data)} clusters of {record['model']} "
            f"({len(layers)} layers, {record['matrix']}-projection; {scale} scale)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, png, pdf)

    keep = [c for c in ("cluster", "cluster_calibration_tokens", "cluster_tokens", "pca_components", "rmse_expert",
                        "rmse_sparsegpt", "improvement") if c in table.columns]
    ctx = {k: v for k, v in record.items() if k != "layer"}
    rows = [table[[c for c in CONTEXT if c in table.columns] + keep].assign(kind="cluster")]
    for col, (letter, side, _) in PANELS.items():
        fit = fits[col]
        rows.append(pd.DataFrame({**ctx, "kind": "envelope", "panel": letter, "y": col, "side": side,
                                  "pca_components": 10 ** np.asarray(fit["env_x"]),
                                  col: 10 ** np.asarray(fit["env_y"])}))
        rows.append(pd.DataFrame([{**ctx, "kind": "fit", "panel": letter, "y": col, "side": side, "slope": fit["slope"],
                                   "intercept": fit["intercept"], "r2": fit["r2"], "n": fit["n"],
                                   "share_beyond": fit["share_beyond"], "bins": bins}]))
    out = pd.concat(rows, ignore_index=True).assign(pca_variance=pca_variance)
    front = [c for c in CONTEXT if c in out.columns] + ["kind", "panel", "y", "side"] + keep
    out = out[front + [c for c in out.columns if c not in front]]
    write_table(out, csv, markdown)

    b, c = fits["rmse_expert"], fits["improvement"]
    write_claim_values(claims, "WD-F8", scale, {18: {
        "frontier_slope": frontier_slope(data["pca_components"], data["rmse_expert"], bins),  # clusters redrawn
        "frontier_r2": b["r2"], "frontier_intercept": b["intercept"],
        "frontier_points": b["n"], "share_below": b["share_beyond"], "clusters": int(len(data)),
        "improvement_frontier_r2": c["r2"], "improvement_frontier_slope": c["slope"],
        "improvement_share_above": c["share_beyond"]}},
        context={**ctx, "layers": list(layers), "pca_variance": pca_variance, "frontier_bins": bins,
                 "rmse": "per cluster over all neurons, / RMS dense-output std of the layer"})


if __name__ == "__main__":
    run(main)
