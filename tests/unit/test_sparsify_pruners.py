import logging

import pytest
import torch

from entangle.sparsify import SparseGPT, WandaStats, magnitude_prune, wanda_prune

D_OUT, D_IN, N_SEQ, L = 64, 256, 8, 64


def synthetic_layer(seed=0):
    """W [D_OUT, D_IN] and correlated inputs X [N_SEQ, L, D_IN] whose feature scales are randomly permuted."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D_OUT, D_IN, generator=g)
    scales = torch.exp(0.5 * torch.randn(D_IN, generator=g))[torch.randperm(D_IN, generator=g)]
    mix = torch.eye(D_IN) + 0.3 * torch.randn(D_IN, D_IN, generator=g) / D_IN**0.5
    X = (torch.randn(N_SEQ, L, D_IN, generator=g) @ mix) * scales
    return W, X


def prune_all(W, X, sparsity):
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    stats = WandaStats(D_IN)
    stats.add_batch(X)
    return {
        "magnitude": magnitude_prune(W, sparsity),
        "wanda": wanda_prune(W, stats.scaler_row, sparsity),
        "sparsegpt": gpt.prune(sparsity),
    }


def test_zero_sparsity_is_dense():
    W, X = synthetic_layer()
    for name, pruned in prune_all(W, X, 0.0).items():
        assert torch.equal(pruned, W), name


def test_exact_unstructured_sparsity():
    W, X = synthetic_layer()
    s = 0.5
    pruned = prune_all(W, X, s)
    assert (pruned["magnitude"] == 0).sum() == int(W.numel() * s) + 1
    assert ((pruned["wanda"] == 0).sum(1) == int(D_IN * s)).all()
    for i1 in range(0, D_IN, 128):
        block = pruned["sparsegpt"][:, i1 : i1 + 128]
        assert (block == 0).sum() == int(D_OUT * 128 * s) + 1


@pytest.mark.parametrize("n, m", [(2, 4), (4, 8)])
def test_nm_pattern(n, m):
    W, X = synthetic_layer()
    for name, pruned in prune_all(W, X, f"{n}:{m}").items():
        zeros = (pruned == 0).reshape(D_OUT, D_IN // m, m).sum(-1)
        assert (zeros >= n).all(), name


def test_sparsegpt_reconstructs_best():
    W, X = synthetic_layer(seed=1)
    tokens = X.reshape(-1, D_IN)
    for sparsity in [0.5, "2:4"]:
        err = {k: ((W - v) @ tokens.t()).norm().item() for k, v in prune_all(W, X, sparsity).items()}
        assert err["sparsegpt"] < err["wanda"] < err["magnitude"], err


def test_hessian_running_mean():
    g = torch.Generator().manual_seed(0)
    gpt = SparseGPT(torch.randn(4, 16, generator=g))
    batches = [torch.randn(3, 10, 16, generator=g), torch.randn(7, 16, generator=g), torch.randn(2, 5, 16, generator=g)]
    for b in batches:
        gpt.add_batch(b)
    n_seq = 3 + 1 + 2
    expected = sum(b.reshape(-1, 16).double().t() @ b.reshape(-1, 16).double() for b in batches) * 2 / n_seq
    assert gpt.nsamples == n_seq
    assert gpt.H.dtype == torch.float32
    torch.testing.assert_close(gpt.H.double(), expected, rtol=1e-5, atol=1e-5)


def test_wanda_stats_running_mean():
    g = torch.Generator().manual_seed(0)
    stats = WandaStats(16)
    batches = [torch.randn(3, 10, 16, generator=g), torch.randn(7, 16, generator=g)]
    for b in batches:
        stats.add_batch(b)
    expected = sum(b.reshape(-1, 16).pow(2).sum(0) for b in batches) / 4
    torch.testing.assert_close(stats.scaler_row, expected)


def test_wanda_score_ranks_by_input_norm():
    W = torch.ones(2, 4)
    scaler_row = torch.tensor([4.0, 1.0, 9.0, 0.25])
    mask_kept = wanda_prune(W, scaler_row, 0.5) != 0
    assert mask_kept.tolist() == [[True, False, True, False]] * 2


def test_sparsegpt_dead_inputs_zeroed():
    W, X = synthetic_layer()
    X[..., 5] = 0
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    assert (gpt.prune(0.0)[:, 5] == 0).all()


def test_sparsegpt_keeps_dtype():
    W, X = synthetic_layer()
    gpt = SparseGPT(W.to(torch.bfloat16))
    gpt.add_batch(X.to(torch.bfloat16))
    assert gpt.prune(0.5).dtype == torch.bfloat16


def test_singular_hessian_retries_and_logs(caplog):
    gpt = SparseGPT(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)))
    gpt.add_batch(torch.ones(1, 4, 8))  # rank-1 H with identical entries: Cholesky fails without damping
    with caplog.at_level(logging.WARNING, logger="entangle.sparsify.sparsegpt"):
        pruned = gpt.prune(0.5, percdamp=0.0)
    assert torch.isfinite(pruned).all()
    assert any("Cholesky failed with damping 0" in r.getMessage() for r in caplog.records)


def test_indefinite_hessian_gives_clear_error(caplog):
    gpt = SparseGPT(torch.randn(4, 8))
    gpt.add_batch(torch.randn(1, 4, 8))
    gpt.H = torch.eye(8) + 1e6 * (torch.ones(8, 8) - torch.eye(8))  # eigenvalues 1 - 1e6 (x7) and 1 + 7e6
    with caplog.at_level(logging.WARNING, logger="entangle.sparsify.sparsegpt"), pytest.raises(
        RuntimeError, match="failed after 5 retries"
    ):
        gpt.prune(0.5)
    assert len(caplog.records) == 5


def test_sparsegpt_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        SparseGPT(torch.randn(2, 3, 4))
    gpt = SparseGPT(torch.randn(4, 8))
    with pytest.raises(ValueError, match="before any add_batch"):
        gpt.prune(0.5)
    gpt.add_batch(torch.randn(4, 8))
    with pytest.raises(ValueError, match="blocksize"):
        gpt.prune("2:3", blocksize=128)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        gpt.prune(1.5)


# --- row-wise SparseGPT (WD-F3: only the selected rows are pruned) ---------------------------------------

ROWS = torch.tensor([40, 3, 17, 63])


@pytest.mark.parametrize("sparsity", [0.5, 0.9, 0.37])
def test_row_wise_prunes_only_the_selected_rows_each_to_floor_s_d_in(sparsity):
    W, X = synthetic_layer()
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    pruned = gpt.prune(sparsity, rows=ROWS)
    others = torch.ones(D_OUT, dtype=torch.bool)
    others[ROWS] = False
    assert torch.equal(pruned[others], W[others])  # bit-identical
    assert ((pruned[ROWS] == 0).sum(1) == int(sparsity * D_IN)).all()  # 0.9 * 256 -> 230 = 115 + 115 per block
    assert not torch.equal(pruned[ROWS][pruned[ROWS] != 0], W[ROWS][pruned[ROWS] != 0])  # OBS updated the rest


def test_row_wise_submatrix_equals_the_rows_pruned_with_the_full_hessian():
    W, X = synthetic_layer(seed=2)
    full, sub = SparseGPT(W), SparseGPT(W[ROWS].clone())
    full.add_batch(X)
    sub.add_batch(X)
    a = full.prune(0.7, rows=ROWS)[ROWS]
    b = sub.prune(0.7, per_row=True)
    assert torch.equal(a == 0, b == 0)  # the same mask
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    every = full.prune(0.7, rows=torch.arange(D_OUT))
    torch.testing.assert_close(every, full.prune(0.7, per_row=True), rtol=0, atol=0)


def test_row_wise_obs_update_beats_plain_row_pruning():
    W, X = synthetic_layer(seed=1)
    tokens = X.reshape(-1, D_IN)
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    pruned = gpt.prune(0.8, rows=ROWS)
    mask = pruned[ROWS] == 0
    no_update = W[ROWS].masked_fill(mask, 0)  # same mask, no OBS compensation
    err = lambda w: ((W[ROWS] - w) @ tokens.t()).norm().item()
    assert err(pruned[ROWS]) < err(no_update)


def test_row_wise_keeps_dead_inputs_of_other_rows_and_the_reference_path():
    W, X = synthetic_layer()
    X[..., 5] = 0
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    pruned = gpt.prune(0.0, rows=ROWS)
    assert (pruned[ROWS, 5] == 0).all()
    others = [r for r in range(D_OUT) if r not in ROWS.tolist()]
    assert torch.equal(pruned[others], W[others])
    assert torch.equal(gpt.prune(0.5, rows=None), gpt.prune(0.5))  # reference (joint mask) path by default
    bf = SparseGPT(W.to(torch.bfloat16))
    bf.add_batch(X)
    assert bf.prune(0.5, rows=ROWS).dtype == torch.bfloat16


def test_row_wise_bad_rows():
    W, X = synthetic_layer()
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    for bad, match in ((torch.tensor([1, 1]), "distinct"), (torch.tensor([D_OUT]), r"\[0, 64\)"),
                       (torch.tensor([[1]]), "1-D"), (torch.tensor([0.5]), "1-D")):
        with pytest.raises(ValueError, match=match):
            gpt.prune(0.5, rows=bad)
