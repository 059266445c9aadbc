"""WD-F3: perplexity when only the top-p% rows of every FFN matrix are sparsified, per selection (WD, output mean,
output variance, weight magnitude, random seeds); at paper scale also the downstream benchmark scores.

Figure: (a) perplexity (log) vs per-row sparsity, a line per selection, random = mean over seeds with its
min-max band, dense dashed; (b...) one panel per downstream task: primary-metric score per selection at the
headline sparsity. Table: tidy rows per run (downstream rows carry task, metric, score). Claims 6 (and 7).
"""

import math

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import read_json, save_figure, write_table
from entangle.neurons.selection import parse_selection
from entangle.plotting.style import SELECTION_COLORS, caption, figure
from entangle.sparsify.partial_report import (
    downstream_lowest_values,
    downstream_scores,
    load_partial_runs,
    selection_increase_values,
)

MARKERS = {"wd": "o", "mean": "s", "variance": "^", "magnitude": "D", "random": "v"}
SHORT = {"wd": "WD", "mean": "mean", "variance": "var.", "magnitude": "|w|", "random": "random"}
LABELS = {"wd": "top WD", "mean": "top output mean", "variance": "top output variance",
          "magnitude": "top weight magnitude", "random": "random"}


def main(runs: list, downstream: list, names: list, sparsities: list, headline: str, tasks: list, context: dict,
         scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    tidy = load_partial_runs(list(runs))
    scores = {n: read_json(p) for n, p in zip(["dense"] + list(names), downstream)} if downstream else {}
    down = downstream_scores(scores) if scores else None

    fig = _figure(tidy, down, sparsities, headline, list(tasks))
    first = tidy.iloc[0]
    caption(fig, "WD-F3", f"sparsifying {first.percent:g}% of the rows of every FFN matrix, {first.model} "
            f"({first.dataset} {first.split}, {scale})")
    save_figure(fig, png, pdf)

    table = tidy
    if down is not None:  # downstream rows: task, metric, score at the headline sparsity (dense: sparsity 0)
        table = tidy.assign(task=None, metric=None, score=np.nan)
        seed_of = lambda s: None if s == "dense" else parse_selection(s)[1]  # noqa: E731
        extra = down.assign(selection_seed=down.selection.map(seed_of),
                            method=down.selection.map(lambda s: "dense" if s == "dense" else "sparsegpt"),
                            sparsity=down.selection.map(lambda s: "0" if s == "dense" else headline))
        for col in ("model", "model_id", "revision", "seed", "percent"):  # dataset: the task
            extra[col] = first[col]
        table = pd.concat([table, extra.reindex(columns=table.columns)], ignore_index=True)
    write_table(table, csv, markdown)

    values = {6: selection_increase_values(tidy, headline, [read_json(p) for p in runs])}
    if down is not None:
        values[7] = downstream_lowest_values(down)
    write_claim_values(claims, "WD-F3", scale, values, context={
        **context, "model_id": first.model_id, "revision": first.revision, "dataset": first.dataset,
        "split": first.split, "tokens": int(first.tokens), "seed": int(first.seed),
        "selected_rows": int(tidy[tidy.selection == "wd"].selected_rows.iloc[0])})


def _figure(tidy: pd.DataFrame, down: pd.DataFrame | None, sparsities: list, headline: str, tasks: list):
    n_panels = 1 + (len(tasks) if down is not None else 0)
    ncols = min(3, n_panels)
    fig, axes = figure(math.ceil(n_panels / ncols), ncols, width=4.4 if n_panels > 1 else 7.0, height=3.4)
    _perplexity_panel(axes.flat[0], tidy, sparsities, legend_outside=n_panels == 1)
    if down is not None:
        for i, (ax, task) in enumerate(zip(list(axes.flat)[1:], tasks)):
            _task_panel(ax, down[down.task == task], f"({chr(ord('b') + i)}) {task}", headline)
    for ax in list(axes.flat)[n_panels:]:
        ax.set_visible(False)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if n_panels > 3 else 0.95))
    return fig


def _perplexity_panel(ax, tidy: pd.DataFrame, sparsities: list, legend_outside: bool = False) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    g = tidy[tidy.method == "sparsegpt"].copy()
    g["kind"] = g.selection.map(lambda s: parse_selection(s)[0])
    g["x"] = g.sparsity.astype(float) * 100
    shown = []
    for kind in [k for k in MARKERS if k in set(g.kind)]:
        rows = g[g.kind == kind]
        if kind == "random":
            agg = rows.groupby("x").perplexity.agg(["mean", "min", "max"]).sort_index()
            seeds = rows.selection.nunique()
            ax.fill_between(agg.index, agg["min"], agg["max"], color=SELECTION_COLORS[kind], alpha=0.25, lw=0)
            ax.plot(agg.index, agg["mean"], marker=MARKERS[kind], color=SELECTION_COLORS[kind], lw=1.6, ms=5,
                    label=f"random (mean, range of {seeds} seeds)")
        else:
            rows = rows.sort_values("x")
            ax.plot(rows.x, rows.perplexity, marker=MARKERS[kind], color=SELECTION_COLORS[kind], lw=1.6, ms=5,
                    label=LABELS[kind])
        shown += list(rows.perplexity)
    dense = float(tidy[tidy.method == "dense"].perplexity.iloc[0])
    ax.axhline(dense, color=SELECTION_COLORS["dense"], ls="--", lw=1, label="dense")
    shown.append(dense)
    ax.set_yscale("log")
    v = np.asarray([x for x in shown if np.isfinite(x) and x > 0])
    pad = max(0.08 * math.log(v.max() / v.min()), 0.002)
    ax.set_ylim(v.min() * math.exp(-pad), v.max() * math.exp(pad))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.4g}"))
    ax.yaxis.set_minor_locator(NullLocator())
    xs = sorted(float(s) * 100 for s in sparsities)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{x:g}%" for x in xs])
    ax.set_xlim(xs[0] - 5, xs[-1] + 5)
    percent = tidy.percent.iloc[0]
    ax.set_xlabel(f"sparsity of the selected rows ({percent:g}% of every FFN matrix)")
    ax.set_ylabel(f"perplexity ({tidy.split.iloc[0]})")
    ax.set_title("(a) perplexity, row-wise SparseGPT")
    if legend_outside:
        ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1))
    else:
        ax.legend(fontsize="small", frameon=True, loc="best")


def _task_panel(ax, d: pd.DataFrame, title: str, headline: str) -> None:
    d = d.copy()
    d["kind"] = d.selection.map(lambda s: "dense" if s == "dense" else parse_selection(s)[0])
    order = [k for k in MARKERS if k in set(d.kind)]
    agg = d[d.kind != "dense"].groupby("kind").score.agg(["mean", "min", "max"]).reindex(order)
    x = np.arange(len(order))
    ax.bar(x, agg["mean"], color=[SELECTION_COLORS[k] for k in order], width=0.7)
    if "random" in order:  # random: mean over seeds, whiskers = min and max
        r = order.index("random")
        ax.errorbar([r], [agg["mean"].iloc[r]], yerr=[[agg["mean"].iloc[r] - agg["min"].iloc[r]],
                                                       [agg["max"].iloc[r] - agg["mean"].iloc[r]]],
                    fmt="none", ecolor="#222222", capsize=3, lw=1)
    dense = d[d.kind == "dense"].score
    if len(dense):
        ax.axhline(float(dense.iloc[0]), color=SELECTION_COLORS["dense"], ls="--", lw=1, label="dense")
        ax.legend(fontsize="small")
    ax.set_xticks(x)
    ax.set_xticklabels([SHORT[k] for k in order])
    metric, _, filt = d.metric.iloc[0].partition(",")
    ax.set_ylabel(metric + (f" ({filt})" if filt and filt != "none" else ""))
    ax.set_title(f"{title}, selected rows {float(headline):.0%} sparse")


if __name__ == "__main__":
    run(main)
