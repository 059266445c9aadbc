"""The NE §4.2 experiment end to end: MLP, standard SAE and NE-loss SAE, NE-T2/T3 metrics."""

import time

import torch

from .metrics import neuron_embedding_metrics, reconstruction_metrics
from .mlp import train_mlp
from .train import DEFAULTS, train_sae

NE_COEFF = 1e-2  # default λ2 for the "+ NE Loss" variant (see train.py)


def run_experiment(data, seed=0, mlp_kwargs=None, sae_kwargs=None, ne_coeff=NE_COEFF,
                   max_examples=100, progress=True):
    """data: dict(x_train, y_train, x_test, y_test) as from data.load_digits_split.

    Trains one MLP, then a standard SAE (λ2 = 0) and an NE SAE (λ2 = ne_coeff) on its hidden
    activations with the same seed. Returns dict(mlp, mlp_acc, rows, models) where rows is a
    list of one dict per variant ("standard", "ne") with all T2 and T3 metrics, seed and
    train seconds.
    """
    t0 = time.time()
    mlp, acc = train_mlp(data["x_train"], data["y_train"], data["x_test"], data["y_test"],
                         seed=seed, progress=progress, **(mlp_kwargs or {}))
    with torch.no_grad():
        a_train, a_test = mlp.hidden(data["x_train"]), mlp.hidden(data["x_test"])
    rows, models, per_neuron, history = [], {}, {}, {}
    for variant, coeff in (("standard", 0.0), ("ne", ne_coeff)):
        kw = {**DEFAULTS, **(sae_kwargs or {}), "ne_coeff": coeff}
        t1 = time.time()
        sae, history[variant] = train_sae(a_train, seed=seed, progress=progress, **kw)
        secs = time.time() - t1
        t2 = reconstruction_metrics(mlp, sae, data["x_test"], data["y_test"])
        t3, per_neuron[variant] = neuron_embedding_metrics(sae, a_test, a_train, max_examples)
        rows.append(dict(variant=variant, seed=seed, l1_coeff=kw["l1_coeff"], ne_coeff=coeff,
                         **t2, **t3, train_seconds=secs))
        models[variant] = sae
    return dict(mlp=mlp, mlp_acc=100.0 * acc, rows=rows, models=models, per_neuron=per_neuron,
                history=history, seconds=time.time() - t0)
