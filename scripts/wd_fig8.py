"""WD-F8 (b, c): empirical bounds of sparse computation under entanglement; every Sparse Expansion cluster, every layer.

x = PCA components reaching `pca_variance` of the cluster's held-out inputs (effective features);
y = the cluster's expert RMSE over all neurons, relative to the layer's dense-output std (b), and its
improvement over SparseGPT on the same tokens (c). Log-log; (b) with its lower envelope (binned minima)
and the line through it, (c) with its upper envelope. With a gated-FFN model (role `gated`), (d, e) the same for
the clusters of the layers its disentangle job runs (the same matrix): table rows with its name in column `model`,
claim 18 under `by_model`.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _runner import as_list, run
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import frontier_slope
from entangle.disentangle.predictors import frontier
from entangle.disentangle.records import CONTEXT, context
from entangle.io import save_figure, write_table
from entangle.plotting.style import caption, figure

PANELS = {"rmse_expert": ("b", "lower", "expert RMSE / dense-output std"),
          "improvement": ("c", "upper", "improvement over SparseGPT (RMSE ratio)")}
KEEP = ("cluster", "cluster_calibration_tokens", "cluster_tokens", "pca_components", "rmse_expert", "rmse_sparsegpt",
        "improvement")


def _log_axis(axis, lo: float, hi: float) -> None:
    """Log scale with plain-number ticks; denser ticks when the data span less than a decade."""
    subs = (1.0, 2.0, 5.0) if hi / lo > 10 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _analyse(clusters: list, bins: int) -> dict:
    """Every cluster of the given layers' tables, the envelope fits of both panels, and claim 18's values."""
    frames = [pd.read_csv(f) for f in clusters]
    table = pd.concat(frames, ignore_index=True)
    ok = (table["pca_components"] > 0) & (table["rmse_expert"] > 0) & (table["improvement"] > 0)
    data = table[ok]
    fits = {col: frontier(data["pca_components"], data[col], bins, side) for col, (_, side, _) in PANELS.items()}
    b, c = fits["rmse_expert"], fits["improvement"]
    values = {
        "frontier_slope": frontier_slope(data["pca_components"], data["rmse_expert"], bins),  # clusters redrawn
        "frontier_r2": b["r2"], "frontier_intercept": b["intercept"],
        "frontier_points": b["n"], "share_below": b["share_beyond"], "clusters": int(len(data)),
        "improvement_frontier_r2": c["r2"], "improvement_frontier_slope": c["slope"],
        "improvement_share_above": c["share_beyond"]}
    return {"record": context(frames[0]), "table": table, "data": data, "fits": fits, "values": values}


def _panels(axes, a: dict, layers: list, bins: int, pca_variance: float, letters: tuple[str, str]) -> None:
    """(b) expert RMSE with its lower envelope, (c) improvement with its upper envelope, one colour per layer."""
    data, fits, model = a["data"], a["fits"], a["record"]["model"]
    cmap = plt.get_cmap("viridis", max(len(layers), 2))
    x = data["pca_components"].to_numpy(dtype=np.float64)
    for ax, letter, (col, (_, side, ylabel)) in zip(axes, letters, PANELS.items()):
        for i, layer in enumerate(layers):
            sub = data[data["layer"] == layer]
            ax.scatter(sub["pca_components"], sub[col], s=18, alpha=0.8, lw=0, color=cmap(i), label=f"layer {layer}")
        fit = fits[col]
        env_x, env_y = 10 ** np.asarray(fit["env_x"]), 10 ** np.asarray(fit["env_y"])
        ax.scatter(env_x, env_y, s=60, marker="s", facecolors="none", edgecolors="k", lw=1.1,
                   label=f"envelope: lowest (left) / highest (right) of {bins} log-x bins")
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
               title=f"({letter}) {model}, {side} envelope: slope {fit['slope']:.2f}, $R^2$ = {fit['r2']:.2f}\n"
                     f"{fit['share_beyond']:.0%} of clusters > 0.05 decades {beyond} it")


def _rows(a: dict, bins: int, letters: tuple[str, str]) -> list[pd.DataFrame]:
    table, fits = a["table"], a["fits"]
    keep = [c for c in KEEP if c in table.columns]
    ctx = {k: v for k, v in a["record"].items() if k != "layer"}
    rows = [table[[c for c in CONTEXT if c in table.columns] + keep].assign(kind="cluster")]
    for letter, (col, (_, side, _)) in zip(letters, PANELS.items()):
        fit = fits[col]
        rows.append(pd.DataFrame({**ctx, "kind": "envelope", "panel": letter, "y": col, "side": side,
                                  "pca_components": 10 ** np.asarray(fit["env_x"]),
                                  col: 10 ** np.asarray(fit["env_y"])}))
        rows.append(pd.DataFrame([{**ctx, "kind": "fit", "panel": letter, "y": col, "side": side, "slope": fit["slope"],
                                   "intercept": fit["intercept"], "r2": fit["r2"], "n": fit["n"],
                                   "share_beyond": fit["share_beyond"], "bins": bins}]))
    return rows


def _describe(a: dict, layers: list) -> str:
    r = a["record"]
    return (f"{len(a['data'])} clusters of {r['model']} ({len(layers)} layer{'s' if len(layers) > 1 else ''}, "
            f"{r['matrix']}-projection)")


def main(clusters: list, layers: list, bins: int, pca_variance: float, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str, gated_clusters: list | None = None, gated_layers: list | None = None) -> None:
    a = _analyse(as_list(clusters), bins)
    g = _analyse(as_list(gated_clusters), bins) if gated_clusters else None

    fig, axes = figure(2 if g else 1, 2, width=4.6, height=3.6)
    _panels(axes[0], a, layers, bins, pca_variance, ("b", "c"))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if g:
        _panels(axes[1], g, gated_layers, bins, pca_variance, ("d", "e"))
        axes[1, 0].legend(fontsize="x-small", framealpha=0.9, loc="best")  # its own layer colours
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=min(len(labels), 8),
               fontsize="small", frameon=False)
    models = _describe(a, layers) + (f" (b, c) and {_describe(g, gated_layers)} (d, e)" if g else "")
    caption(fig, "WD-F8", f"sparse computation vs effective features, {models}; {scale} scale")
    fig.tight_layout(rect=(0, 0.08 if not g else 0.05, 1, 1))
    save_figure(fig, png, pdf)

    rows = _rows(a, bins, ("b", "c")) + (_rows(g, bins, ("d", "e")) if g else [])
    out = pd.concat(rows, ignore_index=True).assign(pca_variance=pca_variance)
    keep = [c for c in KEEP if c in out.columns]
    front = [c for c in CONTEXT if c in out.columns] + ["kind", "panel", "y", "side"] + keep
    out = out[front + [c for c in out.columns if c not in front]]
    write_table(out, csv, markdown)

    ctx = {k: v for k, v in a["record"].items() if k != "layer"}
    context_all = {**ctx, "layers": list(layers), "pca_variance": pca_variance, "frontier_bins": bins,
                   "rmse": "per cluster over all neurons, / RMS dense-output std of the layer"}
    if g:
        context_all.update(gated_model=g["record"]["model"], gated_layers=list(gated_layers),
                           gated_matrix=g["record"]["matrix"])
    write_claim_values(claims, "WD-F8", scale, {18: a["values"]}, context=context_all,
                       by_model={g["record"]["model"]: {18: g["values"]}} if g else None)


if __name__ == "__main__":
    run(main)
