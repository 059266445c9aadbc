"""Figures of the sparsification items: perplexity vs sparsity (WD-F9), vs K (WD-FA3), FLOP-matched gaps (WD-V1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from entangle.plotting.style import METHOD_COLORS, PALETTE, figure

from .report import label

MARKERS = {"magnitude": "v", "wanda": "s", "sparsegpt": "o", "sparse_expansion": "D"}


def _positions(sparsities: list[str]) -> dict[str, float]:
    """x position per sparsity: unstructured at their value (%), N:M one step right of the highest."""
    unstructured = [s for s in sparsities if ":" not in s]
    pos = {s: 100 * float(s) for s in unstructured}
    right = max(pos.values(), default=50.0) + 10
    for i, s in enumerate(s for s in sparsities if ":" in s):
        pos[s] = right + 10 * i
    return pos


def _sparsity_axis(ax, pos: dict[str, float]) -> None:
    ticks = sorted(pos.items(), key=lambda kv: kv[1])
    ax.set_xticks([p for _, p in ticks])
    ax.set_xticklabels([f"{100 * float(s):g}%" if ":" not in s else s for s, _ in ticks])
    ax.set_xlabel("sparsity of every FFN matrix (per expert for SE)")


def _log_y(ax, values) -> None:
    """Log y with plain-number tick labels (perplexities); evenly spread linear ticks when the range is narrow."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullLocator

    ax.set_yscale("log")
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
    plain = FuncFormatter(lambda y, _: f"{y:.4g}")
    if v.size:
        pad = max(0.08 * math.log(v.max() / v.min()), 0.004)
        lo, hi = v.min() * math.exp(-pad), v.max() * math.exp(pad)
        ax.set_ylim(lo, hi)
        if hi / lo < 20:
            ticks = [t for t in MaxNLocator(nbins=6).tick_values(lo, hi) if lo <= t <= hi]
            ax.yaxis.set_major_locator(FixedLocator(ticks))
        else:
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(NullLocator())


def perplexity_vs_sparsity(tidy: pd.DataFrame, sparsities: list[str], methods: list[str], k: int,
                           ncols: int = 3):
    """WD-F9: one panel per model, a line per method over unstructured sparsities, N:M as separate points."""
    models = list(dict.fromkeys(tidy.model))
    ncols = min(ncols, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig, axes = figure(nrows, ncols, width=4.2, height=3.3)
    pos = _positions(sparsities)
    for ax, model in zip(axes.flat, models):
        g = tidy[tidy.model == model]
        shown = []
        for m in methods:
            rows = g[(g.method == m) & ((g.k == k) if m == "sparse_expansion" else True)]
            rows = rows[rows.sparsity.isin(sparsities)]
            un = rows[~rows.structured].sort_values("sparsity_ratio")
            nm = rows[rows.structured]
            ax.plot([pos[s] for s in un.sparsity], un.perplexity, marker=MARKERS[m], color=METHOD_COLORS[m],
                    label=label(m, k), lw=1.6, ms=5)
            ax.plot([pos[s] for s in nm.sparsity], nm.perplexity, marker=MARKERS[m], color=METHOD_COLORS[m], ls="none",
                    ms=6)
            shown += list(rows.perplexity)
        dense = g[g.method == "dense"].perplexity
        if len(dense):
            ax.axhline(float(dense.iloc[0]), color=METHOD_COLORS["dense"], ls="--", lw=1, label="dense")
            shown.append(float(dense.iloc[0]))
        if any(":" in s for s in sparsities) and any(":" not in s for s in sparsities):
            ax.axvline((max(pos[s] for s in sparsities if ":" not in s) + min(pos[s] for s in sparsities if ":" in s)) / 2,
                       color="#bbbbbb", lw=0.8)
        _log_y(ax, shown)
        _sparsity_axis(ax, pos)
        ax.set_ylabel("test perplexity (log)")
        ax.set_title(model)
    for ax in list(axes.flat)[len(models):]:
        ax.set_axis_off()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.02), frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def perplexity_vs_k(sweep: pd.DataFrame, sparsegpt: float | None, dense: float | None, model: str, sparsity: str):
    """WD-FA3: SE perplexity vs K (log2 x), with SparseGPT and dense as reference lines."""
    fig, axes = figure(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    g = sweep.sort_values("k")
    ax.plot(g.k.astype(int), g.perplexity, marker="D", color=METHOD_COLORS["sparse_expansion"], lw=1.8,
            label=f"Sparse Expansion, {100 * float(sparsity):g}% per expert")
    values = list(g.perplexity)
    if sparsegpt is not None:
        ax.axhline(sparsegpt, color=METHOD_COLORS["sparsegpt"], ls=":", lw=1.4, label="SparseGPT (= K=1)")
        values.append(sparsegpt)
    if dense is not None:
        ax.axhline(dense, color=METHOD_COLORS["dense"], ls="--", lw=1, label="dense")
        values.append(dense)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(g.k.astype(int)))
    ax.set_xticklabels([str(int(k)) for k in g.k])
    ax.set_xlabel("experts per FFN linear, K")
    _log_y(ax, values)
    ax.set_ylabel("test perplexity (log)")
    ax.set_title(model)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def flop_matched(tidy: pd.DataFrame, table: pd.DataFrame, baselines: list[str], ks: list[int]):
    """WD-V1: per model, (a) perplexity vs total MACs per token (SE: non-zero FFN weights + router; baselines:
    non-zero FFN weights, the dense model their 0% point), (b) SE's gap over the best baseline at equal MACs."""
    models = list(dict.fromkeys(table.model))
    fig, axes = figure(len(models), 2, width=4.3, height=3.3)
    shades = _shades(len(ks))
    for row, model in enumerate(models):
        ax, bx = axes[row, 0], axes[row, 1]
        g = tidy[(tidy.model == model) & ~tidy.structured.astype(bool)]
        dense = g[g.method == "dense"]
        values = []
        for m in baselines:
            r = pd.concat([dense, g[g.method == m]]).sort_values("ffn_nonzeros_per_token")
            ax.plot(r.ffn_nonzeros_per_token / 1e3, r.perplexity, marker=MARKERS[m], color=METHOD_COLORS[m],
                    label=label(m, None), lw=1.4, ms=4)
            values += list(r.perplexity)
        t = table[table.model == model]
        for k, color in zip(ks, shades):
            r = g[(g.method == "sparse_expansion") & (g.k == k)]
            macs = (r.ffn_nonzeros_per_token + r.router_macs_per_token.astype(float)) / 1e3
            order = np.argsort(macs.to_numpy())
            ax.plot(macs.to_numpy()[order], r.perplexity.to_numpy()[order], marker="D", color=color,
                    label=f"SE K={k}", lw=1.6, ms=4)
            values += list(r.perplexity)
            tk = t[t.k == k].sort_values("sparsity_ratio")
            bx.plot(100 * tk.sparsity_ratio, tk.gap, marker="D", color=color, label=f"SE K={k}", lw=1.6, ms=4)
        if len(dense):
            ax.axhline(float(dense.perplexity.iloc[0]), color=METHOD_COLORS["dense"], ls="--", lw=1, label="dense")
            values.append(float(dense.perplexity.iloc[0]))
        _log_y(ax, values)
        ax.set(xlabel="MACs per token (thousands; SE: experts + router)", ylabel="test perplexity (log)",
               title=f"({'a' if row == 0 else 'a' + str(row + 1)}) {model}")
        bx.axhline(0, color="#888888", lw=0.8)
        bx.set(xlabel="SE per-expert sparsity (%)", ylabel="ln PPL(best baseline) - ln PPL(SE)",
               title=f"({'b' if row == 0 else 'b' + str(row + 1)}) {model}: gap at SE's MACs per token")
        ax.legend(fontsize="x-small", loc="upper right")
        bx.legend(fontsize="x-small", loc="lower left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def _shades(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["Reds"]
    return [cmap(0.45 + 0.5 * i / max(n - 1, 1)) for i in range(n)]


__all__ = ["flop_matched", "perplexity_vs_k", "perplexity_vs_sparsity", "PALETTE"]
