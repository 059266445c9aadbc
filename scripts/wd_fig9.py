"""WD-F9: perplexity vs sparsity per model: Sparse Expansion vs SparseGPT, Wanda and magnitude pruning."""

from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure
from entangle.plotting.style import caption
from entangle.sparsify.plots import perplexity_vs_sparsity
from entangle.sparsify.report import equal_nonzeros_gap_values, load_runs, window_nlls


def main(runs: list, nll: list, sparsities: list, methods: list, k: int, context: dict, scale: str,
         png: str, pdf: str, claims: str) -> None:
    tidy = load_runs(list(runs))
    fig = perplexity_vs_sparsity(tidy, sparsities, methods, k)
    first = tidy.iloc[0]
    caption(fig, "WD-F9", f"perplexity vs FFN sparsity, SE (K={k}) vs one-shot pruners ({first.dataset} "
            f"{first.split}, {scale})")
    save_figure(fig, png, pdf)
    values, _ = equal_nonzeros_gap_values(tidy, k, window_nlls(tidy, list(nll)))
    write_claim_values(claims, "WD-F9", scale, {19: values}, context={
        **context, "models": ", ".join(dict.fromkeys(tidy.model)), "sparsities": ", ".join(sparsities),
        "seed": int(first.seed)})


if __name__ == "__main__":
    run(main)
