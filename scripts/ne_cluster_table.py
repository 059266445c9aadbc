"""NE-T1: intra- and inter-cluster cosine distance of every analysed neuron's feature clusters, neuron
embeddings vs pre-MLP embeddings (each clustered with its own HAC), mean and median over neurons; claim 34."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.bootstrap import bootstrap
from entangle.embeddings.claims import jsonable
from entangle.embeddings.metrics import aggregate
from entangle.io import markdown_table, read_json, write_json, write_table, write_text

EMBEDDINGS = {"pre_mlp": "Pre-MLP", "neuron": "Neuron"}
PAPER = {"pre_mlp": {"intra": 0.31, "inter": 0.63}, "neuron": {"intra": 0.21, "inter": 0.73}}  # Foote, Table 1


def rows_for(df, layer, meta):
    counts = df["status"].value_counts()
    ok = df[df["status"] == "analysed"]
    rows = []
    for key, name in EMBEDDINGS.items():
        intra, inter = aggregate(ok[f"{key}_intra"]), aggregate(ok[f"{key}_inter"])
        clusters = aggregate(ok[f"{key}_n_clusters"])
        rows.append({"embedding": name, "layer": layer,
                     "intra_mean": intra["mean"], "intra_median": intra["median"],
                     "inter_mean": inter["mean"], "inter_median": inter["median"],
                     "clusters_mean": clusters["mean"], "clusters_median": clusters["median"],
                     "paper_intra": PAPER[key]["intra"] if layer == "all" else np.nan,
                     "paper_inter": PAPER[key]["inter"] if layer == "all" else np.nan,
                     "neurons": len(df), "neurons_analysed": len(ok),
                     "neurons_never_active": int(counts.get("never active", 0)),
                     "neurons_fewer_than_2_examples": int(counts.get("fewer than 2 examples", 0)),
                     "intra_neurons_used": intra["n_used"], "intra_neurons_skipped_all_singletons": intra["n_skipped"],
                     "inter_neurons_used": inter["n_used"], "inter_neurons_skipped_one_cluster": inter["n_skipped"],
                     "examples_mean": float(ok["n_examples"].mean()) if len(ok) else np.nan, **meta})
    return rows


def main(tables: list, info: str, settings: dict, scale: str, seed: int, table: str, markdown: str, claims: str) -> None:
    df = pd.concat([pd.read_csv(t) for t in tables], ignore_index=True)
    win = read_json(info)
    meta = {"model": win["model"], "model_id": win["model_id"], "revision": win["revision"], "dataset": win["dataset"],
            "split": win["split"], "examples": win["examples"], "reference_examples": win["reference_examples"],
            "example_tokens": win["example_tokens"], "tokens": win["examples"] * win["example_tokens"], "seed": seed,
            "threshold_frac": settings["threshold_frac"], "max_examples": settings["max_examples"],
            "hac_threshold": settings["hac_threshold"], "linkage": settings["linkage"]}
    rows = rows_for(df, "all", meta)
    for layer, part in df.groupby("layer", sort=True):
        rows += rows_for(part, str(layer), meta)
    out = pd.DataFrame(rows)
    write_table(out, table)
    show = out[["embedding", "layer", "intra_mean", "intra_median", "paper_intra", "inter_mean", "inter_median",
                "paper_inter", "neurons_analysed", "inter_neurons_used"]]
    write_text(markdown, markdown_table(show) + (
        f"\n\n{meta['model']} @ {meta['revision']} ({meta['model_id']}), {meta['examples']} {meta['dataset']} "
        f"{meta['split']} examples of {meta['example_tokens']} tokens; per neuron the first {meta['max_examples']} "
        f"examples reaching {meta['threshold_frac']:g} x its max over {meta['reference_examples']} windows; HAC "
        f"({meta['linkage']}) at cosine distance {meta['hac_threshold']:g}. Inter-cluster distance needs >= 2 "
        f"clusters (inter_neurons_used). Paper (GPT-2 small, all neurons): its Table 1.\n"))

    ok = df[df["status"] == "analysed"]
    both_intra = ok[["neuron_intra", "pre_mlp_intra"]].dropna()
    both_inter = ok[["neuron_inter", "pre_mlp_inter"]].dropna()
    allrows = {r["embedding"]: r for r in rows if r["layer"] == "all"}
    ne, pre = allrows["Neuron"], allrows["Pre-MLP"]
    c34 = {"measured": {f"{emb}_{k}_{agg}": allrows[name][f"{k}_{agg}"] for emb, name in EMBEDDINGS.items()
                        for k in ("intra", "inter") for agg in ("mean", "median")},
           "paper": {f"{emb}_{k}": PAPER[emb][k] for emb in EMBEDDINGS for k in ("intra", "inter")},
           "neurons_analysed": len(ok), "neurons_total": len(df),
           "intra_neurons_used": {"neuron": ne["intra_neurons_used"], "pre_mlp": pre["intra_neurons_used"]},
           "inter_neurons_used": {"neuron": ne["inter_neurons_used"], "pre_mlp": pre["inter_neurons_used"]},
           "fraction_neurons_intra_lower_with_neuron_embeddings":
               float((both_intra["neuron_intra"] < both_intra["pre_mlp_intra"]).mean()) if len(both_intra) else None,
           "fraction_neurons_inter_higher_with_neuron_embeddings":
               float((both_inter["neuron_inter"] > both_inter["pre_mlp_inter"]).mean()) if len(both_inter) else None,
           **{f"{k}_median_neuron_minus_pre_mlp": bootstrap(  # neurons redrawn, both embeddings of each together
               lambda a, b: np.nanmedian(a) - np.nanmedian(b), ok[f"neuron_{k}"].to_numpy(dtype=float),
               ok[f"pre_mlp_{k}"].to_numpy(dtype=float), unit="neurons") for k in ("intra", "inter")},
           "direction_holds": {f"intra_{agg}": bool(ne[f"intra_{agg}"] < pre[f"intra_{agg}"]) for agg in ("mean", "median")}
           | {f"inter_{agg}": bool(ne[f"inter_{agg}"] > pre[f"inter_{agg}"]) for agg in ("mean", "median")},
           "definitions": "intra: mean over clusters with >= 2 examples of the mean within-cluster pairwise cosine "
                          "distance; inter: mean distance over pairs in different clusters; each embedding clustered "
                          "with its own HAC; NaN neurons skipped and counted"}
    write_json(claims, jsonable({"item": "NE-T1", "scale": scale, **meta, "claims": {"34": c34}}))


if __name__ == "__main__":
    run(main)
