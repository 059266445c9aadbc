"""WD-FA3: Sparse Expansion perplexity vs the number of experts K at one per-expert sparsity."""

from _runner import run

from entangle.claims import write_claim_values
from entangle.io import markdown_table, save_figure, write_table, write_text
from entangle.plotting.style import caption
from entangle.sparsify.plots import perplexity_vs_k
from entangle.sparsify.report import k_sweep_values, load_runs, window_nlls


def main(runs: list, nll: list, model: str, sparsity: str, context: dict, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    tidy = load_runs(list(runs))
    sweep = tidy[tidy.method == "sparse_expansion"].sort_values("k")
    sgpt = tidy[tidy.method == "sparsegpt"].perplexity
    dense = tidy[tidy.method == "dense"].perplexity
    sgpt = float(sgpt.iloc[0]) if len(sgpt) else None
    dense = float(dense.iloc[0]) if len(dense) else None
    fig = perplexity_vs_k(sweep, sgpt, dense, model, sparsity)
    caption(fig, "WD-FA3", f"number of experts ({scale} scale)")
    save_figure(fig, png, pdf)
    out = tidy.copy()
    out["relative_to_sparsegpt"] = out.perplexity / sgpt if sgpt else float("nan")
    write_table(out, csv)
    write_text(markdown, f"# WD-FA3: Sparse Expansion perplexity vs K ({model}, {100 * float(sparsity):g}% per expert, "
               f"{scale} scale)\n\n" + markdown_table(out[["model", "method", "k", "sparsity", "perplexity",
                                                          "relative_to_sparsegpt", "ffn_sparsity",
                                                          "router_macs_per_token"]], digits=5) + "\n")
    values = k_sweep_values(sweep, sgpt, window_nlls(tidy, list(nll)))
    write_claim_values(claims, "WD-FA3", scale, {20: values}, context={
        **context, "model": model, "sparsity": sparsity, "seed": int(tidy.seed.iloc[0]),
        "model_id": tidy.model_id.iloc[0], "revision": tidy.revision.iloc[0]})


if __name__ == "__main__":
    run(main)
