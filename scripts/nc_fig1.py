"""NC-F1: (a) WD of layer-1 up-projection neurons across model sizes and checkpoints; (b) weight changes
of each model's top-10 Wasserstein neurons vs other neurons over regular checkpoint intervals."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.dynamics import mean_sem, row_update_norms
from entangle.neurons.population import interval_ratios, size_trend
from entangle.neurons.selection import top_k
from entangle.plotting.neurons import wd_distributions
from entangle.plotting.style import caption, figure


def main(stats: list, weights: list, models: list, layer: int, top: int, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    rows, finals, k, final_wd, largest_dynamics = [], [], 0, [], None
    fig, axes = figure(1, 3, width=3.8, height=3.0)
    for m in models:
        n = len(m["revisions"])
        frames = [pd.read_csv(f) for f in stats[k : k + n]]
        norms = row_update_norms([np.load(f) for f in weights[k : k + n]])
        k += n
        steps = np.array([int(r.removeprefix("step")) for r in m["revisions"]])
        wd = np.stack([f["wd"].to_numpy() for f in frames])
        wns = top_k(wd[-1], top)
        rest = np.setdiff1d(np.arange(wd.shape[1]), wns)
        final_wd.append(wd[-1])
        largest_dynamics = (norms, wns)  # the last model is the largest
        ratio = norms[:, wns].mean(1) / norms[:, rest].mean(1)
        wn_upd, wn_sem = mean_sem(norms[:, wns])
        for c, revision in enumerate(m["revisions"]):
            rows.append({"model": m["name"], "revision": revision, "step": steps[c], "layer": layer,
                         "split": frames[c]["split"].iloc[0], "tokens": int(frames[c]["tokens"].iloc[0]),
                         "seed": int(frames[c]["seed"].iloc[0]), "neurons": wd.shape[1],
                         "wd_mean": np.nanmean(wd[c]), "wd_max": np.nanmax(wd[c]),
                         "update_top_mean": wn_upd[c - 1] if c else np.nan, "update_top_sem": wn_sem[c - 1] if c else np.nan,
                         "update_rest_mean": norms[c - 1, rest].mean() if c else np.nan,
                         "update_ratio_top_to_rest": ratio[c - 1] if c else np.nan})
        finals.append(frames[-1].assign(model=m["name"]))
        axes[0, 1].plot(np.maximum(steps, 1), np.nanmean(wd, axis=1), marker="o", ms=3, label=m["name"])
        axes[0, 2].plot(steps[1:], ratio, marker="o", ms=3, label=m["name"])
    table = pd.DataFrame(rows)
    write_table(table, csv, markdown)
    names = [m["name"] for m in models]
    wd_distributions(axes[0, 0], pd.concat(finals), by="model", order=names,
                     title=f"(a) WD at the final checkpoint, layer {layer}")
    axes[0, 1].set(xscale="log", xlabel="checkpoint step", ylabel="mean WD over neurons", title="(a) mean WD over training")
    axes[0, 1].legend(fontsize="x-small")
    axes[0, 2].axhline(1, color="black", lw=0.8, ls=":")
    axes[0, 2].set(xlabel="interval end step", ylabel=f"‖Δw‖ top-{top} WN / other neurons",
                   title="(b) weight change of top WNs")
    axes[0, 2].legend(fontsize="x-small")
    caption(fig, "NC-F1", f"Wasserstein neurons across model sizes and training ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    final = table.groupby("model", sort=False).last().reindex(names)
    early = table.dropna(subset=["update_ratio_top_to_rest"]).groupby("model", sort=False)
    largest = names[-1]
    write_claim_values(claims, "NC-F1", scale, {
        22: {"models": len(names), **size_trend(final_wd),  # each model's neurons redrawn
             "mean_wd_largest_over_smallest": final["wd_mean"].iloc[-1] / final["wd_mean"].iloc[0],
             "max_wd_largest_over_smallest": final["wd_max"].iloc[-1] / final["wd_max"].iloc[0]},
        23: {"model": largest, "largest_model": largest, **interval_ratios(*largest_dynamics),  # WNs and the rest redrawn
             "models_first_ratio_above_1": int((early.first()["update_ratio_top_to_rest"] > 1).sum()),
             "models_last_ratio_below_1": int((early.last()["update_ratio_top_to_rest"] < 1).sum())}},
        context={"models": ",".join(names), "layer": layer, "top": top})


if __name__ == "__main__":
    run(main)
