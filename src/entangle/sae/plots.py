"""NE-F5 figure: one SAE neuron's activation map, importance map, logit effects and examples."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402


def plot_sae_neuron(report, title=None):
    """report: dict from features.neuron_report. Returns a matplotlib Figure."""
    ex = report["examples"]
    n_ex = len(ex)
    fig = plt.figure(figsize=(3.2 * 3 + 0.9 * max(n_ex, 1) / 2, 3.4))
    gs = fig.add_gridspec(2, 3 + max((n_ex + 1) // 2, 1), width_ratios=[3, 3, 3] + [1] * max((n_ex + 1) // 2, 1))
    for k, (key, name) in enumerate((("activation_map", "activation map"), ("importance_map", "importance map"))):
        ax = fig.add_subplot(gs[:, k])
        m = report[key]
        lim = float(np.abs(m).max()) or 1.0
        sns.heatmap(m, ax=ax, cmap="RdBu_r", vmin=-lim, vmax=lim, square=True, cbar=True,
                    xticklabels=False, yticklabels=False)
        ax.set_title(name)
    ax = fig.add_subplot(gs[:, 2])
    le = report["logit_effects"]
    sns.barplot(x=np.arange(len(le)), y=le, ax=ax, color="C0")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("logit effects")
    ax.set_xlabel("class")
    for i, img in enumerate(ex):
        ax = fig.add_subplot(gs[i % 2, 3 + i // 2])
        ax.imshow(img, cmap="gray_r")
        ax.set_axis_off()
    fig.suptitle(title or f"SAE neuron ({report['n_active']} activating examples)")
    fig.tight_layout()
    return fig
