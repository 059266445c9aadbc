"""Feature clusters of a whole layer on a tiny GPT-2 (entangle.embeddings.collect, examples, claims, plotting)."""

import json

import numpy as np
import pytest
import torch

from entangle.data.text import DataError
from entangle.embeddings.claims import jsonable
from entangle.embeddings.collect import (analyse_layer, choose_figure_neurons, figure_layer, gather_inputs,
                                         neuron_maxima, token_activations)
from entangle.embeddings.examples import windows_from_documents, windows_from_hf, windows_from_split
from entangle.models.arch import activation_fn, mlp_matrix, weight
from tests.conftest import tiny_model


@pytest.fixture
def gpt2(tokenizer):
    return tiny_model("gpt2", len(tokenizer), n_layers=2)


@pytest.fixture
def windows(tokenizer):
    from tests.conftest import TEXT

    ids = torch.tensor(tokenizer(" ".join(TEXT))["input_ids"])
    return ids[: 24 * 16].view(24, 16)


def _reference(model, windows, layer):
    """Inputs and post-activations of every token, the slow way (full forward, hooks)."""
    seen = {}
    h = mlp_matrix(model, layer, "up").register_forward_hook(lambda m, a, o: seen.update(x=a[0], y=o))
    with torch.no_grad():
        model(input_ids=windows)
    h.remove()
    return seen["x"], activation_fn(model)(seen["y"])


def test_maxima_and_inputs_match_a_full_forward(gpt2, windows):
    x, post = _reference(gpt2, windows, 1)
    m, p = neuron_maxima(gpt2, windows, 1, batch_size=5, progress=False)
    np.testing.assert_allclose(m, post.max(1).values.numpy(), rtol=1e-5, atol=1e-6)
    assert p.shape == m.shape and (p == post.max(1).indices.numpy()).all()
    win, pos = np.array([3, 0, 3, 7]), np.array([2, 5, 9, 0])
    h = gather_inputs(gpt2, windows, 1, win, pos, batch_size=2)
    np.testing.assert_allclose(h, x[win, pos].double().numpy(), rtol=1e-5, atol=1e-6)
    acts = token_activations(gpt2, windows, 1, 4, [2, 5])
    np.testing.assert_allclose(acts, post[[2, 5], :, 4].numpy(), rtol=1e-5, atol=1e-6)


def test_neuron_embedding_of_gathered_input_sums_to_pre_activation(gpt2, windows):
    """The embedding uses what c_fc receives (ln_2 output): h ⊙ w sums to the pre-activation minus bias."""
    x, _ = _reference(gpt2, windows, 0)
    W, b = weight(gpt2, 0, "up"), mlp_matrix(gpt2, 0, "up").bias
    with torch.no_grad():
        pre = mlp_matrix(gpt2, 0, "up")(x)
        torch.testing.assert_close((x[..., None, :] * W).sum(-1) + b, pre, rtol=1e-4, atol=1e-5)


def test_analyse_layer_follows_the_protocol(gpt2, windows):
    rows, det = analyse_layer(gpt2, windows, 1, examples=20, reference_examples=24, threshold_frac=0.75,
                              max_examples=5, hac_threshold=0.5, neurons=range(6), batch_size=7, progress=False)
    assert [r["neuron"] for r in rows] == list(range(6))
    m, _ = neuron_maxima(gpt2, windows, 1, progress=False)
    for r in rows:
        j = r["neuron"]
        assert r["ref_max"] == pytest.approx(float(m[:24, j].max()))
        expect = np.flatnonzero(m[:20, j] >= 0.75 * m[:24, j].max())[:5]
        if r["status"] == "analysed":
            assert det[j]["win"].tolist() == expect.tolist()
            assert r["n_examples"] == len(expect) <= 5
            assert len(det[j]["neuron"]["labels"]) == len(expect)
            assert 0 <= r["neuron_intra"] <= 2 or np.isnan(r["neuron_intra"])
            assert r["size_1"] + r["size_2"] <= r["n_examples"]
    assert any(r["status"] == "analysed" for r in rows)


def test_choose_figure_neurons_rules():
    base = dict(status="analysed", n_examples=100)
    rows = [dict(base, neuron=0, neuron_n_clusters_ge2=3, size_2=1, size_ratio=90.0),
            dict(base, neuron=1, neuron_n_clusters_ge2=5, size_2=10, size_ratio=5.0,
                 neuron_pair_intra=0.1, neuron_pair_inter=0.9, pre_mlp_pair_intra=0.2, pre_mlp_pair_inter=0.6),
            dict(base, neuron=2, neuron_n_clusters_ge2=5, size_2=2, size_ratio=40.0, n_examples=90),
            dict(base, neuron=3, neuron_n_clusters_ge2=2, size_2=20, size_ratio=2.0,
                 neuron_pair_intra=0.1, neuron_pair_inter=0.5, pre_mlp_pair_intra=0.1, pre_mlp_pair_inter=0.5),
            dict(status="never active", neuron=4, n_examples=0)]
    got = choose_figure_neurons(rows, min_pair=5)
    assert got["f2"] == 1                     # 5 clusters, more examples than neuron 2
    assert got["f3"] == 2                     # ratio 90 has a singleton second cluster: not a behaviour
    assert got["f4"] in (1, 3)
    assert choose_figure_neurons([dict(status="never active", neuron=0)]) == {"f2": None, "f3": None, "f4": None}


def test_figure_layer():
    assert figure_layer(list(range(12)), 12) == 7
    assert figure_layer(list(range(6)), 6) == 3
    assert figure_layer([1], 3) == 1


class _Tok:
    def __call__(self, text, **kw):
        return {"input_ids": [len(w) for w in text.split()]}


def test_example_windows_from_split_and_documents():
    w = np.arange(40).reshape(4, 10)
    assert windows_from_split(w, 3, 6).tolist() == w[:3, :6].tolist()
    assert windows_from_split(w, 9, 6).shape == (4, 6)
    with pytest.raises(DataError, match="example_tokens"):
        windows_from_split(w, 3, 11)
    docs = ["a bb ccc", "a b", "dddd ee f g", "x y z w v"]
    got, read, skipped = windows_from_documents(iter(docs), _Tok(), 2, 3)
    assert got.tolist() == [[1, 2, 3], [4, 2, 1]] and read == 3 and skipped == 1
    with pytest.raises(DataError):
        windows_from_documents(["a"], _Tok(), 2, 3)


def test_hf_text_offline_names_the_dataset(tmp_path):
    with pytest.raises(DataError, match="nonexistent-owner/nonexistent-owt.*local_path"):
        windows_from_hf(_Tok(), "nonexistent-owner/nonexistent-owt", "train", 5, 4)


def test_jsonable():
    obj = {"a": np.int64(3), "b": np.float32(0.5), "c": np.array([1, 2]), "d": float("nan"), "e": (np.bool_(True),)}
    assert json.loads(json.dumps(jsonable(obj))) == {"a": 3, "b": 0.5, "c": [1, 2], "d": None, "e": [True]}


def test_cluster_figures_draw(gpt2, windows, tokenizer):
    from entangle.embeddings.project import project_pair
    from entangle.plotting.embeddings import plot_feature_clusters, plot_projection_pair

    rows, det = analyse_layer(gpt2, windows, 1, 24, 24, 0.5, 20, 0.05, neurons=range(4), progress=False)
    j = next(iter(det))
    d = det[j]
    acts = token_activations(gpt2, windows, 1, j, d["win"])
    detail = dict(labels=d["neuron"]["labels"], Z=d["neuron"]["Z"], ref_max=1.0,
                  examples=[dict(tokens=[tokenizer.decode([t]) for t in windows[w, :6].tolist()],
                                 acts=acts[k, :6].tolist(), key=2) for k, w in enumerate(d["win"])])
    fig = plot_feature_clusters(detail, "NE-F2: test")
    assert fig.axes
    proj = project_pair(d["h"], d["w"])
    fig = plot_projection_pair({"labels": d["neuron"]["labels"],
                                **{k: dict(coords=proj[k][0], ratio=proj[k][1], pair_intra=0.1, pair_inter=0.5)
                                   for k in proj}}, "NE-F4: test")
    assert len(fig.axes) == 2
