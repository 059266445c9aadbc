"""NC-F4: Wasserstein neurons use the negative activation space.

(a, b) the ReLU model's representative Wasserstein neuron (top WD of layer `layer`'s up-projection):
pre-activations, and post-ReLU activations with the zeros removed; (c, d) the same for the GELU model;
(e) perplexity of the unmodified GELU model, with the negative side of the top-p% WD neurons of every
up-projection clamped, and with as many random neurons clamped (mean ± SEM over seeds); (f) the sweep
over p. With a gated-FFN model (role `gated`): (g, h) its top-WD gate neuron before and after the SiLU,
(i) the clamp of negative gate pre-activations before the SiLU, its sweep in (f). The table holds the
sweeps with the tests (column `model`); claims 30 and 31: the GELU model's values, the gated model's under
`by_model`.
"""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import load_matrix, markdown_table, read_json, save_figure, write_table, write_text
from entangle.models.families import ACTIVATIONS
from entangle.negative.modes import mode_persistence_values, top_wd_modes
from entangle.negative.stats import TEST, ablation_values, clamp_sweep, significance_stars
from entangle.neurons.multimodality import ModeTest
from entangle.plotting.neurons import output_histogram
from entangle.plotting.style import PALETTE, caption, figure

PAPER = {"baseline_ppl": 12.3, "top5_ppl": 14.0, "p_value": 1e-4}  # NC §2.4: 12.3 -> "nearly 14", *** p <= 1e-4


def _neuron(stats: str, outputs: str, record: dict, top: int, test: ModeTest) -> dict:
    """The representative (top-WD) neuron and the negative-mode counts of the top-`top` WD neurons."""
    wd = pd.read_csv(stats)["wd"].to_numpy()
    return top_wd_modes(wd, load_matrix(outputs), ACTIVATIONS[record["family"]], top, test)


def _histograms(axes, n: dict, record: dict, letters: str, layer: int) -> None:
    name = f"{record['name']} ({n['activation']})"
    output_histogram(axes[0], n["pre"], f"({letters[0]}) {name}: neuron {n['neuron']}, layer {layer}\n"
                     f"WD {n['wd']:.3f}, {n['frac_negative']:.0%} negative, modes<0: {n['modes_pre']}",
                     color=PALETTE["wasserstein"])
    post = n["post"]
    if n["activation"] == "relu":
        shown = post[post != 0]
        title = f"({letters[1]}) post-ReLU, zeros removed ({shown.size:,} of {post.size:,})"
    else:
        shown = post
        shown_name = {"silu": "SiLU (before × up)"}.get(n["activation"], n["activation"].upper())
        title = f"({letters[1]}) post-{shown_name}, modes<0: {n['modes_post']}"
    output_histogram(axes[1], shown, title, color=PALETTE["other"], xlabel="post-activation")
    if n["activation"] != "relu" and np.any(shown < 0):
        # the negative region is squeezed into (min GELU, 0): show it enlarged
        inset = axes[1].inset_axes([0.45, 0.4, 0.52, 0.5])
        inset.hist(shown[shown < 0], bins=60, color=PALETTE["wasserstein"], alpha=0.85)
        inset.set_title("negative part", fontsize="x-small")
        inset.tick_params(labelsize="xx-small")


def _model_notes(r) -> str:
    return (f"Model {r['model']} ({r['model_id']}) @ {r['revision']}; dataset {r['dataset']}. Neurons selected by "
            f"WD on the **{r['wd_split']}** split (per layer, WD > percentile(WD, 100 − p) of its {r['matrix']} "
            f"projection); perplexity on the **{r['split']}** split, {r['windows']} windows × {r['window_tokens']} "
            f"tokens = {r['tokens']:,} tokens; {r['random_seeds']} random seeds (base seed {r['seed']}). "
            f"Clamp, in every layer: {r['clamp']}.")


def _markdown(table: pd.DataFrame) -> str:
    """A readable copy of the sweep, per model: the numbers that matter per p, the provenance below."""
    t = table
    view = pd.DataFrame({
        "model": t["model"] + " (" + t["matrix"] + ")",
        "p %": t["percent"].map(lambda v: f"{v:g}"), "neurons/layer": t["neurons_per_layer"],
        "PPL unmodified": t["baseline_ppl"].map(lambda v: f"{v:.3f}"),
        "PPL top-p WD clamped": [f"{a:.3f} ± {b:.3f}" for a, b in zip(t["top_ppl"], t["top_ppl_sem"])],
        "PPL random (mean ± SEM)": [f"{a:.3f} ± {b:.3f}" for a, b in zip(t["random_ppl_mean"], t["random_ppl_sem"])],
        "Δ top": [f"{a:+.3f} ± {b:.3f}" for a, b in zip(t["increase_top"], t["increase_top_sem"])],
        "Δ random": t["increase_random"].map(lambda v: f"{v:+.3f}"),
        "ratio Δ": t["ratio_of_increases"].map(lambda v: f"{v:.2f}"),
        "p (Wilcoxon)": t["p_wilcoxon"].map(lambda v: f"{v:.2g}"),
        "rank-biserial r": t["rank_biserial"].map(lambda v: f"{v:.2f}"),
        "max p over seeds": t["p_wilcoxon_max_over_seeds"].map(lambda v: f"{v:.2g}"),
        "p across seeds (t)": t["p_ttest_across_seeds"].map(lambda v: f"{v:.2g}"),
        "": t["significance"]})
    models = "\n".join(_model_notes(r) for _, r in t.drop_duplicates("model").iterrows())
    notes = (f"\n\n{models}\n"
             f"Test: {TEST}; effect size: matched-pairs rank-biserial r. ± = 1 SEM over windows (top, Δ top: paired) "
             f"or over seeds (random). *** p ≤ 1e-4, ** ≤ 1e-3, * ≤ 0.05. Every column, per row: the CSV.")
    return markdown_table(view) + notes + "\n"


def _sweep(clamp: list, summaries: list, dataset: str) -> tuple[list, dict]:
    """Table rows and per-percent statistics of one model's clamp jobs."""
    return clamp_sweep([(pd.read_csv(path), read_json(spath)) for path, spath in zip(clamp, summaries)], dataset)


def _bars(ax, h: dict, percent: float, name: str, letter: str) -> None:
    """Perplexity unmodified, top-p% WD clamped and random clamped (mean ± SEM), with the test's stars."""
    labels = ["unmodified", f"top {percent:g}% WD\nclamped", f"random {percent:g}%\nclamped"]
    heights = [h["baseline_ppl"], h["top_ppl"], h["random_ppl_mean"]]
    errors = [h["baseline_ppl_sem"], h["top_ppl_sem"], h["random_ppl_sem"]]
    colors = [PALETTE["dense"], PALETTE["wasserstein"], PALETTE["random"]]
    ax.bar(range(3), heights, yerr=errors, color=colors, capsize=4, width=0.65)
    ax.scatter(np.full(len(h["random_ppls"]), 2) + np.linspace(-0.18, 0.18, len(h["random_ppls"])),
               h["random_ppls"], s=8, color="black", zorder=3, label="random seeds")
    lo = min(heights) - 3 * max(max(errors), 0.01 * min(heights))
    hi = max(max(heights), max(h["random_ppls"])) + max(errors)
    span = hi - lo
    ax.set_ylim(max(0, lo), hi + 0.35 * span)
    y0, y1 = hi + 0.08 * span, hi + 0.13 * span
    ax.plot([1, 1, 2, 2], [y0, y1, y1, y0], color="black", lw=0.8)
    ax.text(1.5, hi + 0.15 * span, f"{significance_stars(h['p_wilcoxon'])}  p = {h['p_wilcoxon']:.1e}",
            ha="center", va="bottom", fontsize="small")
    for i, v in enumerate(heights):
        ax.text(i, max(0, lo) + 0.02 * span, f"{v:.2f}", ha="center", va="bottom", fontsize="small", color="white",
                fontweight="bold")
    ax.set_xticks(range(3), labels, fontsize="small")
    where = "gate before SiLU" if h["summary"].get("matrix") == "gate" else "every layer"
    ax.set(ylabel=f"perplexity ({h['summary']['split']})", title=f"({letter}) clamp negatives, {name}, {where}\n"
           f"ratio of increases {h['ratio_of_increases']:.2f}")
    ax.legend(loc="upper left", fontsize="x-small")


def main(relu_stats: str, relu_outputs: str, gelu_stats: str, gelu_outputs: str, clamp: list, summaries: list,
         relu: dict, gelu: dict, layer: int, percent: float, top: int, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str, gated: dict | None = None,
         gated_stats: str | None = None, gated_outputs: str | None = None, gated_clamp: list | None = None,
         gated_summaries: list | None = None) -> None:
    test = ModeTest()
    neurons = {"relu": _neuron(relu_stats, relu_outputs, relu, top, test),
               "gelu": _neuron(gelu_stats, gelu_outputs, gelu, top, test)}
    rows, per = _sweep(clamp, summaries, gelu["dataset"])
    sweeps = {"gelu": per}
    if gated:
        neurons["gated"] = _neuron(gated_stats, gated_outputs, gated, top, test)
        gated_rows, sweeps["gated"] = _sweep(gated_clamp, gated_summaries, gated["dataset"])
        rows += gated_rows
    table = pd.DataFrame(rows)
    table["primary"] = table["model"] == gelu["name"]
    table = table.sort_values(["primary", "percent"], ascending=[False, True]).reset_index(drop=True)
    write_table(table, csv)
    write_text(markdown, _markdown(table))
    for role, sweep in sweeps.items():
        if percent not in sweep:
            raise ValueError(f"headline percent {percent} is not among the {role} model's clamp results {sorted(sweep)}")
    h = per[percent]
    s = h["summary"]

    fig, axes = figure(3 if gated else 2, 3, width=3.6, height=3.0)
    _histograms(axes[0, :2], neurons["relu"], relu, "ab", layer)
    _histograms(axes[1, :2], neurons["gelu"], gelu, "cd", layer)
    _bars(axes[0, 2], h, percent, gelu["name"], "e")
    if gated:
        _histograms(axes[2, :2], neurons["gated"], {**gated, "name": f"{gated['name']} gate"}, "gh", layer)
        _bars(axes[2, 2], sweeps["gated"][percent], percent, gated["name"], "i")

    ax = axes[1, 2]
    styles = [("gelu", gelu["name"], "o", "-")] + ([("gated", gated["name"], "^", "--")] if gated else [])
    for role, name, marker, ls in styles:
        sw = sweeps[role]
        ps = sorted(sw)
        ax.errorbar(ps, [sw[p]["increase_top"] for p in ps], yerr=[sw[p]["increase_top_sem"] for p in ps],
                    marker=marker, ls=ls, color=PALETTE["wasserstein"], capsize=3,
                    label=f"{name}: top-p% WD (± paired SEM over windows)")
        ax.errorbar(ps, [sw[p]["increase_random"] for p in ps], yerr=[sw[p]["random_ppl_sem"] for p in ps],
                    marker=marker, ls=ls, color=PALETTE["random"], capsize=3,
                    label=f"{name}: random (mean ± SEM, {sw[percent]['n_seeds']} seeds)")
        for p in ps:
            ax.annotate(significance_stars(sw[p]["p_wilcoxon"]), (p, sw[p]["increase_top"] + sw[p]["increase_top_sem"]),
                        textcoords="offset points", xytext=(0, 3), ha="center", va="bottom", fontsize="small")
    ps = sorted(per)
    ax.axhline(0, color="black", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xticks(ps, [f"{p:g}" for p in ps])
    ax.set(xlabel="p (% of neurons per activation matrix)", ylabel="Δ perplexity vs unmodified",
           title="(f) sweep over p")
    ax.legend(loc="upper left", fontsize="x-small")
    models = f"ReLU {relu['name']}, GELU {gelu['name']}" + (f", gated {gated['name']} (gate, SiLU)" if gated else "")
    caption(fig, "NC-F4", f"Wasserstein neurons use the negative activation space ({models}; {scale} scale)")
    fig.text(0.5, -0.02, f"WDs from the {s['wd_split']} split, perplexity on {s['windows']} {s['split']} windows × "
             f"{s['window_tokens']} tokens. Error bars ±1 SEM: (e{', i' if gated else ''}) over windows (delta "
             f"method) for unmodified and top-p, over seeds for random; (f) paired over windows for top-p, over seeds "
             f"for random. *** p ≤ 1e-4 ({TEST})."
             + (f" (g-i) the gated model's gate projection: pre-activations, SiLU(gate) (before the product with "
                f"up), and the clamp of negative gate pre-activations before the SiLU." if gated else ""),
             ha="center", va="top", fontsize="x-small", wrap=True)
    fig.tight_layout()
    save_figure(fig, png, pdf)

    by_model = None
    if gated:
        by_model = {gated["name"]: {30: mode_persistence_values(neurons["gated"], neurons["relu"], gated["name"]),
                                    31: ablation_values(sweeps["gated"][percent], percent, gated["name"], PAPER)}}
    write_claim_values(claims, "NC-F4", scale, {
        30: mode_persistence_values(neurons["gelu"], neurons["relu"], gelu["name"]),
        31: ablation_values(h, percent, gelu["name"], PAPER),
    }, context={"gelu_model": gelu["model_id"], "gelu_revision": gelu["revision"], "relu_model": relu["model_id"],
                "relu_revision": relu["revision"], "dataset": gelu["dataset"], "layer": layer,
                "histogram_split": gelu["split"], "histogram_tokens": neurons["gelu"]["tokens"], "split": s["split"],
                "wd_split": s["wd_split"], "windows": s["windows"], "tokens": s["tokens"], "seed": s["seed"],
                "neuron_rule": f"top-WD neuron of layer {layer}'s activation matrix (up; gate for a gated FFN)",
                "test": TEST, "mode_test": str(test), "clamp": s["clamp"], "selection": s["selection"],
                **({"gated_model": gated["model_id"], "gated_revision": gated["revision"],
                    "gated_clamp": sweeps["gated"][percent]["summary"]["clamp"]} if gated else {})},
       by_model=by_model)


if __name__ == "__main__":
    run(main)
