"""WD-V1: FLOP-matched comparison, Sparse Expansion at several K vs the baselines at equal non-zeros per token."""

from _runner import run

from entangle.claims import write_claim_values
from entangle.io import markdown_table, save_figure, write_table, write_text
from entangle.plotting.style import caption
from entangle.sparsify import plots
from entangle.sparsify.report import BASELINES, claim21, flop_matched, load_runs, window_nlls


def main(runs: list, nll: list, ks: list, context: dict, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    tidy = load_runs(list(runs))
    table = flop_matched(tidy, list(ks))
    first = tidy.iloc[0]
    for col in ("model_id", "revision", "dataset", "split", "tokens", "calibration_windows", "seed"):
        table[col] = table.model.map(tidy.groupby("model")[col].first())
    write_table(table, csv)
    write_text(markdown, "# WD-V1: equal non-zero FFN weights per token, Sparse Expansion vs the best baseline\n\n"
               "gap = ln PPL(best of magnitude, Wanda, SparseGPT) - ln PPL(SE), nats per token (> 0: SE better); "
               "router_overhead = router MACs / non-zero FFN weights per token (not counted in the match). "
               f"Scale: {scale}.\n\n" + markdown_table(table[["model", "sparsity", "k", "best_baseline",
                                                               "best_baseline_ppl", "se_ppl", "gap",
                                                               "se_nonzeros_per_token", "baseline_nonzeros_per_token",
                                                               "router_overhead"]], digits=5) + "\n")
    fig = plots.flop_matched(tidy, table, [b for b in BASELINES if b in set(tidy.method)], list(ks))
    caption(fig, "WD-V1", f"equal non-zero FFN weights per token: SE at K experts vs one-shot pruners ({scale} scale)")
    save_figure(fig, png, pdf)
    write_claim_values(claims, "WD-V1", scale, {21: claim21(table, tidy, window_nlls(tidy, list(nll)))}, context={
        **context, "models": ", ".join(dict.fromkeys(tidy.model)), "ks": ", ".join(map(str, ks)),
        "definition": "SE at per-expert sparsity s vs baselines at sparsity s (same non-zero FFN weights per "
                      "token); gap = ln PPL(best baseline) - ln PPL(SE); router MACs reported, not counted",
        "paper_model": "Llama-2-70B (v1 abstract); not run here", "seed": int(first.seed)})


if __name__ == "__main__":
    run(main)
