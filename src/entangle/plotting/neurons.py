"""Panels for neuron-level figures: output histograms, IO scatters, galleries, WD distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from entangle.plotting.style import PALETTE, figure


def output_histogram(ax, y: np.ndarray, title: str, color: str = PALETTE["dense"], bins: int = 80,
                     xlabel: str = "pre-activation") -> None:
    """Histogram of one neuron's outputs over tokens, with x = 0 marked."""
    ax.hist(np.asarray(y), bins=bins, color=color, alpha=0.85)
    ax.axvline(0, color="black", lw=0.8, ls=":")
    ax.set(title=title, xlabel=xlabel, ylabel="tokens")


def io_scatter(ax, input_distance: np.ndarray, output_distance: np.ndarray, title: str,
               highlight: np.ndarray | None = None, max_points: int = 5000, seed: int = 0) -> None:
    """Normalized input distance (‖Δx‖/N_x) vs normalized output distance (|Δy|/N_y) per token pair."""
    n = len(input_distance)
    keep = np.arange(n) if n <= max_points else np.random.default_rng(seed).choice(n, max_points, replace=False)
    ax.scatter(input_distance[keep], output_distance[keep], s=3, alpha=0.35, color=PALETTE["other"], lw=0)
    if highlight is not None and len(highlight):
        ax.scatter(input_distance[highlight], output_distance[highlight], s=18, color=PALETTE["highlight"],
                   edgecolor="black", lw=0.4, label="top OI pairs", zorder=3)
        ax.legend(loc="upper right", frameon=True)
    ax.set(title=title, xlabel="input distance ‖Δx‖/N_x", ylabel="output distance |Δy|/N_y")


def pair_token_table(ax, frame: pd.DataFrame, title: str, rank: bool = True, next_labels=("NT1", "NT2"),
                     row_height: float = 1.25, title_size: str | None = None) -> None:
    """A neuron's top token pairs as a matplotlib table: (rank,) T1, T2, their next tokens, OI ratio.

    frame: rows of `entangle.pairs.neuron_pairs.pair_table` (raw tokens, "Ġ" = word start; "—" for none).
    """
    cells = [([str(r.rank)] if rank else []) + [r.T1 or "—", r.T2 or "—", r.NT1 or "—", r.NT2 or "—",
                                                 f"{r.oi_ratio:.1f}"] for r in frame.itertuples()]
    ax.set_axis_off()
    tab = ax.table(cellText=cells, colLabels=(["#"] if rank else []) + ["T1", "T2", *next_labels, "OI"],
                   loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1.0, row_height)
    ax.set_title(title, **({"fontsize": title_size} if title_size else {}))


def gallery(columns: np.ndarray, titles: list[str], ncols: int = 5, color: str = PALETTE["wasserstein"],
            xlabel: str = "pre-activation"):
    """A grid of output histograms, one per column of `columns` [T, k]; returns the figure."""
    k = columns.shape[1]
    nrows = int(np.ceil(k / ncols))
    fig, axes = figure(nrows, ncols, width=2.4, height=1.9)
    for i, ax in enumerate(axes.flat):
        if i >= k:
            ax.set_axis_off()
            continue
        ax.hist(columns[:, i], bins=60, color=color, alpha=0.85)
        ax.axvline(0, color="black", lw=0.7, ls=":")
        ax.set_title(titles[i], fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_ylabel("")
        if i // ncols == nrows - 1:
            ax.set_xlabel(xlabel, fontsize="small")
    fig.tight_layout()
    return fig


def wd_distributions(ax, frame: pd.DataFrame, by: str, title: str, order: list | None = None) -> None:
    """WD per neuron as a box per group (`by`), with mean (dot) and max (triangle) marked."""
    sns.boxplot(frame, x=by, y="wd", order=order, ax=ax, color="#cfd8e8", fliersize=1.5, linewidth=0.8)
    stats = frame.groupby(by, sort=False)["wd"].agg(["mean", "max"]).reindex(order or frame[by].unique())
    xs = np.arange(len(stats))
    ax.scatter(xs, stats["mean"], color="black", s=14, zorder=3, label="mean")
    ax.scatter(xs, stats["max"], color=PALETTE["wasserstein"], marker="^", s=18, zorder=3, label="max")
    ax.set(title=title, ylabel="WD to N(0,1)", xlabel=by)
    ax.legend(loc="upper left")
