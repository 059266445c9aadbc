"""NE-F5: one neuron of the NE-loss SAE (first seed) and claim 38's measured values."""

import numpy as np
from _runner import run

from entangle.embeddings.claims import jsonable
from entangle.io import read_json, save_figure, write_json
from entangle.plotting.embeddings import plot_sae_neuron

PAPER = {"n_clusters": 1, "mean_dist": 0.01, "max_dist": 0.04, "logit_order": [9, 6, 4, 7, 8]}


def main(metrics: str, arrays: str, scale: str, png: str, pdf: str, claims: str) -> None:
    m = read_json(metrics)
    f5 = m["f5"]
    a = np.load(arrays)
    report = {k[3:]: a[k] for k in a.files if k.startswith("f5_")}
    report["n_active"] = int(report["n_active"])
    top = ", ".join(str(c) for c in f5["classes_by_logit_effect"][:3])
    title = (f"NE-F5: NE-loss SAE neuron {f5['neuron']} ({m['dataset']}, seed {m['seed']}, {scale} scale): "
             f"{f5['n_active_test']} activating test examples, {f5['n_clusters']} feature cluster(s),\n"
             f"embedding distance mean {f5['mean_dist']:.3f} / max {f5['max_dist']:.3f}; "
             f"raises logits of {top} most (paper: 1 cluster, 0.01 / 0.04; 9, 6, 4)")
    save_figure(plot_sae_neuron(report, title), png, pdf)
    spread = np.asarray(a["ne_mean_dist"], dtype=np.float64)  # every NE-loss SAE neuron with >= 2 examples
    spread = spread[np.isfinite(spread)]
    population = {"population_median_mean_dist": float(np.median(spread)) if spread.size else None,
                  "population_share_mean_dist_le_005": float(np.mean(spread <= 0.05)) if spread.size else None,
                  "population_neurons": int(spread.size)}
    write_json(claims, jsonable({"item": "NE-F5", "scale": scale, "dataset": m["dataset"], "split": "test", "seed": m["seed"],
                        "claims": {"38": {**f5, **population, "paper": PAPER,
                                          "single_cluster": f5["n_clusters"] == 1}}}))


if __name__ == "__main__":
    run(main)
