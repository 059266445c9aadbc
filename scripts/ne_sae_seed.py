"""One seed of the SAE experiment (NE §4.2): MLP classifier, standard SAE, NE-loss SAE, their NE-T2/T3
metrics, and the NE-F5 arrays of one NE-SAE neuron chosen by a stated rule (features.choose_neuron)."""

import logging

import numpy as np
import torch
from _runner import run

from entangle.embeddings.claims import jsonable
from entangle.io import atomic_path, write_json
from entangle.sae.data import split_from_arrays
from entangle.sae.experiment import run_experiment
from entangle.sae.features import choose_neuron, neuron_clusters, neuron_report

F5_MIN_EXAMPLES = 10


def main(data: str, seed: str, dataset: str, mlp: dict, sae: dict, max_examples: int, hac_threshold: float,
         linkage: str, metrics: str, arrays: str, models: str) -> None:
    torch.use_deterministic_algorithms(True)
    seed = int(seed)
    raw = np.load(data)
    d = split_from_arrays(raw["x_train"], raw["y_train"], raw["x_test"], raw["y_test"], raw["image_shape"],
                          float(raw["max_value"]))
    mlp_kwargs = dict(n_hidden=mlp["hidden"], epochs=mlp["epochs"], lr=mlp["lr"], batch_size=mlp["batch_size"])
    sae_kwargs = dict(d_sae=sae["expansion"] * mlp["hidden"], l1_coeff=sae["l1_coeff"], warmup_steps=sae["warmup_steps"],
                      momentum=sae["momentum"], lr=sae["lr"], batch_size=sae["batch_size"], epochs=sae["epochs"])
    out = run_experiment(d, seed=seed, mlp_kwargs=mlp_kwargs, sae_kwargs=sae_kwargs, ne_coeff=sae["ne_coeff"],
                         max_examples=max_examples, progress=True)
    for row in out["rows"]:
        logging.info("%s", {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})

    # NE-F5: one neuron of the NE SAE
    ne_sae, per = out["models"]["ne"], out["per_neuron"]["ne"]
    j = choose_neuron(per, F5_MIN_EXAMPLES)
    with torch.no_grad():
        a_test = out["mlp"].hidden(d["x_test"])
    report = neuron_report(out["mlp"], ne_sae, d["x_test"], j, d["stats"], d["image_shape"], n_examples=8, seed=seed)
    clusters = neuron_clusters(ne_sae, a_test, j, max_examples, hac_threshold, linkage)
    f5 = dict(neuron=j, rule=f"NE-SAE neuron with the lowest mean neuron-embedding distance among those with "
                             f">= {F5_MIN_EXAMPLES} activating test examples",
              n_active_test=int(report["n_active"]), n_clusters=clusters["n_clusters"],
              n_examples_clustered=clusters["n_examples"], mean_dist=clusters["mean_dist"],
              max_dist=clusters["max_dist"], hac_threshold=hac_threshold, linkage=linkage,
              logit_effects=[float(v) for v in report["logit_effects"]],
              classes_by_logit_effect=[int(c) for c in np.argsort(-report["logit_effects"])])

    n_train, n_test = len(d["y_train"]), len(d["y_test"])
    write_json(metrics, jsonable({"seed": seed, "dataset": dataset, "source": str(raw["source"]), "split_seed": int(raw["split_seed"]),
                         "n_train": n_train, "n_test": n_test, "image_shape": list(d["image_shape"]),
                         "mlp_acc": out["mlp_acc"], "mlp": mlp, "sae": sae, "max_examples": max_examples,
                         "rows": out["rows"], "f5": f5, "seconds": out["seconds"]}))
    with atomic_path(arrays) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{f"{v}_{k}": np.asarray(a) for v, p in out["per_neuron"].items() for k, a in p.items()},
                                **{f"f5_{k}": np.asarray(v) for k, v in report.items()})
    with atomic_path(models) as tmp:
        torch.save({"mlp": out["mlp"].state_dict(), **{f"sae_{v}": m.state_dict() for v, m in out["models"].items()}},
                   tmp)


if __name__ == "__main__":
    run(main)
