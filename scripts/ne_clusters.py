"""Feature clusters of every neuron of one MLP layer of the GPT-2 role model (NE §4.1): per-neuron NE-T1
metrics (CSV) and, for the neurons the figures may show, clusters, dendrograms and token snippets (JSON)."""

import logging

import numpy as np
import pandas as pd
import torch
from _runner import run

from entangle.device import resolve_device
from entangle.embeddings.claims import jsonable
from entangle.embeddings.collect import analyse_layer, choose_figure_neurons, token_activations
from entangle.embeddings.project import project_pair
from entangle.io import write_json, write_table
from entangle.models.load import load_model

SNIPPET_BEFORE, SNIPPET_AFTER = 10, 5  # tokens shown before / after the key token (paper: 5 after)


def snippets(model, tok, windows, layer, j, d):
    acts = token_activations(model, windows, layer, j, d["win"])
    out = []
    for k, (w, p) in enumerate(zip(d["win"], d["pos"])):
        lo, hi = max(0, p - SNIPPET_BEFORE), min(windows.shape[1], p + SNIPPET_AFTER + 1)
        ids = windows[w, lo:hi].tolist()
        out.append(dict(window=int(w), pos=int(p), key=int(p - lo), act=float(d["act"][k]),
                        tokens=[tok.decode([i]) for i in ids], acts=[float(a) for a in acts[k, lo:hi]]))
    return out


def main(model: dict, checkpoints: str, windows: str, layer: str, settings: dict, device: str, table: str,
         details: str) -> None:
    device = resolve_device(device)
    layer = int(layer)
    net, tok = load_model(model["source"], model["revision"], device=device)
    w = torch.from_numpy(np.load(windows).astype(np.int64))
    n_ex, n_ref = min(settings["examples"], len(w)), min(settings["reference_examples"], len(w))
    n_neurons = settings.get("neurons_per_layer")
    rows, det = analyse_layer(net, w, layer, n_ex, n_ref, settings["threshold_frac"], settings["max_examples"],
                              settings["hac_threshold"], settings["linkage"],
                              neurons=None if n_neurons is None else range(n_neurons))
    df = pd.DataFrame(rows)
    df.insert(0, "model", model["name"])
    df.insert(1, "revision", model["revision"])
    write_table(df, table)
    counts = df["status"].value_counts().to_dict()
    logging.info("layer %d: %s", layer, counts)

    chosen = choose_figure_neurons(rows)
    neurons = {}
    for role, j in chosen.items():
        if j is None or str(j) in neurons:
            continue
        d = det[j]
        entry = dict(neuron=j, ref_max=float(next(r for r in rows if r["neuron"] == j)["ref_max"]),
                     labels=d["neuron"]["labels"], Z=d["neuron"]["Z"], labels_pre=d["pre_mlp"]["labels"],
                     Z_pre=d["pre_mlp"]["Z"], examples=snippets(net, tok, w, layer, j, d))
        proj = project_pair(d["h"], d["w"])
        row = next(r for r in rows if r["neuron"] == j)
        entry["projection"] = {key: dict(coords=proj[key][0], ratio=proj[key][1],
                                         pair_intra=row.get(f"{key}_pair_intra"), pair_inter=row.get(f"{key}_pair_inter"))
                               for key in ("neuron", "pre_mlp")}
        neurons[str(j)] = entry
    write_json(details, jsonable({"layer": layer, "model": model["name"], "revision": model["revision"],
                                  "d_ff": int(len(net.state_dict()[f"transformer.h.{layer}.mlp.c_fc.bias"]))
                                  if model["family"] == "gpt2" else None,
                                  "status_counts": counts, "figure_neurons": chosen, "neurons": neurons}))


if __name__ == "__main__":
    run(main)
