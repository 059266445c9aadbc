"""NC-F4e: per-window NLL of the unmodified model and, for each percent p in `percents` ("1_2_5_10"), of
the top-p% WD neurons of every activation matrix (the up-projection; the gate projection of a gated FFN,
before its SiLU) clamped at 0 (negative side removed) and of as many random neurons per layer, one run per seed.

One model load; every condition runs on the same windows (paired). WDs come from the capture split,
perplexity from the evaluation split; the two must differ.
"""

import logging
import time

import numpy as np
import pandas as pd
import torch
from _runner import run

from entangle.config import activation_matrix
from entangle.device import resolve_device
from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.io import write_json, write_table
from entangle.models.arch import arch_of, mlp_matrix, n_layers, weight
from entangle.models.families import ACTIVATIONS
from entangle.models.load import load_model
from entangle.negative.clamp import clamp_negative, random_like, top_wd_neurons

log = logging.getLogger("clamp_ablation")
CLAMP = {"up": "up-projection output clamp(min=0) before the activation (= ReLU after it)",
         "gate": "gate-projection output clamp(min=0) before the SiLU (= SiLU(ReLU(gate)) * up): the gate's "
                 "negative side removed"}


def main(model: dict, windows: str, baseline: str, stats: list, revision: str, split: str, percents: str,
         capture_split: str, random_seeds: int, seed: int, max_windows: int | None, batch_size: int,
         nll: str, summary: str, device: str = "cpu") -> None:
    device = resolve_device(device)
    if split == capture_split:
        raise ValueError(f"the WDs that select neurons come from the {capture_split!r} split; evaluate on another "
                         "split (evaluation.split), not the same one")
    net, _ = load_model(model["source"], revision, device=device)
    family = arch_of(net).family
    act = getattr(net.config, "hidden_act", None) or getattr(net.config, "activation_function", None)
    if act != ACTIVATIONS[family]:
        log.warning("model activation %r differs from the family default %r", act, ACTIVATIONS[family])
    matrix = activation_matrix(family)  # stats were computed on this matrix (the rule asks for the same)
    frames = [pd.read_csv(f) for f in stats]
    if any(set(f["matrix"]) != {matrix} for f in frames):
        raise ValueError(f"{family}: the clamp acts on {matrix!r}; stats of another matrix were given")
    wd = {int(f["layer"].iloc[0]): f.sort_values("neuron")["wd"].to_numpy() for f in frames}
    if sorted(wd) != list(range(n_layers(net))):
        raise ValueError(f"stats cover layers {sorted(wd)}, the model has {n_layers(net)}")
    sizes = {layer: int(weight(net, layer, matrix).shape[0]) for layer in wd}
    if any(len(wd[l]) != sizes[l] for l in wd):
        raise ValueError(f"stats and model disagree on the number of {matrix}-projection neurons")
    w = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    weights_before = {l: mlp_matrix(net, l, matrix).weight.detach().clone() for l in wd}
    rows = []

    def evaluate(p: float, condition: str, repetition: int, selection: dict) -> np.ndarray:
        with clamp_negative(net, selection, matrix=matrix):
            values = window_nll(net, w, batch_size=batch_size).numpy()
        rows.append(pd.DataFrame({"percent": p, "condition": condition, "repetition": repetition,
                                  "window": np.arange(len(values)), "nll": values}))
        log.info("p=%g %s rep %d: %d neurons, PPL %.4f", p, condition, repetition,
                 sum(len(v) for v in selection.values()), perplexity(values))
        return values

    t0 = time.perf_counter()
    base = evaluate(float("nan"), "baseline", -1, {})
    backbone = pd.read_csv(baseline).sort_values("window")["nll"].to_numpy()
    if len(backbone) != len(base):
        raise ValueError(f"the perplexity rule evaluated {len(backbone)} windows, this job {len(base)}")
    diff = float(np.max(np.abs(backbone - base)))
    if diff > 1e-4 * max(1.0, float(np.abs(base).max())):
        raise ValueError(f"unclamped per-window NLL differs from the perplexity rule's by up to {diff:.3g} nats")

    selections = {}
    for p in (float(x) for x in percents.split("_")):
        top = top_wd_neurons(wd, p)
        randoms = [random_like(top, sizes, seed, r) for r in range(random_seeds)]
        evaluate(p, "top_wd", -1, top)
        for r, selection in enumerate(randoms):
            evaluate(p, "random", r, selection)
        counts = {str(l): int(len(v)) for l, v in top.items()}
        selections[f"{p:g}"] = {
            "percent": p, "neurons_per_layer": counts, "neurons_total": int(sum(counts.values())),
            "top_neurons": {str(l): v.tolist() for l, v in top.items()},
            "random_neurons": [{str(l): v.tolist() for l, v in sel.items()} for sel in randoms]}
    elapsed = time.perf_counter() - t0
    assert all(torch.equal(weights_before[l], mlp_matrix(net, l, matrix).weight) for l in wd), "weights changed"

    write_table(pd.concat(rows, ignore_index=True), nll, float_format="%.10g")
    write_json(summary, {
        "model": model["name"], "model_id": model.get("hub_id") or model["source"], "revision": revision,
        "activation": act, "matrix": matrix, "clamp": CLAMP[matrix],
        "split": split, "wd_split": capture_split, "selection": "WD > percentile(WD, 100 - p), per layer",
        "layer_sizes": {str(l): int(s) for l, s in sizes.items()},
        "random": "same count per layer, uniform without replacement over all neurons of the layer",
        "random_seeds": random_seeds, "seed": seed, "windows": int(w.shape[0]), "window_tokens": int(w.shape[1]),
        "tokens": int(w.numel()), "baseline_max_abs_diff_vs_perplexity_rule": diff,
        "evaluation_seconds": round(elapsed, 2), "forward_passes": len(rows), "percents": selections,
    })


if __name__ == "__main__":
    run(main)
