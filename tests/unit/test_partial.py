"""WD-F3 / WD-F5a: selection statistics, row selection, the partial_sparsify job, downstream parsing, claims."""

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from entangle.evaluation.downstream import DownstreamError, evaluate_downstream, parse_results, primary_metric
from entangle.models.arch import arch_of, blocks, module_weight
from entangle.models.train import train_lm
from entangle.sparsify.ffn import load_sparse_ffn
from entangle.neurons.selection import parse_selection, selection_names
from entangle.sparsify.partial import (
    OutputAccumulator,
    ffn_shapes,
    output_statistics,
    rows_per_matrix,
    select_rows,
    weight_magnitude,
)
from entangle.sparsify.partial_report import (
    downstream_lowest_values,
    downstream_scores,
    load_partial_runs,
    selection_increase_values,
)
from tests.conftest import TEXT, tiny_model

REPO = Path(__file__).resolve().parents[2]


# --- names and sizes -------------------------------------------------------------------------------------

def test_rows_per_matrix_rounds_half_up_with_at_least_one():
    assert rows_per_matrix(14336, 3) == 430 and rows_per_matrix(4096, 3) == 123  # Llama-3-8B gate/up, down
    assert rows_per_matrix(128, 3) == 4 and rows_per_matrix(48, 3) == 1 and rows_per_matrix(10, 3) == 1
    assert rows_per_matrix(50, 3) == 2  # 1.5 -> 2 (half up, not banker's rounding)
    assert rows_per_matrix(8, 100) == 8


def test_selection_names_expand_random_seeds():
    names = selection_names(["wd", "mean", "random"], 3)
    assert names == ["wd", "mean", "random0", "random1", "random2"]
    assert parse_selection("random2") == ("random", 2) and parse_selection("wd") == ("wd", None)
    for bad in ("random", "median", "randomx"):
        with pytest.raises(ValueError):
            parse_selection(bad)


# --- statistics on a hand-made example -------------------------------------------------------------------

def hand_made_outputs(t=4000, seed=0):
    """Outputs [t, 6]: N(0,1), bimodal, N(5,1) (shifted), N(0,10^2) (wide), constant (dead), N(0,1)."""
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((t, 6))
    y[:, 1] = rng.choice([-3.0, 3.0], t) + 0.3 * rng.standard_normal(t)
    y[:, 2] += 5
    y[:, 3] *= 10
    y[:, 4] = 2.0
    return torch.from_numpy(y).float()


def test_each_statistic_picks_its_neuron():
    y = hand_made_outputs()
    acc = OutputAccumulator(None)
    for chunk in y.split(800):
        acc.add(chunk.reshape(4, 200, 6))  # [B, L, d] as a hook sees it
    stats = acc.result("exact")
    np.testing.assert_allclose(stats["mean"], y.double().mean(0).numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats["variance"], y.double().var(0, unbiased=False).numpy(), rtol=1e-6, atol=1e-9)
    assert np.isnan(stats["wd"][4]) and stats["wd_tokens"] == 4000
    shapes = {(0, "up"): (6, 3)}
    pick = lambda name, key: select_rows(name, shapes, 100 / 6, {(0, "up"): stats[key]})[(0, "up")].tolist()
    assert pick("wd", "wd") == [1]  # the bimodal neuron
    assert pick("mean", "mean") == [2]  # the shifted one
    assert pick("variance", "variance") == [3]  # the wide one
    # two rows each: the dead neuron (WD NaN) is never selected by wd, though it has the highest mean
    two = lambda key: select_rows("wd", shapes, 2 * 100 / 6, {(0, "up"): stats[key]})[(0, "up")].tolist()
    assert 4 not in two("wd")
    y2 = y.clone()
    y2[:, 2] = 100.0  # a second constant output with the largest mean: selected by mean, never by wd
    acc2 = OutputAccumulator(None)
    acc2.add(y2)
    s2 = acc2.result("fast")
    assert select_rows("mean", shapes, 100 / 6, {(0, "up"): s2["mean"]})[(0, "up")].tolist() == [2]
    assert 2 not in select_rows("wd", shapes, 50, {(0, "up"): s2["wd"]})[(0, "up")].tolist()


def test_wd_on_a_token_sample():
    y = hand_made_outputs(t=1000)
    sample = torch.arange(0, 1000, 3)
    acc = OutputAccumulator(sample)
    for chunk in y.split(128):
        acc.add(chunk)
    stats = acc.result("exact")
    from entangle.metrics.wasserstein import wd_exact

    np.testing.assert_allclose(stats["wd"], wd_exact(y[sample]), equal_nan=True)
    np.testing.assert_allclose(stats["mean"], y.double().mean(0).numpy(), atol=1e-9)  # mean: every token
    assert stats["wd_tokens"] == len(sample)


def test_magnitude_picks_the_heavy_row():
    net = tiny_model("llama", 300)
    up = net.get_submodule(f"{arch_of(net).blocks}.1.{arch_of(net).matrices['up']}")
    with torch.no_grad():
        up.weight[7] *= 50
    mag = weight_magnitude(net)
    rows = select_rows("magnitude", ffn_shapes(net), 3, mag)
    assert rows[(1, "up")].tolist() == [7]
    np.testing.assert_allclose(mag[(1, "up")], up.weight.detach().abs().double().mean(1).numpy())


def test_random_selection_is_reproducible_and_differs_by_seed():
    shapes = {(i, m): (200, 10) for i in range(3) for m in ("up", "gate", "down")}
    a, b, c = (select_rows(n, shapes, 10) for n in ("random0", "random0", "random1"))
    assert all(np.array_equal(a[k], b[k]) for k in shapes)
    assert any(not np.array_equal(a[k], c[k]) for k in shapes)
    for rows in (a, c):
        for idx in rows.values():
            assert len(idx) == 20 and len(set(idx.tolist())) == 20 and np.all(np.diff(idx) > 0)
            assert idx.min() >= 0 and idx.max() < 200
    assert not np.array_equal(a[(0, "up")], a[(1, "up")])  # one generator per seed, drawn matrix by matrix


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_output_statistics_match_a_direct_capture(family):
    net = tiny_model(family, 300, n_layers=2)
    windows = torch.randint(0, 300, (5, 16), generator=torch.Generator().manual_seed(0))
    stats = output_statistics(net, windows, batch_size=2, wd_method="exact", progress=False)
    arch = arch_of(net)
    captured = {}
    handles = [block.get_submodule(path).register_forward_hook(
        lambda _m, _a, y, key=(i, m): captured.setdefault(key, []).append(y.detach().reshape(-1, y.shape[-1])))
        for i, block in enumerate(blocks(net)) for m, path in arch.matrices.items()]
    with torch.no_grad():
        net(input_ids=windows)
    for h in handles:
        h.remove()
    assert set(stats) == set(captured) == set(ffn_shapes(net))
    from entangle.metrics.wasserstein import wd_exact

    for key, ys in captured.items():
        y = torch.cat(ys).double()
        np.testing.assert_allclose(stats[key]["mean"], y.mean(0).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(stats[key]["variance"], y.var(0, unbiased=False).numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(stats[key]["wd"], wd_exact(y.float()), rtol=1e-3, atol=1e-4, equal_nan=True)
    few = output_statistics(net, windows, batch_size=2, wd_tokens=40, progress=False)
    assert all(s["wd_tokens"] == 40 for s in few.values())


# --- the job, end to end on a tiny trained model ---------------------------------------------------------

def _script(name):
    sys.path.insert(0, str(REPO / "scripts"))
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained_llama(tmp_path_factory):
    from entangle.data.tokenizer import train_bpe

    tok = train_bpe(TEXT, vocab_size=300)
    ids = torch.tensor(tok(" ".join(TEXT * 4))["input_ids"])
    net = tiny_model("llama", len(tok), n_layers=2)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_lm(net, ids, steps=60, batch_size=8, context=32, lr=1e-2, warmup_steps=5, weight_decay=0.0, seed=0,
                 save_at=[], save=lambda *_: None)
    finally:
        torch.set_num_threads(before)
    path = tmp_path_factory.mktemp("model")
    net.save_pretrained(path)
    tok.save_pretrained(path)
    n = ids.numel() // 32
    windows = ids[: n * 32].view(n, 32)
    np.save(path / "calibration.npy", windows[::2][:8].numpy().astype(np.int32))
    np.save(path / "test.npy", windows[1::2][:8].numpy().astype(np.int32))
    return path


def test_partial_sparsify_end_to_end(trained_llama, tmp_path, one_thread):
    job = _script("partial_sparsify")
    names = ["wd", "mean", "variance", "magnitude", "random0", "random1"]
    summaries = [str(tmp_path / f"{n}.json") for n in names]
    states = [str(tmp_path / "wd.0.9.pt")] + [None] * (len(names) - 1)
    model = {"name": "tiny", "source": str(trained_llama), "revision": "main", "hub_id": None}
    job.main(model=model, calibration=str(trained_llama / "calibration.npy"), windows=str(trained_llama / "test.npy"),
             selections=names, percent=10, sparsities=["0.5", "0.9"], headline="0.9", expand=True, num_clusters=2,
             pca_factor=4, n_init=1, batch_size=4, dtype="float32", evaluate="model", eval_split="test",
             calibration_split="train", max_windows=None, dataset="generated", seed=0, wd_method="fast",
             summary=summaries, save_to=states)
    wd = json.loads(Path(summaries[0]).read_text())
    assert {"model", "model_id", "revision", "dataset", "eval_split", "eval_windows", "eval_tokens",
            "calibration_split", "calibration_tokens", "seed", "selection", "selection_seed", "percent",
            "selected_rows", "dense_ppl", "runs"} <= set(wd)
    assert wd["selection"] == "wd" and wd["selection_seed"] is None
    assert wd["selected_rows"] == 2 * (2 + 2 + 2)  # 2 blocks x (gate 24 rows, up 24, down 16) at 10%: 2 each
    runs = {(r["method"], r["sparsity"]): r for r in wd["runs"]}
    assert set(runs) == {("sparsegpt", "0.5"), ("sparsegpt", "0.9"), ("sparse_expansion", "0.5"),
                         ("sparse_expansion", "0.9")}
    assert runs[("sparse_expansion", "0.9")]["num_clusters"] == 2
    assert runs[("sparsegpt", "0.9")]["ppl"] > wd["dense_ppl"]  # the top selection hurts
    # floor(s * d_in) per selected row: up/gate d_in 16 -> 14 of 16 at 0.9; down d_in 24 -> 21 of 24
    assert runs[("sparsegpt", "0.9")]["row_sparsity"] == pytest.approx((4 * 2 * 14 + 2 * 2 * 21) / (8 * 16 + 4 * 24))
    rnd = [json.loads(Path(p).read_text()) for p in summaries[4:]]
    assert [r["selection_seed"] for r in rnd] == [0, 1] and all(r["selection"] == "random" for r in rnd)
    assert all(r["dense_ppl"] == wd["dense_ppl"] for r in rnd)  # dense weights restored between runs
    assert [r["method"] for r in rnd[0]["runs"]] == ["sparsegpt", "sparsegpt"]
    # the saved headline state rebuilds the sparse model
    from entangle.models.load import load_model

    net, _ = load_model(str(trained_llama), "main")
    meta = load_sparse_ffn(net, states[0])
    assert meta["selection"] == "wd" and meta["sparsity"] == "0.9"
    w = module_weight(net, net.get_submodule("model.layers.0.mlp.up_proj"))
    rows = meta["rows"]["model.layers.0.mlp.up_proj"]
    assert (w[rows] == 0).sum(1).tolist() == [14, 14]

    tidy = load_partial_runs(summaries)
    assert list(tidy.selection.unique()) == ["dense"] + names
    values = selection_increase_values(tidy, "0.9", [json.loads(Path(p).read_text()) for p in summaries])
    assert values["ppl_wd"] == runs[("sparsegpt", "0.9")]["ppl"]
    assert np.exp(np.mean(runs[("sparsegpt", "0.9")]["window_nll"])) == pytest.approx(values["ppl_wd"])
    ratio = values["increase_ratio_wd_over_worst_other"]
    assert ratio.unit == "evaluation windows" and ratio.resamples == 1000
    others = [values["ppl_mean"], values["ppl_variance"], values["ppl_magnitude"],
              np.mean([r["runs"][1]["ppl"] for r in rnd])]
    assert values["ppl_max_other_selection"] == pytest.approx(max(others))


# --- claims from made-up numbers ---------------------------------------------------------------------------

def test_claim_values_compare_wd_with_the_worst_other_selection():
    rows = [{"selection": "dense", "method": "dense", "sparsity": "0", "perplexity": 10.0}]
    for sel, ppl in (("wd", 50.0), ("mean", 20.0), ("variance", 30.0), ("magnitude", 12.0), ("random0", 11.0),
                     ("random1", 13.0)):
        rows.append({"selection": sel, "method": "sparsegpt", "sparsity": "0.9", "perplexity": ppl})
        rows.append({"selection": sel, "method": "sparsegpt", "sparsity": "0.5", "perplexity": 1e6})
    rows.append({"selection": "wd", "method": "sparse_expansion", "sparsity": "0.9", "perplexity": 1e6})
    v = selection_increase_values(pd.DataFrame(rows), "0.9")
    assert v["ppl_wd"] == 50 and v["ppl_max_other_selection"] == 30 and v["max_other_selection"] == "variance"
    assert v["ppl_random"] == 12 and v["ppl_random_min"] == 11 and v["ppl_random_max"] == 13

    # with per-window NLL: a contrast with its interval over windows, the worst other re-chosen per redraw
    rng = np.random.default_rng(0)
    base = rng.normal(3.0, 0.3, 200)

    def summary(name, seed, lift):
        return {"selection": name, "selection_seed": seed, "dense_window_nll": base.tolist(),
                "runs": [{"method": "sparsegpt", "sparsity": "0.9",
                          "window_nll": (base + lift + rng.normal(0, 0.01, 200)).tolist()}]}

    far = [summary("wd", None, 0.2), summary("mean", None, 0.05), summary("variance", None, 0.04),
           summary("magnitude", None, 0.05), summary("random", 0, 0.01), summary("random", 1, 0.01)]
    est = selection_increase_values(pd.DataFrame(rows), "0.9", far)["increase_ratio_wd_over_worst_other"]
    assert est.ci_low > 2  # far more: reproduced
    tie = [summary("wd", None, 0.05)] + far[1:]
    est = selection_increase_values(pd.DataFrame(rows), "0.9", tie)["increase_ratio_wd_over_worst_other"]
    assert est.ci_low < 1 < est.ci_high  # WD ties magnitude: the interval straddles 1, far below 2

    scores = {"dense": {"gsm8k": {"exact_match,strict-match": 0.5}, "mmlu": {"acc,none": 0.6}},
              "wd": {"gsm8k": {"exact_match,strict-match": 0.1}, "mmlu": {"acc,none": 0.3}},
              "mean": {"gsm8k": {"exact_match,strict-match": 0.4}, "mmlu": {"acc,none": 0.5}},
              "random0": {"gsm8k": {"exact_match,strict-match": 0.45}, "mmlu": {"acc,none": 0.2}},
              "random1": {"gsm8k": {"exact_match,strict-match": 0.45}, "mmlu": {"acc,none": 0.5}}}
    down = downstream_scores(scores)
    v7 = downstream_lowest_values(down)
    assert v7["wd_lowest_gsm8k"] and v7["wd_lowest_mmlu"]  # random mean 0.35 > 0.3 on mmlu
    assert v7["downstream_wd_most_damaging"] is True
    scores["mean"]["mmlu"]["acc,none"] = 0.25
    assert downstream_lowest_values(downstream_scores(scores))["downstream_wd_most_damaging"] is False


# --- downstream through a fake lm_eval ---------------------------------------------------------------------

FAKE_RESULTS = {
    "results": {
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.01,
                  "exact_match,flexible-extract": 0.3, "exact_match_stderr,flexible-extract": 0.01},
        "mmlu_anatomy": {"alias": " - anatomy", "acc,none": 0.5},
        "squadv2": {"alias": "squadv2", "exact,none": 40.0, "f1,none": 45.0, "HasAns_f1,none": 50.0},
    },
    "groups": {"mmlu": {"alias": "mmlu", "acc,none": 0.6, "acc_stderr,none": 0.004}},
}


def _fake_lm_eval(monkeypatch, results):
    calls = {}

    class HFLM:
        def __init__(self, pretrained, tokenizer=None, batch_size=1, **kwargs):
            calls["hflm"] = {"pretrained": pretrained, "tokenizer": tokenizer, "batch_size": batch_size, **kwargs}

    def simple_evaluate(model, tasks, **kwargs):
        calls["evaluate"] = {"model": model, "tasks": tasks, **kwargs}
        return results

    lm_eval = types.ModuleType("lm_eval")
    lm_eval.simple_evaluate, lm_eval.__version__ = simple_evaluate, "fake"
    models, hf = types.ModuleType("lm_eval.models"), types.ModuleType("lm_eval.models.huggingface")
    hf.HFLM = HFLM
    lm_eval.models, models.huggingface = models, hf
    for name, module in (("lm_eval", lm_eval), ("lm_eval.models", models), ("lm_eval.models.huggingface", hf)):
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_downstream_wrapper_returns_parsed_scores(monkeypatch):
    calls = _fake_lm_eval(monkeypatch, FAKE_RESULTS)
    model, tok = object(), object()
    scores = evaluate_downstream(model, tok, ["gsm8k", "mmlu", "squadv2"], limit=5, batch_size=4, seed=3,
                                 max_length=4096)
    assert scores == {"gsm8k": {"exact_match,strict-match": 0.25, "exact_match,flexible-extract": 0.3},
                      "mmlu": {"acc,none": 0.6},  # the group's aggregate, not a subtask
                      "squadv2": {"exact,none": 40.0, "f1,none": 45.0, "HasAns_f1,none": 50.0}}
    assert calls["hflm"]["pretrained"] is model and calls["hflm"]["tokenizer"] is tok
    assert calls["hflm"]["batch_size"] == 4 and calls["hflm"]["max_length"] == 4096
    assert calls["evaluate"]["tasks"] == ["gsm8k", "mmlu", "squadv2"] and calls["evaluate"]["limit"] == 5
    assert calls["evaluate"]["random_seed"] == 3
    assert [primary_metric(scores[t]) for t in scores] == ["exact_match,strict-match", "acc,none", "f1,none"]
    with pytest.raises(DownstreamError, match="no task 'bbh'"):
        parse_results(FAKE_RESULTS, ["bbh"])


def test_downstream_without_lm_eval_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # import lm_eval -> ImportError
    with pytest.raises(DownstreamError, match=r'pip install "lm-eval\[hf\]==0\.4\.13"'):
        evaluate_downstream(object(), object(), ["gsm8k"])
