"""One look for every figure: seaborn's paper context, readable at the size shown, PNG + PDF."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

PALETTE = {"dense": "#3b6fb6", "sparse": "#d1495b", "random": "#8a8a8a", "wasserstein": "#d1495b",
           "other": "#3b6fb6", "highlight": "#edae49"}


def setup() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.titlesize": "medium"})


def figure(nrows: int = 1, ncols: int = 1, width: float = 3.2, height: float = 2.6, **kwargs):
    """A grid of axes, each `width` x `height` inches; returns (fig, axes array)."""
    setup()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    return fig, axes


def caption(fig, item: str, text: str) -> None:
    """Figure title carrying the paper item id and what it shows."""
    fig.suptitle(f"{item}: {text}", fontsize="large", y=1.0)
