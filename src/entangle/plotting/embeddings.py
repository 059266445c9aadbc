"""Figures of the NE paper: feature clusters (NE-F2, NE-F3), projections (NE-F4) and one SAE neuron (NE-F5).

Inputs are plain dicts of lists / numpy arrays (what the rule scripts store as JSON or .npz), so these
functions need neither torch nor the model.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.patches import Patch
from scipy.cluster.hierarchy import dendrogram

from entangle.plotting.style import BLUE, CLUSTER_COLORS, CLUSTER_GREY, RED, figure, setup


def cluster_color(label, colored):
    """Colour of a cluster label: its place in `colored` picks a colour, anything else is grey."""
    colored = list(colored)
    return CLUSTER_COLORS[colored.index(label) % len(CLUSTER_COLORS)] if label in colored else CLUSTER_GREY


def _link_colors(Z, labels, threshold, colored):
    """link id -> colour: a merge inside one coloured cluster below the threshold gets its colour."""
    n = len(labels)
    members = {i: {int(labels[i])} for i in range(n)}
    out = {}
    for k, (a, b, h, _) in enumerate(np.asarray(Z)):
        s = members[int(a)] | members[int(b)]
        members[n + k] = s
        out[n + k] = cluster_color(next(iter(s)), colored) if len(s) == 1 and h <= threshold else CLUSTER_GREY
    return out


def draw_dendrogram(ax, Z, labels, threshold, colored):
    """HAC tree of one neuron's examples; branch height = linkage distance; coloured by cluster."""
    Z = np.asarray(Z, dtype=float)
    colors = _link_colors(Z, labels, threshold, colored)
    d = dendrogram(Z, ax=ax, no_labels=True, link_color_func=lambda k: colors[k], above_threshold_color=CLUSTER_GREY)
    ax.axhline(threshold, color="black", ls="--", lw=0.8)
    ax.text(ax.get_xlim()[0], threshold, f" cut at {threshold:g}", va="bottom", ha="left", fontsize="small")
    ax.set_ylabel("linkage distance\n(cosine distance)")
    ax.set_xlabel(f"{len(labels)} dataset examples (leaves)")
    ax.grid(False)
    # cluster number under each coloured cluster's leaves
    leaves = np.asarray(d["leaves"])
    xs = 5.0 + 10.0 * np.arange(len(leaves))
    for c in colored:
        pos = xs[np.isin(leaves, np.flatnonzero(np.asarray(labels) == c))]
        if len(pos):
            ax.text(pos.mean(), ax.get_ylim()[0], str(c + 1), ha="center", va="top", fontsize="small",
                    fontweight="bold", color=cluster_color(c, colored))
    return d


def _clean(token):
    return token.replace("\n", "⏎").replace("\t", "⇥")


def draw_snippets(ax, rows, act_max, fontsize=8.5):
    """Token snippets, one per line, key token boxed in its cluster colour, other tokens shaded by activation.

    rows: list of dict(tokens [str], acts [float], key int, color, label str) or dict(header str, color).
    """
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    line = 1.0 / max(len(rows), 1)
    inv = ax.transAxes.inverted()
    for i, row in enumerate(rows):
        y = 1.0 - (i + 0.5) * line
        if "header" in row:
            ax.text(0.0, y, row["header"], color=row["color"], fontsize=fontsize + 0.5, fontweight="bold",
                    va="center", ha="left")
            continue
        t = ax.text(0.0, y, row["label"], fontsize=fontsize, family="monospace", va="center", ha="left",
                    color=row["color"], fontweight="bold")
        x = inv.transform(t.get_window_extent(renderer)).max(axis=0)[0] + 0.005
        for k, (tok, a) in enumerate(zip(row["tokens"], row["acts"])):
            key = k == row["key"]
            shade = float(np.clip(a / act_max, 0, 1)) if act_max > 0 else 0.0
            box = (dict(boxstyle="square,pad=0.12", fc=row["color"], ec="black", lw=0.6) if key else
                   dict(boxstyle="square,pad=0.08", fc=(1.0, 0.55, 0.0, 0.6 * shade), ec="none"))
            t = ax.text(x, y, _clean(tok), fontsize=fontsize, family="monospace", va="center", ha="left",
                        bbox=box, fontweight="bold" if key else "normal", color="white" if key else "black")
            x = inv.transform(t.get_window_extent(renderer)).max(axis=0)[0] + 0.002
            if x > 0.995:
                break


def snippet_rows(detail, clusters, per_cluster, colored, names=None):
    """Rows for draw_snippets: a header per cluster, then up to `per_cluster` examples in dataset order."""
    labels = np.asarray(detail["labels"])
    rows = []
    for c in clusters:
        idx = np.flatnonzero(labels == c)
        name = names[c] if names and c in names else f"cluster {c + 1}"
        rows.append(dict(header=f"{name}: {len(idx)} example{'s' * (len(idx) != 1)}", color=cluster_color(c, colored)))
        for i in idx[:per_cluster]:
            ex = detail["examples"][i]
            rows.append(dict(tokens=ex["tokens"], acts=ex["acts"], key=ex["key"], color=cluster_color(c, colored),
                             label=f"{c + 1}"))
    return rows


def plot_feature_clusters(detail, title, clusters=None, per_cluster=3, names=None, threshold=0.5):
    """NE-F2 / NE-F3: dendrogram of one neuron's examples and example snippets per cluster.

    detail: dict(labels [E], Z [[a, b, h, n]], examples: [dict(tokens, acts, key)], ref_max).
    clusters: which cluster labels to colour and show (default: every cluster with >= 2 examples).
    """
    labels = np.asarray(detail["labels"])
    sizes = np.bincount(labels)
    if clusters is None:
        clusters = [int(c) for c in np.flatnonzero(sizes >= 2)][:len(CLUSTER_COLORS)]
    rows = [dict(header="key (max-activating) token boxed in its cluster colour; orange shading = the neuron's "
                        "activation on each token; up to 5 tokens after the key (they do not affect the embedding)",
                 color="dimgray")] + snippet_rows(detail, clusters, per_cluster, clusters, names)
    setup()
    fig = plt.figure(figsize=(12, 3.2 + 0.23 * len(rows)))
    gs = fig.add_gridspec(2, 1, height_ratios=[3.0, 0.23 * len(rows) + 0.2], hspace=0.25)
    ax = fig.add_subplot(gs[0])
    draw_dendrogram(ax, detail["Z"], labels, threshold, clusters)
    n_single = int((sizes == 1).sum())
    handles = [Patch(color=cluster_color(c, clusters), label=f"{c + 1}: {sizes[c]}") for c in clusters]
    if n_single:
        handles.append(Patch(color=CLUSTER_GREY, label=f"{n_single} singleton(s) / other"))
    ax.legend(handles=handles, title="cluster: examples", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small", ncol=1 if len(handles) <= 8 else 2)
    fig.suptitle("\n".join(textwrap.wrap(title, 120)), fontsize="medium", y=0.995)
    draw_snippets(fig.add_subplot(gs[1]), rows, detail.get("ref_max", 1.0))
    return fig


def plot_projection_pair(proj, title, colored=(0, 1)):
    """NE-F4: the same examples projected to 2-D under neuron embeddings and pre-MLP embeddings.

    proj: dict(labels [E] (neuron-embedding clusters), neuron: dict(coords [E, 2], ratio [2], pair_intra,
    pair_inter), pre_mlp: same).
    """
    labels = np.asarray(proj["labels"])
    fig, axes = figure(1, 2, width=4.6, height=4.2)
    for ax, key, name in zip(axes[0], ("neuron", "pre_mlp"), ("neuron embeddings h ⊙ w", "pre-MLP embeddings h")):
        p = proj[key]
        xy, ratio = np.asarray(p["coords"]), np.asarray(p["ratio"])
        other = ~np.isin(labels, colored)
        ax.scatter(xy[other, 0], xy[other, 1], s=14, color=CLUSTER_GREY, alpha=0.6, lw=0, label="other clusters")
        for c in colored:
            m = labels == c
            ax.scatter(xy[m, 0], xy[m, 1], s=22, color=cluster_color(c, colored), edgecolor="black", lw=0.3,
                       label=f"cluster {c + 1} ({m.sum()})")
        ax.set(xlabel=f"PC 1 ({100 * ratio[0]:.0f}% of variance, unit-normalized)",
               ylabel=f"PC 2 ({100 * ratio[1]:.0f}% of variance)",
               title=f"{name}\nwithin {p['pair_intra']:.2f}, between {p['pair_inter']:.2f} (cosine distance)")
        ax.legend(loc="best", fontsize="small")
    fig.suptitle(title, fontsize="large")
    fig.tight_layout()
    return fig


def plot_sae_neuron(report, title=None):
    """NE-F5: one SAE neuron's activation map, importance map, logit effects and activating examples.

    report: dict of arrays as from entangle.sae.features.neuron_report.
    """
    setup()
    ex = np.asarray(report["examples"])
    fig = plt.figure(figsize=(12.5, 5.8))
    outer = fig.add_gridspec(2, 1, height_ratios=[3.2, 1.1], hspace=0.35, top=0.84)
    top = outer[0].subgridspec(1, 3, wspace=0.8)
    for k, (key, name, unit) in enumerate((("activation_map", "activation map", "max contribution to activation"),
                                           ("importance_map", "importance map", "activation map × mean example"))):
        ax = fig.add_subplot(top[k])
        m = np.asarray(report[key])
        lim = float(np.abs(m).max()) or 1.0
        im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set(title=name, xlabel="pixel column", ylabel="pixel row")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label(unit, fontsize="small")
    ax = fig.add_subplot(top[2])
    le = np.asarray(report["logit_effects"])
    ax.bar(np.arange(len(le)), le, color=[RED if v > 0 else BLUE for v in le])
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(np.arange(len(le)))
    ax.set(title="logit effects", xlabel="digit class", ylabel="Δ logit per unit activation")
    n = max(len(ex), 1)
    bottom = outer[1].subgridspec(1, max(n, 8), wspace=0.1)
    for i, img in enumerate(ex):
        ax = fig.add_subplot(bottom[i])
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if i == 0:
            ax.set_ylabel("random\nactivating\nexamples", fontsize="small", rotation=0, ha="right", va="center")
    fig.suptitle(title or f"SAE neuron ({report['n_active']} activating examples)", fontsize="medium")
    return fig
