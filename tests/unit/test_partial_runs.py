"""The partial-sparsification job's loop (WD-F3, WD-F5a) on a tiny model: plan, prune, restore, summarise."""

import numpy as np
import pytest
import torch

from entangle.evaluation.ppl import perplexity
from entangle.models.arch import arch_of, blocks, module_weight
from entangle.sparsify.partial_runs import (RunSettings, choose_rows, evaluate_dense, last_run, plan_runs,
                                            restore_ffn, run_partial, selection_statistics, selection_summary,
                                            snapshot_ffn)
from tests.conftest import tiny_model


@pytest.fixture
def net(tokenizer):
    return tiny_model("llama", len(tokenizer))


@pytest.fixture
def windows(tokenizer):
    g = torch.Generator().manual_seed(0)
    return (torch.randint(1, len(tokenizer), (8, 32), generator=g),  # calibration
            torch.randint(1, len(tokenizer), (3, 32), generator=g))  # evaluation


def ffn_weights(net):
    return {(i, m): module_weight(net, b.get_submodule(p)).detach().clone()
            for i, b in enumerate(blocks(net)) for m, p in arch_of(net).matrices.items()}


def test_plan_puts_expansion_of_wd_last():
    plan = plan_runs(["wd", "random0"], ["0.5", "0.9"], expand=True)
    assert plan == [("wd", "sparsegpt", "0.5"), ("wd", "sparsegpt", "0.9"), ("random0", "sparsegpt", "0.5"),
                    ("random0", "sparsegpt", "0.9"), ("wd", "sparse_expansion", "0.5"),
                    ("wd", "sparse_expansion", "0.9")]
    assert last_run(plan, "wd") == ("wd", "sparse_expansion", "0.9")
    assert last_run(plan, "random0") == ("random0", "sparsegpt", "0.9")
    assert plan_runs(["mean"], ["0.5"], expand=True) == [("mean", "sparsegpt", "0.5")]  # only wd is expanded


def test_restore_undoes_pruning_and_expansion(net):
    dense = ffn_weights(net)
    originals = snapshot_ffn(net)
    for w in dense:
        module_weight(net, blocks(net)[w[0]].get_submodule(arch_of(net).matrices[w[1]])).data.zero_()
    restore_ffn(net, originals)
    assert all(torch.equal(dense[k], v) for k, v in ffn_weights(net).items())


def test_run_loop_prunes_only_chosen_rows_and_restores_the_dense_model(net, windows, one_thread):
    calib, test = windows
    selections = ["wd", "random0"]
    dense_weights = ffn_weights(net)
    shapes, outputs, magnitude = selection_statistics(net, calib, selections, batch_size=4, wd_method="fast", seed=0)
    assert magnitude is None and set(outputs) == set(shapes)
    sel = choose_rows(shapes, outputs, magnitude, selections, percent=10)
    assert sel.k_per_matrix == {"up": 2, "gate": 2, "down": 2}
    dense_nll = evaluate_dense(net, calib, test, layerwise=False, batch_size=4)
    plan = plan_runs(selections, ["0.5", "0.9"], expand=True)
    pruned_seen, finished = {}, []

    def on_pruned(pruned, run):
        w = ffn_weights(pruned) if run[1] == "sparsegpt" else None
        if w is not None:  # the chosen rows lose weights, every other row stays dense
            for key, rows in sel.chosen[run[0]].items():
                other = np.setdiff1d(np.arange(w[key].shape[0]), rows)
                assert torch.equal(w[key][other], dense_weights[key][other])
                assert (w[key][rows] == 0).float().mean() >= float(run[2]) - 0.1
        pruned_seen[run] = True

    def on_selection(name, runs):
        assert all(torch.equal(dense_weights[k], v) for k, v in ffn_weights(net).items())  # restored
        finished.append((name, [(r["method"], r["sparsity"]) for r in runs]))

    records = run_partial(net, calib, test, sel.chosen, plan, RunSettings(2, 4, 1, 0, 4), layerwise=False,
                          reload=lambda: pytest.fail("only a layer-wise expansion reloads"),
                          dense_ppl=perplexity(dense_nll), on_pruned=on_pruned, on_selection=on_selection)
    assert list(pruned_seen) == plan
    assert finished == [("random0", [("sparsegpt", "0.5"), ("sparsegpt", "0.9")]),
                        ("wd", [("sparsegpt", "0.5"), ("sparsegpt", "0.9"), ("sparse_expansion", "0.5"),
                                ("sparse_expansion", "0.9")])]
    wd = {(r["method"], r["sparsity"]): r for r in records["wd"]}
    assert wd[("sparse_expansion", "0.9")]["num_clusters"] == 2 and "num_clusters" not in wd[("sparsegpt", "0.9")]
    for r in wd.values():
        assert len(r["window_nll"]) == test.shape[0]
        assert r["ppl"] == pytest.approx(np.exp(np.mean(r["window_nll"])))
    assert wd[("sparsegpt", "0.9")]["row_sparsity"] > wd[("sparsegpt", "0.5")]["row_sparsity"] > 0
    # the dense model is back: evaluating it again gives the dense NLL exactly
    assert torch.equal(evaluate_dense(net, calib, test, layerwise=False, batch_size=4), dense_nll)

    s = selection_summary({"name": "tiny", "source": "here", "revision": "main"}, "random0", records["random0"], sel,
                          dense_nll, calib, test, "test", "train", "generated", 0, 10, "fast", "float32")
    assert s["selection"] == "random" and s["selection_seed"] == 0 and s["wd_method"] is None
    assert s["selected_rows"] == 2 * 3 * 2 and s["dense_ppl"] == perplexity(dense_nll)
    assert [set(r) for r in s["runs"]] == [set(records["random0"][0]) - {"seconds"}] * 2
