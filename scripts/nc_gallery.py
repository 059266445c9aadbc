"""NC-F7 / NC-F8: the top-k Wasserstein neurons of layer `layer`, and how many have multimodal negative halves."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import load_matrix, save_figure, write_table
from entangle.neurons.multimodality import ModeTest, negative_modes
from entangle.neurons.population import share
from entangle.neurons.selection import top_k
from entangle.plotting.neurons import gallery
from entangle.plotting.style import caption


def main(stats: str, outputs: str, item: str, record: dict, layer: int, top: int, scale: str, png: str, pdf: str,
         csv: str, markdown: str, claims: str) -> None:
    frame, y = pd.read_csv(stats), load_matrix(outputs)
    neurons = top_k(frame["wd"].to_numpy(), min(top, int(frame["wd"].notna().sum())))
    columns = np.asarray(y[:, neurons])
    test = ModeTest()
    modes = [negative_modes(columns[:, c], test) for c in range(len(neurons))]
    table = frame.loc[neurons, ["model", "revision", "split", "layer", "matrix", "neuron", "wd", "frac_negative",
                                "tokens", "seed"]].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(neurons) + 1))
    table["negative_modes"] = modes
    table["multimodal_negative"] = table["negative_modes"] >= 2
    table["dataset"] = record["dataset"]
    write_table(table, csv, markdown)
    titles = [f"#{n}  WD {w:.2f}  modes<0: {m}" for n, w, m in zip(neurons, table["wd"], modes)]
    fig = gallery(columns, titles)
    caption(fig, item, f"top-{len(neurons)} Wasserstein neurons, {record['name']} ({record['model_id']}) "
                       f"layer {layer} up-projection; {int(table['multimodal_negative'].sum())}/{len(neurons)} "
                       f"multimodal below 0 ({scale} scale)")
    save_figure(fig, png, pdf)
    write_claim_values(claims, item, scale, {29: {
        "neurons": len(neurons), "multimodal_negative": int(table["multimodal_negative"].sum()),
        "share_multimodal_negative": share(table["multimodal_negative"].to_numpy())}},  # neurons redrawn
        context={**record, "layer": layer, "tokens": int(y.shape[0]), "mode_test": str(test)})


if __name__ == "__main__":
    run(main)
