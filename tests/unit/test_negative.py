"""The clamp of negative activations (NC §2.4) and the ablation's statistics."""

import numpy as np
import pytest
import torch

from entangle.evaluation.perplexity import window_nll
from entangle.models import arch
from entangle.evaluation.ppl import perplexity as ppl
from entangle.models.families import ACTIVATIONS
from entangle.negative.clamp import clamp_negative, random_like, top_wd_neurons
from entangle.negative.modes import activation
from entangle.negative.stats import (
    across_seeds,
    increase_sem,
    paired_test,
    point_ratio_of_increases,
    ratio_of_increases,
    significance_stars,
    summarize_percent,
)
from tests.conftest import tiny_model

CLAMPABLE = ("gpt_neox", "opt", "gpt2")


@pytest.fixture(params=CLAMPABLE)
def model(request, tokenizer):
    return tiny_model(request.param, len(tokenizer))


def _wd(model, seed=0):
    rng = np.random.default_rng(seed)
    return {l: rng.random(arch.weight(model, l, "up").shape[0]) for l in range(arch.n_layers(model))}


def _record(model, layer, matrix):
    """A hook recording the output of blocks.{layer}.mlp.{matrix} (as left by hooks registered before it)."""
    seen = []
    module = arch.mlp_matrix(model, layer, matrix)
    handle = module.register_forward_hook(lambda m, a, o: seen.append(o.detach().clone()))
    return seen, handle


def test_percent_zero_gives_exactly_the_baseline(model, token_windows):
    base = window_nll(model, token_windows, batch_size=3)
    selection = top_wd_neurons(_wd(model), 0)
    assert all(len(v) == 0 for v in selection.values())
    with clamp_negative(model, selection):
        clamped = window_nll(model, token_windows, batch_size=3)
    assert torch.equal(base, clamped)


def test_clamp_changes_only_the_selected_neurons(model, token_windows):
    with torch.no_grad():
        seen, h = _record(model, 0, "up")
        model(input_ids=token_windows)
        h.remove()
        before = seen[0]
        chosen = np.array([0, 3, 5])
        with clamp_negative(model, {0: chosen}):
            seen, h = _record(model, 0, "up")  # registered after the clamp: sees the clamped output
            model(input_ids=token_windows)
            h.remove()
        after = seen[0]
    others = np.setdiff1d(np.arange(before.shape[-1]), chosen)
    assert torch.equal(after[..., others], before[..., others])
    assert torch.equal(after[..., chosen], before[..., chosen].clamp(min=0))
    assert (before[..., chosen] < 0).any()  # the clamp did something


def test_clamp_in_a_later_layer_leaves_earlier_layers_alone(model, token_windows):
    with torch.no_grad():
        seen, h = _record(model, 0, "up")
        model(input_ids=token_windows)
        with clamp_negative(model, {1: np.arange(4)}):
            model(input_ids=token_windows)
        h.remove()
    assert torch.equal(seen[0], seen[1])


def test_weights_untouched_and_hooks_removed(model, token_windows):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    base = window_nll(model, token_windows)
    everything = {l: np.arange(arch.weight(model, l, "up").shape[0]) for l in range(arch.n_layers(model))}
    with clamp_negative(model, everything):
        clamped = window_nll(model, token_windows)
    if arch.arch_of(model).activation == "relu":
        assert torch.equal(base, clamped)  # ReLU already discards the negative side: the clamp is a no-op
    else:
        assert not torch.equal(base, clamped)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(not arch.mlp_matrix(model, l, "up")._forward_hooks for l in range(arch.n_layers(model)))
    assert torch.equal(window_nll(model, token_windows), base)


def test_hooks_removed_after_an_error(model):
    with pytest.raises(RuntimeError, match="boom"), clamp_negative(model, {0: np.array([1])}):
        raise RuntimeError("boom")
    assert not arch.mlp_matrix(model, 0, "up")._forward_hooks


def test_clamp_before_gelu_equals_relu_after_gelu(tokenizer, token_windows):
    net = tiny_model("gpt_neox", len(tokenizer))
    n = arch.weight(net, 0, "up").shape[0]
    with torch.no_grad():
        seen, h = _record(net, 0, "up")
        net(input_ids=token_windows)
        h.remove()
        pre = seen[0]
        down_in = []
        h = arch.mlp_matrix(net, 0, "down").register_forward_hook(lambda m, a, o: down_in.append(a[0].clone()))
        with clamp_negative(net, {0: np.arange(n)}):
            net(input_ids=token_windows)
        h.remove()
    gelu = arch.activation_fn(net)
    torch.testing.assert_close(down_in[0], torch.relu(gelu(pre)), rtol=0, atol=1e-7)


def test_swiglu_up_projection_is_refused(tokenizer):
    net = tiny_model("llama", len(tokenizer))
    with pytest.raises(ValueError, match="gate"), clamp_negative(net, {0: np.array([0])}):
        pass


def test_out_of_range_neuron_is_an_error(model):
    n = arch.weight(model, 0, "up").shape[0]
    with pytest.raises(IndexError), clamp_negative(model, {0: np.array([n])}):
        pass


def test_selection_follows_the_reference_rule():
    wd = np.random.default_rng(1).random(8192)
    top = top_wd_neurons({0: wd, 1: wd[::-1]}, 5)
    threshold = np.percentile(wd, 95)
    assert np.array_equal(top[0], np.flatnonzero(wd > threshold)) and len(top[0]) == 410
    assert np.array_equal(top[1], np.flatnonzero(wd[::-1] > threshold))


def test_random_control_matches_counts_is_seeded_and_nested():
    sizes = {0: 100, 1: 100}
    small = {0: np.arange(3), 1: np.arange(7)}
    large = {0: np.arange(10), 1: np.arange(20)}
    a, b = random_like(small, sizes, seed=0, repetition=0), random_like(large, sizes, seed=0, repetition=0)
    assert {l: len(v) for l, v in a.items()} == {0: 3, 1: 7}
    assert all(len(np.unique(v)) == len(v) and v.min() >= 0 and v.max() < 100 for v in b.values())
    assert all(set(a[l]) <= set(b[l]) for l in a)
    assert all(np.array_equal(a[l], random_like(small, sizes, 0, 0)[l]) for l in a)
    assert not np.array_equal(random_like(large, sizes, 0, 1)[1], b[1])
    assert not np.array_equal(b[0], b[1][:10])  # layers draw independently


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS.values())))
def test_numpy_activation_matches_transformers(name):
    from transformers.activations import ACT2FN

    x = np.linspace(-6, 6, 1001)
    expected = ACT2FN[name](torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(activation(name, x), expected, atol=1e-6)


def test_family_activations_agree_with_the_architecture_table():
    assert ACTIVATIONS == {f: a.activation for f, a in arch.ARCHS.items()}


def test_paired_test_and_effect_sizes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    same = paired_test(a, a)
    assert same["p"] == 1.0 and same["rank_biserial"] == 0.0 and same["mean_diff"] == 0.0
    up = paired_test(a + 0.1 + 0.01 * rng.random(200), a)
    assert up["p"] < 1e-10 and up["rank_biserial"] == 1.0 and up["cohens_dz"] > 0
    noise = paired_test(a + rng.normal(size=200), a)
    assert noise["p"] > 1e-3 and -1 < noise["rank_biserial"] < 1


def test_across_seeds_and_ratio():
    random = np.array([10.0, 10.2, 9.8, 10.1, 9.9])
    res = across_seeds(12.0, random)
    assert res["random_mean"] == pytest.approx(10.0) and res["empirical_p"] == pytest.approx(1 / 6)
    assert res["random_sem"] == pytest.approx(np.std(random, ddof=1) / np.sqrt(5))
    assert res["ttest_p"] < 1e-3 and res["z"] > 10
    assert point_ratio_of_increases(10, 12, 10.5) == pytest.approx(4.0)
    assert point_ratio_of_increases(10, 12, 10) == float("inf")
    assert np.isnan(point_ratio_of_increases(10, 9.9, 9.95))
    assert np.isnan(ratio_of_increases(10, 12, 10))  # the elementwise form: NaN without a random increase
    np.testing.assert_allclose(ratio_of_increases(np.array([10.0, 10.0]), np.array([12.0, 11.0]),
                                                  np.array([10.5, 10.5])), [4.0, 2.0])
    assert significance_stars(1e-5) == "***" and significance_stars(0.2) == "n.s."


def test_summary_of_one_percent():
    rng = np.random.default_rng(0)
    base = rng.normal(3.0, 0.3, size=64)
    top = base + 0.2 + 0.01 * rng.random(64)
    random = base + rng.normal(0.02, 0.01, size=(10, 64))
    s = summarize_percent(base, top, random)
    assert s["baseline_ppl"] == pytest.approx(ppl(base)) and s["top_ppl"] == pytest.approx(ppl(top))
    assert s["top_ppl"] > s["random_ppl_mean"] > s["baseline_ppl"]
    assert s["n_seeds"] == 10 and s["windows"] == 64 and len(s["random_ppls"]) == 10
    assert s["p_wilcoxon"] < 1e-10 and s["p_wilcoxon_max_over_seeds"] < 1e-10 and s["ratio_of_increases"] > 5
    assert s["increase_top_sem"] == pytest.approx(increase_sem(top, base)) and s["increase_top_sem"] > 0


def test_gate_clamp_before_silu_equals_silu_of_relu_gate_times_up(tokenizer, token_windows):
    """A gated FFN (NC-F4 on the `gated` role): the down projection sees SiLU(max(gate, 0)) * up for selected neurons."""
    net = tiny_model("llama", len(tokenizer))
    n = arch.weight(net, 0, "gate").shape[0]
    chosen = np.arange(0, n, 2)
    with torch.no_grad():
        gate, hg = _record(net, 0, "gate")
        up, hu = _record(net, 0, "up")
        net(input_ids=token_windows)
        hg.remove(), hu.remove()
        down_in = []
        h = arch.mlp_matrix(net, 0, "down").register_forward_hook(lambda m, a, o: down_in.append(a[0].clone()))
        with clamp_negative(net, {0: chosen}, matrix="gate"):
            net(input_ids=token_windows)
        h.remove()
        assert not arch.mlp_matrix(net, 0, "gate")._forward_hooks
    g = gate[0].clone()
    g[..., chosen] = g[..., chosen].clamp(min=0)
    expected = torch.nn.functional.silu(g) * up[0]
    torch.testing.assert_close(down_in[0], expected, rtol=1e-6, atol=1e-6)
    assert (gate[0][..., chosen] < 0).any()  # the clamp did something
