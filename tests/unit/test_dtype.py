"""`dtype: auto` and the bf16 path of the sparsification driver against float32."""

import copy

import pytest
import torch

from entangle.device import resolve_dtype
from entangle.evaluation.perplexity import window_nll
from entangle.sparsify.sequential import SparsifySettings, sparsify_model
from tests.conftest import tiny_model

VOCAB = 300


def test_auto_follows_the_cpu_flags(tmp_path, caplog):
    with_bf16, without = tmp_path / "amx", tmp_path / "avx2"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert resolve_dtype("auto", "cpu", cpuinfo=with_bf16) == "bfloat16"
    with caplog.at_level("INFO", logger="entangle.device"):
        assert resolve_dtype("auto", "cpu", cpuinfo=without) == "float32"
    assert "amx_bf16" in caplog.text and "emulated" in caplog.text  # the log says why
    assert resolve_dtype("auto", "cpu", cpuinfo=tmp_path / "missing") == "float32"
    assert resolve_dtype("bfloat16", "cpu", cpuinfo=without) == "bfloat16"  # an explicit dtype is kept
    with pytest.raises(ValueError, match="float32, float16, bfloat16, auto"):
        resolve_dtype("fp8")


def _windows(n, seed, length=32):
    return torch.randint(0, VOCAB, (n, length), generator=torch.Generator().manual_seed(seed))


# Tolerance of the bf16 path, in nats per token of test NLL, on a small llama whose weights (std 0.3) make
# pruning matter (80% sparsity costs 0.01-0.1 nats here): the dense model within 0.002, every method within
# 0.05. The real scale's method gaps that claims 19-21 judge are 0.06-0.4 nats at 50-90% sparsity.
@pytest.mark.parametrize("method,extra", [("magnitude", {}), ("wanda", {}), ("sparsegpt", {}),
                                          ("sparse_expansion", dict(num_clusters=2, pca_factor=4, n_init=2))])
def test_bf16_matches_float32_within_the_stated_tolerance(method, extra):
    torch.manual_seed(0)
    base = tiny_model("llama", VOCAB, n_layers=3)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in base.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    calib, test = _windows(16, 1), _windows(8, 2)
    nll, sparsity = {}, {}
    for dtype in (torch.float32, torch.bfloat16):
        net = copy.deepcopy(base).to(dtype)
        dense = window_nll(net, test).mean().item()
        result = sparsify_model(net, calib, SparsifySettings(method, 0.8, batch_size=4, ties="exact", **extra),
                                progress=False)
        nll[dtype] = (dense, window_nll(net, test).mean().item())
        sparsity[dtype] = [r["zeros"] for r in result.linears]
        assert all(p.dtype == dtype for n, p in net.named_parameters() if "router" not in n)
    assert abs(nll[torch.bfloat16][0] - nll[torch.float32][0]) < 0.002
    assert abs(nll[torch.bfloat16][1] - nll[torch.float32][1]) < 0.05
    assert sparsity[torch.bfloat16] == sparsity[torch.float32]  # the same number of weights pruned, exactly
