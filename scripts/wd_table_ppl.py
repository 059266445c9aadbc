"""WD-TA: test perplexity of every model x method x sparsity (tidy CSV; Markdown rows = models)."""

from _runner import run

from entangle.claims import write_claim_values
from entangle.io import markdown_table, write_table, write_text
from entangle.sparsify.report import equal_nonzeros_gap_values, load_runs, wide_table, window_nlls


def main(runs: list, nll: list, sparsities: list, methods: list, k: int, context: dict, scale: str,
         csv: str, markdown: str, claims: str) -> None:
    tidy = load_runs(list(runs))
    write_table(tidy, csv)
    wide = wide_table(tidy, sparsities, methods, k)
    first = tidy.iloc[0]
    note = (f"Test perplexity ({first.dataset}, {first.split} split, {int(first.windows)} windows of "
            f"{int(first.tokens // first.windows)} tokens); only the feed-forward linears are pruned, attention is "
            f"dense. SE = Sparse Expansion with K={k} experts per FFN linear at the given sparsity per expert "
            f"(equal non-zero weights per token as the baselines; router cost not counted). Calibration: "
            f"{int(first.calibration_windows)} random {context['calibration_split']} windows, seed {int(first.seed)}. "
            f"Scale: {scale}.")
    write_text(markdown, f"# WD-TA: perplexity by model, method and sparsity\n\n{note}\n\n"
               + markdown_table(wide, digits=5) + "\n")
    values, gaps = equal_nonzeros_gap_values(tidy, k, window_nlls(tidy, list(nll)))
    write_claim_values(claims, "WD-TA", scale, {19: values}, context={
        **context, "models": ", ".join(dict.fromkeys(tidy.model)), "sparsities": ", ".join(sparsities),
        "gap_definition": "ln PPL(best of magnitude, Wanda, SparseGPT) - ln PPL(SE), nats per token",
        "seed": int(first.seed)})


if __name__ == "__main__":
    run(main)
