"""Bit for bit with the references (IST-DASLab SparseGPT `fasterprune`, locuslab Wanda `prune_wanda`).

The transcriptions below restate the references' arithmetic, operation by operation and in the same
order (SparseGPT's `add_batch` and `fasterprune`, Wanda's `WrappedGPT.add_batch` and `prune_wanda`), with
ties="reference", the references' tie rule. Our
pruners must give the same masks and weights, torch.equal, on random weights, on weights with many
exact ties, and on Q4_1-style quantized weights (16 levels per block of 32 inputs, a scale and a min
per block). One thread, so the reductions run in one order.
"""

from __future__ import annotations

import math

import pytest
import torch

from entangle.sparsify import SparseGPT, WandaStats, wanda_mask, wanda_prune

D_OUT, D_IN, SEQ, LEN = 64, 256, 6, 48


pytestmark = pytest.mark.usefixtures("one_thread")


# --- the references' arithmetic ---------------------------------------------------------------------------


def reference_hessian(batches: list[torch.Tensor]) -> torch.Tensor:
    """SparseGPT `add_batch`: H *= n / (n + b); n += b; X = sqrt(2 / n) * X^T (a [d_in, tokens] view);
    H += X @ X^T."""
    H = torch.zeros(batches[0].shape[-1], batches[0].shape[-1])
    n = 0
    for inp in batches:
        b = inp.shape[0]
        inp = inp.reshape(-1, inp.shape[-1]).t()
        H *= n / (n + b)
        n += b
        inp = math.sqrt(2 / n) * inp.float()
        H += inp.matmul(inp.t())
    return H


def reference_fasterprune(weight: torch.Tensor, H: torch.Tensor, sparsity: float, prunen: int = 0, prunem: int = 0,
                          blocksize: int = 128, percdamp: float = 0.01) -> torch.Tensor:
    """SparseGPT `fasterprune` (no quantizer): the pruned and updated weight, fp32."""
    W = weight.clone().float()
    H = H.clone()
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1**2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1) == 1
        for i in range(i2 - i1):
            w = W1[:, i]
            d = Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = W1[:, i:(i + prunem)] ** 2 / (torch.diag(Hinv1)[i:(i + prunem)].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1, largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W.to(weight.dtype)


def reference_scaler_row(batches: list[torch.Tensor]) -> torch.Tensor:
    """Wanda `WrappedGPT.add_batch`: s *= n / (n + b); n += b; s += ||X^T||_2(dim=1) ** 2 / n, fp32."""
    scaler_row = torch.zeros(batches[0].shape[-1])
    n = 0
    for inp in batches:
        b = inp.shape[0]
        inp = inp.reshape((-1, inp.shape[-1])).t()
        scaler_row *= n / (n + b)
        n += b
        inp = inp.type(torch.float32)
        scaler_row += torch.norm(inp, p=2, dim=1) ** 2 / n
    return scaler_row


def reference_wanda_mask(weight: torch.Tensor, scaler_row: torch.Tensor, sparsity: float, prune_n: int = 0,
                         prune_m: int = 0) -> torch.Tensor:
    """Wanda `prune_wanda`'s mask (True = pruned): |W| * sqrt(scaler_row), per row."""
    W_metric = torch.abs(weight) * torch.sqrt(scaler_row.reshape((1, -1)))
    W_mask = torch.zeros_like(W_metric) == 1
    if prune_n != 0:
        for ii in range(W_metric.shape[1]):
            if ii % prune_m == 0:
                tmp = W_metric[:, ii:(ii + prune_m)].float()
                W_mask.scatter_(1, ii + torch.topk(tmp, prune_n, dim=1, largest=False)[1], True)
    else:
        indices = torch.sort(W_metric, dim=-1, stable=True)[1][:, :int(W_metric.shape[1] * sparsity)]
        W_mask.scatter_(1, indices, True)
    return W_mask


# --- weights and inputs ------------------------------------------------------------------------------------


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_weights(seed: int = 0, shape=(D_OUT, D_IN)) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed)) * 0.05


def tied_weights(seed: int = 0, shape=(D_OUT, D_IN)) -> torch.Tensor:
    """Seven values only (-3..3 times one step): most scores tie within a column and across columns."""
    return torch.randint(-3, 4, shape, generator=_gen(seed)).float() * 0.0625


def q4_1_weights(seed: int = 0, shape=(D_OUT, D_IN)) -> torch.Tensor:
    """Q4_1 dequantized: per block of 32 inputs of a row, w = d * q + m with q in 0..15, and the block's
    scale d = (max - min) / 15 and min m stored as fp16 (as GGUF stores them)."""
    rows, cols = shape
    blocks = (torch.randn(*shape, generator=_gen(seed)) * 0.05).reshape(rows, cols // 32, 32)
    lo, hi = blocks.min(-1, keepdim=True).values, blocks.max(-1, keepdim=True).values
    d = ((hi - lo) / 15).half().float()
    m = lo.half().float()
    q = torch.clamp(torch.round((blocks - m) / d), 0, 15)
    return (d * q + m).reshape(rows, cols)


WEIGHTS = {"random": random_weights, "tied": tied_weights, "q4_1": q4_1_weights}


def inputs(source: str = "random", seed: int = 2, d_in: int = D_IN) -> list[torch.Tensor]:
    """Calibration batches [b, LEN, d_in] of unequal sizes (they exercise the running means), with unequal
    feature scales, permuted so that no block of columns is special.

    random: seed 2 gives a Hessian whose diagonal mean differs in the last bit between a strided and a
    contiguous sum; duplicated: columns in groups of four equal columns, so their statistics tie exactly;
    permuted: groups of four columns holding the same values in different token orders, so their statistics
    are equal up to rounding and the order of the sums decides who wins a tie; hadamard: rows of a +-1
    Hadamard matrix, X^T X = tokens * I exactly, so H is diagonal with equal entries, every U_jj is equal,
    and SparseGPT's scores tie wherever |w| ties, across columns too.
    """
    if source == "hadamard":
        h = torch.ones(1, 1)
        while h.shape[0] < d_in:
            h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
        return [h.reshape(4, d_in // 4, d_in)]
    g = _gen(seed)
    scale = torch.rand(d_in, generator=g)[torch.randperm(d_in, generator=g)] * 2 + 0.1
    x = torch.randn(SEQ * LEN, d_in, generator=g) * scale
    if source in ("duplicated", "permuted"):
        x = x[:, torch.arange(d_in) // 4 * 4]
    if source == "permuted":
        x = torch.stack([x[torch.randperm(len(x), generator=g), j] for j in range(d_in)], 1)
    x = x.reshape(SEQ, LEN, d_in)
    return [x[:2], x[2:3], x[3:]]


def our_sparsegpt(weight, batches, sparsity):
    gpt = SparseGPT(weight)
    for x in batches:
        gpt.add_batch(x)
    return gpt, gpt.prune(sparsity, ties="reference")


def our_scaler_row(batches):
    stats = WandaStats(batches[0].shape[-1])
    for x in batches:
        stats.add_batch(x)
    return stats


def _nm(sparsity):
    return (2, 4) if sparsity == "2:4" else (0, 0)


# --- SparseGPT ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", WEIGHTS)
@pytest.mark.parametrize("sparsity", [0.5, 0.7, "2:4"])
@pytest.mark.parametrize("source", ["random", "permuted", "hadamard"])
def test_sparsegpt_is_bit_identical_to_the_reference(kind, sparsity, source):
    weight = WEIGHTS[kind]()
    batches = inputs(source)
    gpt, ours = our_sparsegpt(weight, batches, sparsity)
    H = reference_hessian(batches)
    assert torch.equal(gpt.H, H)
    n, m = _nm(sparsity)
    ref = reference_fasterprune(weight, H, 0 if n else sparsity, n, m)
    assert torch.equal(ours == 0, ref == 0)  # the masks (no kept weight is 0 after the OBS update)
    assert torch.equal(ours, ref)


def test_sparsegpt_near_ties_decided_by_the_damping_mean():
    """A case where the strided mean of diag H (last bit off) prunes 8 other weights of a 256 x 512 matrix."""
    weight, batches = tied_weights(4, (256, 512)), inputs("random", 14, 512)
    gpt, ours = our_sparsegpt(weight, batches, "2:4")
    assert gpt.H.diagonal().mean() != torch.mean(torch.diag(gpt.H))
    assert torch.equal(ours, reference_fasterprune(weight, reference_hessian(batches), 0, 2, 4))


def test_the_sparsegpt_cases_test_the_damping_and_the_tie_rule():
    """The random inputs' Hessian has a diagonal mean that differs in the last bit between a strided and a
    contiguous sum (so the weights above tell the two apart), and the tied and quantized weights tie at the
    threshold and within 2:4 groups."""
    H = reference_hessian(inputs("random"))
    assert H.diagonal().mean() != torch.mean(torch.diag(H))
    assert tied_weights().unique().numel() == 7
    assert max(b.unique().numel() for b in q4_1_weights().reshape(-1, 32)) <= 16  # 16 levels: every block ties
    _, pruned = our_sparsegpt(tied_weights(), inputs("hadamard"), 0.5)
    assert (pruned == 0).float().mean() > 0.6  # every weight tied at a block's threshold goes
    score = tied_weights()[:, :4] ** 2  # equal U_jj: the 2:4 score is w**2 up to one factor
    assert (score.sort(1).values[:, 1] == score.sort(1).values[:, 2]).any()


def test_damping_mean_is_the_contiguous_diagonals():
    """The pruner's factor is the references' for Hessians whose strided and contiguous diagonal means differ."""
    from entangle.sparsify.sparsegpt import _inverse_cholesky_upper

    differ = 0
    for seed in range(40):
        x = torch.randn(256, 160, generator=_gen(seed)) * torch.rand(160, generator=_gen(seed + 100)) * 3
        H = x.t() @ x
        differ += int(H.diagonal().mean().item() != torch.mean(torch.diag(H)).item())
        damped = H.clone()
        damped[torch.arange(160), torch.arange(160)] += 0.01 * torch.mean(torch.diag(H))
        U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(damped)), upper=True)
        assert torch.equal(_inverse_cholesky_upper(H, 0.01, 0), U)
    assert differ > 0  # else this test could not tell the two means apart


# --- Wanda -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["random", "duplicated", "permuted"])
def test_wanda_scaler_row_is_bit_identical_to_the_reference(source):
    batches = inputs(source)
    stats = our_scaler_row(batches)
    assert torch.equal(stats.scaler_row, reference_scaler_row(batches))
    assert stats.nsamples == SEQ


def test_wanda_scaler_row_two_dimensional_batches_count_one_sequence_each():
    batches = [x for b in inputs("permuted") for x in b]  # six 2-D sequences
    stats = our_scaler_row(batches)
    assert stats.nsamples == SEQ
    assert torch.equal(stats.scaler_row, reference_scaler_row([x.unsqueeze(0) for x in batches]))


@pytest.mark.parametrize("kind", WEIGHTS)
@pytest.mark.parametrize("sparsity", [0.5, 0.7, "2:4"])
@pytest.mark.parametrize("source", ["random", "duplicated", "permuted"])
def test_wanda_is_bit_identical_to_the_reference(kind, sparsity, source):
    weight = WEIGHTS[kind]()
    batches = inputs(source)
    scaler_row = our_scaler_row(batches).scaler_row
    n, m = _nm(sparsity)
    ref_mask = reference_wanda_mask(weight, reference_scaler_row(batches), 0.5 if n else sparsity, n, m)
    assert torch.equal(wanda_mask(weight, scaler_row, sparsity, ties="reference"), ref_mask)
    ref = weight.clone()
    ref[ref_mask] = 0
    assert torch.equal(wanda_prune(weight, scaler_row, sparsity, ties="reference"), ref)


def test_the_wanda_cases_test_the_norm_and_the_tie_rule():
    """With permuted columns a sum of squares and a squared norm differ in the last bit, and on quantized
    weights that decides 2:4 groups; with duplicated columns and tied weights the scores tie exactly."""
    batches = inputs("permuted")
    flat = torch.cat([b.reshape(-1, D_IN) for b in batches])
    sum_of_squares = flat.pow(2).sum(0) / SEQ
    reference = reference_scaler_row(batches)
    assert (sum_of_squares != reference).any()
    weight = q4_1_weights()
    assert (reference_wanda_mask(weight, sum_of_squares, 0.5, 2, 4)
            != reference_wanda_mask(weight, reference, 0.5, 2, 4)).any()
    metric = tied_weights().abs() * reference_scaler_row(inputs("duplicated")).sqrt()
    groups = metric.reshape(D_OUT, -1, 4).sort(-1).values
    assert (groups[..., 1] == groups[..., 2]).any()
