"""WD-V1: FLOP-matched comparison, Sparse Expansion at several K vs the baselines at equal total MACs per token
(non-zero FFN weights + router), the baselines interpolated over their sparsity grid."""

from _runner import run

from entangle.claims import write_claim_values
from entangle.io import markdown_table, save_figure, write_table, write_text
from entangle.plotting.style import caption
from entangle.sparsify import plots
from entangle.sparsify.report import flop_matched, flop_matched_gap_values, load_runs, window_nlls
from entangle.workflow.sparsify import BASELINES


def main(runs: list, nll: list, ks: list, context: dict, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    tidy = load_runs(list(runs))
    table = flop_matched(tidy, list(ks))
    first = tidy.iloc[0]
    for col in ("model_id", "revision", "dataset", "split", "tokens", "calibration_windows", "seed"):
        table[col] = table.model.map(tidy.groupby("model")[col].first())
    write_table(table, csv)
    write_text(markdown, "# WD-V1: equal total MACs per token, Sparse Expansion vs the best baseline\n\n"
               "SE's MACs per token = its non-zero FFN weights per token (one expert per token) + its routers' "
               "MACs (PCA projection + distances to K centroids, per FFN input). Each baseline's ln PPL is "
               "interpolated linearly in MACs per token over its unstructured sparsities and the dense model "
               "(its 0% point) at SE's MACs; a budget at or above the dense model's takes the dense model. "
               "gap = min over magnitude, Wanda, SparseGPT of that ln PPL - ln PPL(SE), nats per token (> 0: SE "
               "better); router_share = router MACs / SE's MACs; baseline_sparsity_at_budget = the sparsity a "
               "baseline runs at for that budget; gap_equal_nonzeros = the comparison without the router (WD-TA). "
               f"Scale: {scale}.\n\n" + markdown_table(table[["model", "sparsity", "k", "se_ppl",
                                                               "se_nonzeros_per_token", "router_macs_per_token",
                                                               "router_share", "baseline_sparsity_at_budget",
                                                               "best_baseline", "best_baseline_ppl", "gap",
                                                               "gap_equal_nonzeros"]], digits=5) + "\n")
    fig = plots.flop_matched(tidy, table, [b for b in BASELINES if b in set(tidy.method)], list(ks))
    caption(fig, "WD-V1", f"SE vs one-shot pruners at equal MACs per token, router included; baselines "
                          f"interpolated over their sparsities ({scale} scale)")
    save_figure(fig, png, pdf)
    values = flop_matched_gap_values(table, tidy, window_nlls(tidy, list(nll)))
    write_claim_values(claims, "WD-V1", scale, {21: values}, context={
        **context, "models": ", ".join(dict.fromkeys(tidy.model)), "ks": ", ".join(map(str, ks)),
        "definition": "SE's total MACs per token (non-zero FFN weights + router) vs each baseline's ln PPL "
                      "interpolated linearly in MACs per token over its sparsity grid and the dense model; gap = "
                      "min over baselines of that ln PPL - ln PPL(SE)",
        "paper_model": "Llama-2-70B (v1 abstract); not run here", "seed": int(first.seed)})


if __name__ == "__main__":
    run(main)
