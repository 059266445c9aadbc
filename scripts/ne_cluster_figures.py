"""NE-F2, NE-F3, NE-F4: feature clusters of chosen neurons of the GPT-2 role model, and claims 32-34.

Choices (the paper names no neurons; see entangle.embeddings.collect.choose_figure_neurons):
- NE-F2: in the analysed layer closest to the paper's depth (layer 7 of 12), the neuron with the most
  neuron-embedding clusters of >= 2 examples.
- NE-F3: over all analysed layers, the neuron with the largest size ratio between its two biggest
  clusters (the second with >= 2 examples).
- NE-F4: in the NE-F2 layer, the neuron whose gain in separation of its two biggest clusters (neuron vs
  pre-MLP embeddings) is closest to the layer's median gain: a typical neuron.
"""

import numpy as np
import pandas as pd
from _runner import run

from entangle.embeddings.claims import jsonable
from entangle.embeddings.cluster import figure_layer
from entangle.io import read_json, save_figure, write_json
from entangle.plotting.embeddings import plot_feature_clusters, plot_projection_pair
from entangle.plotting.style import figure


def empty_figure(title, text):
    fig, axes = figure(1, 1, width=7, height=2.5)
    axes[0, 0].text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    axes[0, 0].set_axis_off()
    fig.suptitle(title)
    return fig


def merge_heights(Z, labels, threshold):
    """Linkage heights of the merges above the cut (between clusters), ascending."""
    return sorted(float(h) for h in np.asarray(Z)[:, 2] if h > threshold) if len(Z) else []


def main(tables: list, details: list, info: str, settings: dict, scale: str, n_layers: int,
         f2_png: str, f2_pdf: str, f3_png: str, f3_pdf: str, f4_png: str, f4_pdf: str,
         f2_claims: str, f3_claims: str, f4_claims: str) -> None:
    df = pd.concat([pd.read_csv(t) for t in tables], ignore_index=True)
    det = {d["layer"]: d for d in (read_json(p) for p in details)}
    win = read_json(info)
    thr = settings["hac_threshold"]
    where = f"{win['model']} ({scale} scale), {win['examples']} {win['dataset']} examples"
    meta = {"item": None, "scale": scale, "model": win["model"], "model_id": win["model_id"], "revision": win["revision"],
            "dataset": win["dataset"], "split": win["split"], "examples": win["examples"],
            "hac_threshold": thr, "linkage": settings["linkage"]}
    ok = df[df["status"] == "analysed"]

    # NE-F2
    layer = figure_layer(sorted(det), n_layers)
    j = det[layer]["figure_neurons"]["f2"]
    c32 = {"layer": layer, "layer_rule": "analysed layer closest to 7/12 of the depth (paper: layer 7 of 12)"}
    if j is None:
        fig = empty_figure("NE-F2", f"no neuron of layer {layer} has examples")
    else:
        d = det[layer]["neurons"][str(j)]
        sizes = np.bincount(d["labels"])
        title = (f"NE-F2: feature clusters of layer {layer} neuron {j}, {where}: {len(d['labels'])} examples, "
                 f"{int((sizes >= 2).sum())} clusters of >= 2 (+{int((sizes == 1).sum())} singletons) at "
                 f"cosine distance {thr:g} ({settings['linkage']} linkage)")
        fig = plot_feature_clusters(d, title, threshold=thr)
        lay = ok[ok["layer"] == layer]
        c32.update(neuron=j, n_examples=len(d["labels"]), n_clusters=int(len(sizes)),
                   n_clusters_ge2=int((sizes >= 2).sum()), cluster_sizes=sorted(sizes.tolist(), reverse=True),
                   merge_heights_above_cut=merge_heights(d["Z"], d["labels"], thr),
                   layer_clusters_ge2_median=float(lay["neuron_n_clusters_ge2"].median()),
                   layer_share_neurons_ge2_clusters=float((lay["neuron_n_clusters_ge2"] >= 2).mean()),
                   layer_fraction_neurons_ge6_clusters=float((lay["neuron_n_clusters"] >= 6).mean()),
                   paper={"layer": 7, "n_clusters": 6})
    save_figure(fig, f2_png, f2_pdf)
    write_json(f2_claims, jsonable({**meta, "item": "NE-F2", "claims": {"32": c32}}))

    # NE-F3
    cands = [(d["layer"], d["figure_neurons"]["f3"]) for d in det.values() if d["figure_neurons"]["f3"] is not None]
    c33 = {"rule": "largest size ratio between the two biggest neuron-embedding clusters (second >= 2 examples), all layers"}
    if not cands:
        fig = empty_figure("NE-F3", "no analysed neuron has a second cluster with >= 2 examples")
    else:
        ratio = {(lay, n): float(ok[(ok["layer"] == lay) & (ok["neuron"] == n)]["size_ratio"].iloc[0]) for lay, n in cands}
        lay, n = min(cands, key=lambda c: (-ratio[c], c))
        d = det[lay]["neurons"][str(n)]
        sizes = np.bincount(d["labels"])
        title = (f"NE-F3: a common and a rare behaviour, layer {lay} neuron {n}, {where}: clusters of "
                 f"{sizes[0]} and {sizes[1]} examples (ratio {sizes[0] / sizes[1]:.0f}:1; paper: almost 50:1)")
        fig = plot_feature_clusters(d, title, clusters=[0, 1], per_cluster=4, threshold=thr,
                                    names={0: "primary (cluster 1)", 1: "secondary (cluster 2)"})
        share = ok["size_2"] / ok["n_examples"]
        c33.update(layer=lay, neuron=n, size_primary=int(sizes[0]), size_secondary=int(sizes[1]),
                   ratio=float(sizes[0] / sizes[1]), secondary_share=float(sizes[1] / len(d["labels"])),
                   n_examples=len(d["labels"]),
                   fraction_neurons_with_secondary_cluster_le_5pct=float(((ok["size_2"] >= 2) & (share <= 0.05)).mean()),
                   paper={"ratio": 50, "secondary_share": 0.02})
    save_figure(fig, f3_png, f3_pdf)
    write_json(f3_claims, jsonable({**meta, "item": "NE-F3", "claims": {"33": c33}}))

    # NE-F4
    j = det[layer]["figure_neurons"]["f4"]
    c34 = {"rule": "in the NE-F2 layer, the neuron whose two biggest clusters (>= 5 examples each) gain the median "
                   "separation from neuron embeddings; PCA of unit-normalized embeddings"}
    if j is None:
        fig = empty_figure("NE-F4", f"no neuron of layer {layer} has two clusters of >= 5 examples")
    else:
        d = det[layer]["neurons"][str(j)]
        proj = {"labels": d["labels"], **d["projection"]}
        title = (f"NE-F4: the two biggest feature clusters of layer {layer} neuron {j} ({where}),\n"
                 f"clusters from neuron embeddings, shown under both embeddings")
        fig = plot_projection_pair(proj, title)
        lay = ok[(ok["layer"] == layer) & (ok["size_2"] >= 5)]
        gain = ((lay["neuron_pair_inter"] - lay["neuron_pair_intra"]) - (lay["pre_mlp_pair_inter"] - lay["pre_mlp_pair_intra"]))
        c34.update(layer=layer, neuron=j, **{f"{k}_pair_{m}": d["projection"][k][f"pair_{m}"]
                                             for k in ("neuron", "pre_mlp") for m in ("intra", "inter")},
                   layer_neurons_eligible=len(lay), layer_fraction_separation_gain_positive=float((gain > 0).mean())
                   if len(lay) else None)
    save_figure(fig, f4_png, f4_pdf)
    write_json(f4_claims, jsonable({**meta, "item": "NE-F4", "claims": {"34": c34}}))


if __name__ == "__main__":
    run(main)
