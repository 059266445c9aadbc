"""WD-FA2: across training checkpoints, weight updates and WD of the final top-WD neurons vs the rest."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.dynamics import first_step_reaching, mean_sem, row_update_norms
from entangle.neurons.population import (early_over_final, early_top_overlap, excess_early_over_final,
                                         update_ratio)
from entangle.neurons.selection import top_k
from entangle.plotting.style import PALETTE, caption, figure


def main(stats: list, weights: list, revisions: list, record: dict, layer: int, dynamics: dict,
         tokens_per_step: int, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    steps = np.array([int(r.removeprefix("step")) for r in revisions])
    wd = np.stack([pd.read_csv(f)["wd"].to_numpy() for f in stats])  # [checkpoints, n]
    wns = top_k(wd[-1], dynamics["top"])
    rest = np.setdiff1d(np.arange(wd.shape[1]), wns)
    norms = row_update_norms([np.load(f) for f in weights])  # [intervals, n]
    wn_upd, wn_upd_sem = mean_sem(norms[:, wns])
    rest_upd, rest_upd_sem = mean_sem(norms[:, rest])
    wn_wd, wn_wd_sem = mean_sem(wd[:, wns])
    rest_wd, rest_wd_sem = mean_sem(wd[:, rest])
    table = pd.DataFrame({"revision": revisions, "step": steps, "tokens_seen": steps * tokens_per_step,
                          "wd_wn_mean": wn_wd, "wd_wn_sem": wn_wd_sem, "wd_rest_mean": rest_wd, "wd_rest_sem": rest_wd_sem,
                          "update_wn_mean": np.r_[np.nan, wn_upd], "update_wn_sem": np.r_[np.nan, wn_upd_sem],
                          "update_rest_mean": np.r_[np.nan, rest_upd], "update_rest_sem": np.r_[np.nan, rest_upd_sem]})
    for key in ("model", "model_id", "split", "dataset", "seed"):
        table[key] = record[key] if key != "model" else record["name"]
    table["layer"] = layer
    table["tracked_neurons"] = len(wns)
    write_table(table, csv, markdown)

    fig, axes = figure(1, 2, width=4.0, height=3.0)
    x = np.maximum(steps, 0.5)
    ax = axes[0, 0]
    for mean, sem, color, label in ((wn_upd, wn_upd_sem, PALETTE["wasserstein"], f"final top-{len(wns)} WD"),
                                    (rest_upd, rest_upd_sem, PALETTE["other"], "other neurons")):
        ax.errorbar(x[1:], mean, yerr=sem, color=color, marker="o", ms=3, capsize=2, label=label)
    ax.set(xscale="log", yscale="log", xlabel="checkpoint step (interval end)", ylabel="‖Δw‖₂ since previous checkpoint",
           title="(a) weight updates")
    ax.legend(fontsize="x-small")
    ax = axes[0, 1]
    for mean, sem, color, label in ((wn_wd, wn_wd_sem, PALETTE["wasserstein"], f"final top-{len(wns)} WD"),
                                    (rest_wd, rest_wd_sem, PALETTE["other"], "other neurons")):
        ax.errorbar(x, mean, yerr=sem, color=color, marker="o", ms=3, capsize=2, label=label)
    early = dynamics["early_fraction"] * steps[-1]
    ax.axvline(early, color="black", ls=":", lw=0.8, label=f"{dynamics['early_fraction']:.0%} of training")
    ax.set(xscale="log", xlabel="checkpoint step", ylabel="WD to N(0,1)", title="(b) WD over training")
    ax.legend(fontsize="x-small")
    caption(fig, "WD-FA2", f"training dynamics, {record['name']} layer {layer} ({scale} scale; mean ± SEM)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    at_early = int(np.argmin(np.abs(steps - early)))
    write_claim_values(claims, "WD-FA2", scale, {
        8: {"cumulative_update_wn": wn_upd.sum(), "cumulative_update_rest": rest_upd.sum(),
            "update_ratio_wn_to_rest": update_ratio(norms, wns),  # WNs and the rest redrawn separately
            "intervals_wn_larger": int((wn_upd > rest_upd).sum()), "intervals": len(wn_upd)},
        9: {"early_step": int(steps[at_early]), "early_fraction_of_training": steps[at_early] / steps[-1],
            # judged: the WNs' excess over the rest of the layer, early over final (WNs and rest redrawn apart)
            "wd_wn_excess_early_over_final": excess_early_over_final(wd[at_early], wd[-1], wns),
            "wd_wn_early_over_final": early_over_final(wd[at_early, wns], wd[-1, wns]),  # WNs redrawn
            "wd_rest_early_over_final": rest_wd[at_early] / rest_wd[-1],
            **early_top_overlap(wd[at_early], wns),
            "first_step_90pct_of_final": first_step_reaching(steps, wn_wd, 0.9)}},
        context={**record, "layer": layer, "checkpoints": len(steps), "tokens_per_step": tokens_per_step})


if __name__ == "__main__":
    run(main)
