import numpy as np
import pytest
import torch

from entangle.capture import capture_matrix, load_matrix
from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.models import arch
from tests.conftest import tiny_model


def test_capture_matches_weights_and_stops_after_the_layer(family_model, token_windows, tmp_path):
    calls = []
    last = arch.blocks(family_model)[-1]
    handle = last.register_forward_hook(lambda *a: calls.append(1))
    d_in, d_out = capture_matrix(family_model, token_windows, 0, "up", tmp_path / "x.npy", tmp_path / "y.npy",
                                 batch_size=3)
    handle.remove()
    assert calls == []  # block 1 never ran
    x, y = load_matrix(tmp_path / "x.npy"), load_matrix(tmp_path / "y.npy")
    assert x.shape == (token_windows.numel(), d_in) and y.shape == (token_windows.numel(), d_out)
    module = arch.mlp_matrix(family_model, 0, "up")
    bias = module.bias.detach().numpy() if module.bias is not None else 0
    w = arch.weight(family_model, 0, "up").detach().numpy()
    np.testing.assert_allclose(y, x @ w.T + bias, atol=1e-5)


def test_capture_failure_leaves_no_file(tokenizer, token_windows, tmp_path):
    model = tiny_model("gpt_neox", len(tokenizer))
    bad = token_windows.clone()
    bad[2, 0] = 10_000  # out of vocabulary: the second batch fails
    with pytest.raises(IndexError):
        capture_matrix(model, bad, 0, "up", tmp_path / "x.npy", tmp_path / "y.npy", batch_size=2)
    assert list(tmp_path.iterdir()) == []


def test_window_nll_matches_the_models_own_loss(family_model, token_windows):
    nll = window_nll(family_model, token_windows, batch_size=3)
    with torch.no_grad():
        expected = [family_model(input_ids=w[None], labels=w[None]).loss.item() for w in token_windows]
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-5)
    assert perplexity(nll) == pytest.approx(float(np.exp(np.mean(expected))), rel=1e-6)


def test_one_pass_captures_several_matrices_as_separate_passes_would(tokenizer, token_windows, tmp_path):
    from entangle.capture import capture_matrices

    model = tiny_model("llama", len(tokenizer), n_layers=3)
    calls = []
    handle = arch.blocks(model)[2].register_forward_hook(lambda *a: calls.append(1))
    targets = {(0, "gate"): {"in": tmp_path / "g0.in.npy", "out": None},
               (1, "up"): {"in": None, "out": tmp_path / "u1.out.npy"},
               (1, "down"): {"in": tmp_path / "d1.in.npy", "out": tmp_path / "d1.out.npy"}}
    shapes = capture_matrices(model, token_windows, targets, batch_size=3)
    handle.remove()
    assert calls == []  # stopped after layer 1's last requested matrix: block 2 never ran
    assert shapes == {(0, "gate"): (16, 24), (1, "up"): (16, 24), (1, "down"): (24, 16)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d1.in.npy", "d1.out.npy", "g0.in.npy", "u1.out.npy"]
    for (layer, matrix), files in targets.items():
        x, y = tmp_path / "x.npy", tmp_path / "y.npy"
        capture_matrix(model, token_windows, layer, matrix, x, y, batch_size=3)
        for end, path in (("in", x), ("out", y)):
            if files[end] is not None:
                np.testing.assert_array_equal(load_matrix(files[end]), load_matrix(path))


def test_inputs_of_several_matrices_in_one_pass_equal_one_at_a_time(tokenizer, token_windows):
    from entangle.capture import matrices_inputs, matrix_inputs

    model = tiny_model("gpt_neox", len(tokenizer), n_layers=3)
    both = matrices_inputs(model, token_windows, [(0, "up"), (2, "down")], batch_size=3)
    for layer, matrix in ((0, "up"), (2, "down")):
        alone = matrix_inputs(model, token_windows, layer, matrix, batch_size=3)
        assert alone.shape[:2] == token_windows.shape
        assert torch.equal(both[layer, matrix], alone)


def test_scratch_space_check_names_the_variable_and_the_space(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from entangle.capture import check_free_space

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10 * 2**30, 9 * 2**30, 2**30))
    check_free_space(tmp_path, 2**29, "TMPDIR", "the scratch outputs")  # fits: nothing raised
    with pytest.raises(OSError, match=r"TMPDIR .* 1\.00 GiB free, but the scratch outputs need 3\.00 GiB"):
        check_free_space(tmp_path, 3 * 2**30, "TMPDIR", "the scratch outputs")


def test_row_writer_writes_the_bytes_of_a_memmap(tmp_path):
    from entangle.capture import NpyRowWriter

    values = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    with NpyRowWriter(tmp_path / "a.npy", values.shape, np.float32) as out:
        out.write(6, values[6:])
        out.write(0, values[:6])
    ref = np.lib.format.open_memmap(tmp_path / "b.npy", mode="w+", dtype=np.float32, shape=values.shape)
    ref[:] = values
    ref.flush()
    del ref
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
