"""One look for every figure: seaborn's paper context, readable at the size shown, PNG + PDF."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

BLUE, RED, GREY, YELLOW, TEAL, BLACK = "#3b6fb6", "#d1495b", "#8a8a8a", "#edae49", "#00798c", "#222222"

# Roles in neuron-level figures.
PALETTE = {"dense": BLUE, "sparse": RED, "random": GREY, "wasserstein": RED, "other": BLUE, "highlight": YELLOW}
# Pruning methods (WD-F9, WD-FA3, WD-V1).
METHOD_COLORS = {"magnitude": GREY, "wanda": YELLOW, "sparsegpt": BLUE, "sparse_expansion": RED, "dense": BLACK}
# Row selections of the partial sparsification (WD-F3).
SELECTION_COLORS = {"wd": RED, "mean": BLUE, "variance": YELLOW, "magnitude": TEAL, "random": GREY, "dense": BLACK}
# Feature clusters (NE figures), in order of use; anything not coloured is CLUSTER_GREY.
CLUSTER_COLORS = ["#e07b39", BLUE, "#4f9d69", RED, "#8d6cab", "#b5883b", "#2a9d8f", "#c85c9e", "#6d8a3a", "#5b7fa6"]
CLUSTER_GREY = "#b0b0b0"


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
