"""Dataset examples, neuron embeddings and feature clusters for every neuron of one MLP layer (NE §4.1).

Pipeline for one layer, vectorized over neurons:
1. `neuron_maxima`: one forward pass over the windows (stopped after the layer's up-projection)
   gives every neuron's post-activation on every token; per window and neuron keep the max and its
   position ([N, F] each). No loop over neurons or examples.
2. Per neuron: reference max = max over the first `reference_examples` windows; examples = the
   FIRST `max_examples` of the first `examples` windows whose max >= threshold_frac * reference max
   (`neuron.select_examples`). Neurons whose reference max is <= 0 never fire and are skipped.
3. `gather_inputs`: a second pass collects the MLP input (the ln_2 output, i.e. exactly what
   `mlp.c_fc` receives) at the (window, max position) of every selected example,
   each distinct token once.
4. Per neuron: HAC on neuron embeddings h ⊙ w_j and, separately, on the pre-MLP embeddings h
   (`metrics.compare_neuron_vs_pre_mlp`).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from entangle.models.arch import activation_fn, mlp_matrix, weight

from .cluster import cosine_distance_matrix, figure_layer  # noqa: F401  (figure_layer: re-exported)
from .metrics import compare_neuron_vs_pre_mlp, size_ratio
from .neuron import select_examples


class _Stop(Exception):
    """Raised by a hook to end the forward pass once the layer has been seen."""


def _run_to(model, module, batch, want_input):
    seen = {}

    def hook(_m, args, output):
        seen["x"] = args[0] if want_input else output
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        model(input_ids=batch)
    except _Stop:
        pass
    finally:
        handle.remove()
    return seen["x"]


@torch.no_grad()
def neuron_maxima(model, windows, layer, batch_size=32, progress=True):
    """windows: LongTensor [N, T]. Returns (max_acts float32 [N, F], argmax int64 [N, F]).

    max_acts[n, j] = max over tokens of neuron j's post-activation (the family's FFN non-linearity
    applied to blocks.{layer}.mlp.up) on window n; argmax the first token reaching it.
    """
    module = mlp_matrix(model, layer, "up")
    act = activation_fn(model)
    device = next(model.parameters()).device
    maxes, poss = [], []
    for s in tqdm(range(0, len(windows), batch_size), desc=f"maxima L{layer}", unit="batch",
                  disable=not progress, mininterval=2.0):
        pre = _run_to(model, module, windows[s:s + batch_size].to(device), want_input=False)
        m, p = act(pre.float()).max(dim=1)
        maxes.append(m.cpu())
        poss.append(p.cpu())
    return torch.cat(maxes).numpy().astype(np.float32), torch.cat(poss).numpy().astype(np.int64)


@torch.no_grad()
def gather_inputs(model, windows, layer, win, pos, batch_size=32):
    """MLP inputs at (window, position) pairs. win, pos: int [P]. Returns float64 [P, d_in].

    Each distinct window is run once; pairs may repeat.
    """
    module = mlp_matrix(model, layer, "up")
    device = next(model.parameters()).device
    win, pos = np.asarray(win, dtype=np.int64), np.asarray(pos, dtype=np.int64)
    out = None
    needed = np.unique(win)
    for s in range(0, len(needed), batch_size):
        chunk = needed[s:s + batch_size]
        x = _run_to(model, module, windows[torch.from_numpy(chunk)].to(device), want_input=True).double().cpu()
        if out is None:
            out = np.zeros((len(win), x.shape[-1]))
        for k, w in enumerate(chunk):
            rows = np.flatnonzero(win == w)
            out[rows] = x[k, torch.from_numpy(pos[rows])].numpy()
    return out if out is not None else np.zeros((0, 0))


@torch.no_grad()
def token_activations(model, windows, layer, neuron, win):
    """Post-activations of one neuron on every token of the given windows: float32 [len(win), T]."""
    module = mlp_matrix(model, layer, "up")
    device = next(model.parameters()).device
    pre = _run_to(model, module, windows[torch.as_tensor(np.asarray(win, dtype=np.int64))].to(device), want_input=False)
    return activation_fn(model)(pre[..., neuron].float()).cpu().numpy()


def _pair_separation(d, labels):
    """Mean within-cluster distance of the two largest clusters (0 and 1) and the mean distance between them."""
    a, b = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    within = [d[np.ix_(i, i)][np.triu_indices(len(i), 1)].mean() for i in (a, b) if len(i) >= 2]
    return (float(np.mean(within)) if within else float("nan"), float(d[np.ix_(a, b)].mean()))


def analyse_layer(model, windows, layer, examples, reference_examples, threshold_frac=0.75, max_examples=100,
                  hac_threshold=0.5, linkage="average", neurons=None, batch_size=32, progress=True):
    """Feature clusters of every neuron of one layer.

    windows: LongTensor [max(examples, reference_examples), T]; the first `examples` rows are the
    example windows, the first `reference_examples` rows the reference sample.
    neurons: neuron indices to analyse (default: all).
    Returns (rows, details): rows = one dict per neuron (status, counts, NE-T1 metrics for both
    embeddings, cluster sizes); details = {neuron: dict(win, pos, act, h, ne, pre)} for analysed
    neurons (h: [E, d] pre-MLP embeddings; ne/pre: cluster_metrics dicts with labels and Z).
    """
    max_acts, argmax = neuron_maxima(model, windows, layer, batch_size, progress)
    W = weight(model, layer, "up").detach().double().cpu().numpy()           # [F, d_in]
    F = W.shape[0]
    neurons = np.arange(F) if neurons is None else np.asarray(neurons)
    ref_max = max_acts[:reference_examples].max(0)
    chosen = {}
    for j in neurons:
        if ref_max[j] > 0:
            chosen[int(j)] = select_examples(max_acts[:examples, j], ref_max[j], threshold_frac, max_examples)
    # one gather for every selected (window, position), each distinct token once
    keys = np.unique(np.concatenate([idx * windows.shape[1] + argmax[idx, j] for j, idx in chosen.items()]
                                    or [np.zeros(0, dtype=np.int64)]))
    H = gather_inputs(model, windows, layer, keys // windows.shape[1], keys % windows.shape[1], batch_size)
    rows, details = [], {}
    for j in tqdm(neurons, desc=f"clusters L{layer}", unit="neuron", disable=not progress, mininterval=2.0):
        j = int(j)
        row = dict(layer=int(layer), neuron=j, ref_max=float(ref_max[j]))
        idx = chosen.get(j)
        if idx is None:
            rows.append({**row, "status": "never active", "n_examples": 0})
            continue
        row["n_examples"] = len(idx)
        if len(idx) < 2:
            rows.append({**row, "status": "fewer than 2 examples"})
            continue
        pos = argmax[idx, j]
        h = H[np.searchsorted(keys, idx * windows.shape[1] + pos)]
        res = compare_neuron_vs_pre_mlp(h, W[j], hac_threshold, linkage)
        row["status"] = "analysed"
        for emb, m in res.items():
            sizes = np.bincount(m["labels"])
            row.update({f"{emb}_n_clusters": m["n_clusters"], f"{emb}_n_clusters_ge2": int((sizes >= 2).sum()),
                        f"{emb}_intra": m["intra"], f"{emb}_inter": m["inter"],
                        f"{emb}_max_dist": m["max_dist"], f"{emb}_mean_dist": m["mean_dist"]})
        sizes = np.sort(np.bincount(res["neuron"]["labels"]))[::-1]
        row.update(size_1=int(sizes[0]), size_2=int(sizes[1]) if len(sizes) > 1 else 0,
                   size_ratio=size_ratio(res["neuron"]["labels"]))
        if len(sizes) > 1:   # the two largest neuron-embedding clusters under both representations
            for emb, x in (("neuron", h * W[j]), ("pre_mlp", h)):
                within, between = _pair_separation(cosine_distance_matrix(x), res["neuron"]["labels"])
                row[f"{emb}_pair_intra"], row[f"{emb}_pair_inter"] = within, between
        rows.append(row)
        details[j] = dict(win=idx, pos=pos, act=max_acts[idx, j], h=h, w=W[j], **res)
    return rows, details


def choose_figure_neurons(rows, min_pair=5):
    """Which neurons of a layer the NE figures show (decisions where the paper is silent).

    - "f2": the most neuron-embedding clusters with >= 2 examples (singletons are not behaviours);
      ties: more examples, then the lower index.
    - "f3": the largest size ratio between the two biggest clusters, the second having >= 2
      examples; ties: the lower index. None if no neuron has two such clusters.
    - "f4": among neurons whose two biggest clusters both have >= min_pair examples, the one whose
      gain in pair separation, (inter - intra)_neuron - (inter - intra)_pre-MLP, is closest to the
      median gain: a typical neuron, not the best one. None if there is no such neuron.
    Returns {"f2": neuron or None, "f3": ..., "f4": ...}.
    """
    ok = [r for r in rows if r.get("status") == "analysed"]
    out = {"f2": None, "f3": None, "f4": None}
    if not ok:
        return out
    out["f2"] = min(ok, key=lambda r: (-r["neuron_n_clusters_ge2"], -r["n_examples"], r["neuron"]))["neuron"]
    rare = [r for r in ok if r["size_2"] >= 2]
    if rare:
        out["f3"] = min(rare, key=lambda r: (-r["size_ratio"], r["neuron"]))["neuron"]
    pair = [r for r in ok if r["size_2"] >= min_pair and np.isfinite(r.get("neuron_pair_intra", np.nan))
            and np.isfinite(r.get("pre_mlp_pair_intra", np.nan))]
    if pair:
        gain = np.array([(r["neuron_pair_inter"] - r["neuron_pair_intra"])
                         - (r["pre_mlp_pair_inter"] - r["pre_mlp_pair_intra"]) for r in pair])
        k = int(np.argmin(np.abs(gain - np.median(gain))))
        out["f4"] = pair[k]["neuron"]
    return out
