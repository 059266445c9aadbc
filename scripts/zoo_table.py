"""The model-zoo table (perplexity vs the unigram baseline) and the training-loss figure."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd
import seaborn as sns
from _runner import run
from matplotlib import pyplot as plt

from entangle.io import read_json, save_figure, write_table


def main(models: list, summaries: list, scale: str, dataset: str, table: str, markdown: str, figure: str) -> None:
    rows, curves = [], []
    for model_path, summary_path in zip(models, summaries):
        card, ppl = read_json(Path(model_path) / "card.json"), read_json(summary_path)
        rows.append({"model": card["name"], "family": card["family"], "model_id": ppl["model_id"],
                     "revision": ppl["revision"], "parameters": card.get("parameters"),
                     "dataset": dataset,
                     "split": ppl["split"], "tokens": ppl["tokens"], "seed": ppl["seed"],
                     "perplexity": ppl["perplexity"], "unigram_perplexity": card.get("unigram_perplexity"),
                     "training_tokens_seen": card.get("tokens_seen")})
        curves += [{"model": card["name"], **entry} for entry in card.get("loss_log", [])]
    write_table(pd.DataFrame(rows), table, markdown)

    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if curves:
        sns.lineplot(pd.DataFrame(curves), x="step", y="loss", hue="model", ax=ax)
        ax.set(xlabel="optimizer step", ylabel="training loss (nats/token)",
               title=f"Model zoo training curves ({scale} scale)")
    else:
        ax.text(0.5, 0.5, "pretrained models: no training curves", ha="center", va="center")
        ax.set_axis_off()
    save_figure(fig, figure)


if __name__ == "__main__":
    run(main)
