"""The paper-scale cost estimate (entangle.cost): its structure, not its numbers."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from entangle.config import load_scale
from entangle.cost import GROUPED_RULES, RULE_COSTS, Assumptions, CostError, CostModel, with_measurements
from entangle.flops import (KMEANS_REFINE, KMEANS_SAMPLE, KMEANS_SWAP_ROUNDS, KMEANS_SWAP_TRIALS,
                            forward_flops_per_token, kmeans_flops, sparsegpt_flops)
from entangle.models.paper_archs import PAPER_ARCHS, paper_arch

REPO = Path(__file__).resolve().parents[2]
RAW = yaml.safe_load((REPO / "config.yaml").read_text())


def model(assumptions=None, **changes) -> CostModel:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    for path, value in changes.items():  # "sparsify.calibration.windows" -> value
        node = raw["scales"]["paper"]
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return CostModel(load_scale(raw, "paper"), assumptions)


@pytest.mark.parametrize("hub_id, params", [
    ("EleutherAI/pythia-70m-deduped", 70.4e6), ("EleutherAI/pythia-1.4b-deduped", 1.414e9),
    ("EleutherAI/pythia-12b-deduped", 11.85e9), ("facebook/opt-1.3b", 1.316e9),
    ("meta-llama/Llama-2-7b-hf", 6.74e9), ("meta-llama/Llama-2-13b-hf", 13.0e9),
    ("meta-llama/Meta-Llama-3-8B", 8.03e9), ("openai-community/gpt2", 124.4e6)])
def test_real_architectures_have_their_published_parameter_counts(hub_id, params):
    # weight matrices only (norms, biases, learned positions < 1.5%)
    assert paper_arch(hub_id).params == pytest.approx(params, rel=0.015)


def test_every_paper_model_has_its_architecture():
    for spec in load_scale(RAW, "paper").models.values():
        arch = paper_arch(spec.hub_id)
        assert arch.family == spec.family and arch.n_layers == spec.n_layers
    assert paper_arch("meta-llama/Meta-Llama-3-8B").n_kv_heads == 8  # grouped-query attention
    with pytest.raises(KeyError, match="known: EleutherAI/pythia-70m-deduped"):
        paper_arch("nobody/nothing")


def test_forward_flops_are_twice_the_weights_plus_attention():
    arch = PAPER_ARCHS["meta-llama/Llama-2-7b-hf"]
    f = forward_flops_per_token(arch, 4096)
    assert f == pytest.approx(2 * arch.params - 2 * arch.vocab_size * arch.d_model + 2 * 32 * 4096 * 4096)
    assert forward_flops_per_token(arch, 4096, layers=1, head=False) == pytest.approx(
        2 * arch.block_params + 2 * 4096 * 4096)


def test_doubling_the_evaluation_tokens_doubles_the_evaluation_term():
    base = Assumptions()
    double = replace(base, words={**base.words, "test": 2 * base.words["test"],
                                  "validation": 2 * base.words["validation"]})
    wc = {"model": "llama-2-7b", "run": "sparsegpt", "sparsity": "0.5"}
    one, two = model(base).job("sparsify_prune", wc), model(double).job("sparsify_prune", wc)
    assert two.terms["evaluation"] == pytest.approx(2 * one.terms["evaluation"], rel=1e-3)
    assert two.terms["prune"] == one.terms["prune"] and two.terms["hessian"] == one.terms["hessian"]
    wc = {"model": "pythia-1.4b", "revision": "step143000", "split": "validation"}
    assert model(double).job("perplexity", wc).terms["evaluation"] == pytest.approx(
        2 * model(base).job("perplexity", wc).terms["evaluation"], rel=1e-3)


def test_doubling_the_calibration_windows_doubles_the_hessian_term_only():
    wc = {"model": "pythia-1.4b", "run": "sparsegpt", "sparsity": "0.7"}
    one = model().job("sparsify_prune", wc)
    two = model(**{"sparsify.calibration.windows": 256}).job("sparsify_prune", wc)
    assert two.terms["hessian"] == pytest.approx(2 * one.terms["hessian"])
    assert two.terms["calibration_forward"] == pytest.approx(2 * one.terms["calibration_forward"])
    assert two.terms["prune"] == one.terms["prune"] and two.terms["evaluation"] == one.terms["evaluation"]


def test_more_experts_scale_the_sparse_expansion_pruning_term_linearly():
    cost = model()
    terms = {k: cost.job("sparsify_prune", {"model": "llama-2-7b", "run": f"se{k}", "sparsity": "0.5"}).terms
             for k in (4, 16, 32)}
    assert terms[16]["prune"] == pytest.approx(4 * terms[4]["prune"])
    assert terms[32]["prune"] == pytest.approx(8 * terms[4]["prune"])
    assert terms[32]["hessian"] == terms[4]["hessian"]  # the experts' Hessians together see each token once
    assert terms[32]["router"] > terms[4]["router"]
    sgpt = cost.job("sparsify_prune", {"model": "llama-2-7b", "run": "sparsegpt", "sparsity": "0.5"}).terms
    assert terms[16]["prune"] == pytest.approx(16 * sgpt["prune"])


def test_sparse_expansion_memory_grows_with_k_and_fits_the_gpu():
    cost = model()
    mem = [cost.job("sparsify_prune", {"model": "llama-2-13b", "run": f"se{k}", "sparsity": "0.5"}).memory_gb
           for k in (4, 16, 32)]
    assert mem[0] < mem[1] < mem[2] < cost.a.gpu.memory_gb


def test_capture_stops_after_its_layer():
    cost = model()
    wc = {"model": "pythia-12b", "revision": "step143000", "split": "test", "matrix": "up"}
    f0, f3 = (cost.job("capture", {**wc, "layer": str(layer)}).terms["forward"] for layer in (0, 3))
    assert f3 == pytest.approx(4 * f0)


def test_solver_and_kmeans_flops_follow_the_matrix_shapes():
    assert sparsegpt_flops(2 * 100, 100) - sparsegpt_flops(100, 100) == pytest.approx(2 * 100**3)
    assert sparsegpt_flops(100, 200) == pytest.approx(8 * sparsegpt_flops(50, 100))
    # restarts run on a coreset of at most KMEANS_SAMPLE points: more restarts add restarts on the coreset only
    n = 8 * KMEANS_SAMPLE
    lloyd = 3 * 16 * 128 * 50
    assert kmeans_flops(n, 128, 16, 100, 50) - kmeans_flops(n, 128, 16, 50, 50) == pytest.approx(50 * KMEANS_SAMPLE * lloyd)
    # more points: the refinement of the best KMEANS_REFINE and the swap search grow, the restarts do not
    grow = kmeans_flops(2 * n, 128, 16, 100, 50) - kmeans_flops(n, 128, 16, 100, 50)
    assert grow == pytest.approx(n * (KMEANS_REFINE * lloyd + KMEANS_SWAP_ROUNDS * (3 * 128 * (16 + KMEANS_SWAP_TRIALS) + lloyd)))


def test_measured_efficiency_slows_the_solver_in_proportion():
    slow = with_measurements(Assumptions(), {"sparsegpt_efficiency": Assumptions().sparsegpt_efficiency / 2})
    assert slow.measured == ("sparsegpt_efficiency",)
    wc = {"model": "pythia-70m", "run": "sparsegpt", "sparsity": "0.5"}
    fast_terms, slow_terms = model().job("sparsify_prune", wc).terms, model(slow).job("sparsify_prune", wc).terms
    latency = 6 * 6 * (512 + 2048) * Assumptions().kernel_latency_s  # layers x column steps: not FLOP-bound
    assert slow_terms["prune"] - latency == pytest.approx(2 * (fast_terms["prune"] - latency))


def test_rules_without_a_model_of_their_own_are_cpu_light_and_downloads_count_revisions():
    cost = model()
    table = cost.job("wd_fig2_analysis", {})
    assert not table.gpu and table.gpu_s == 0 and table.cpu_s == cost.a.cpu_light_s
    fetch = cost.job("fetch_model", {"model": "pythia-1.4b"})
    revisions = len(load_scale(RAW, "paper").models["pythia-1.4b"].revisions)
    assert revisions > 30 and fetch.download_gb == pytest.approx(revisions * 1.414e9 * 2 / 1e9, rel=0.02)


# --- which rules have a cost function -------------------------------------------------------------------

RULE = re.compile(r"^(\s*)rule\s*(\w*)\s*:")


def gpu_rules() -> tuple[set[str], set[str]]:
    """Rules of rules/*.smk whose `resources:` name a gpu, read as text: (named rules, prefixes of generated
    names). A generated rule (`rule:` with `name:`) is known by the literal start of its name (an f-string, or a
    variable assigned one in the same file)."""
    named, generated = set(), set()
    for path in sorted((REPO / "rules").glob("*.smk")):
        lines = path.read_text().splitlines()
        starts = [(i, m) for i, line in enumerate(lines) if (m := RULE.match(line))]
        for k, (i, m) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
            body = lines[i + 1:end]
            res = [j for j, line in enumerate(body) if line.strip() == "resources:"]
            if not res or not any("gpu" in line for line in body[res[0] + 1:res[0] + 4]):
                continue
            if m.group(2):
                named.add(m.group(2))
                continue
            name = body[next(j for j, line in enumerate(body) if line.strip() == "name:") + 1].strip()
            if not name.startswith('f"'):  # a variable: its f-string assignment in this file
                name = next(line.split("=", 1)[1].strip() for line in lines if re.match(rf"\s*{name}\s*=", line))
            generated.add(re.match(r'f"([^{"]*)', name).group(1))
    return named, generated


def test_every_gpu_rule_has_a_cost_function():
    named, generated = gpu_rules()
    assert {"capture", "perplexity", "sparsify_prune", "clamp_ablation"} <= named  # the reader finds them
    assert named <= set(RULE_COSTS), f"GPU rules without a cost function: {sorted(named - set(RULE_COSTS))}"
    assert generated == set(GROUPED_RULES)  # dense_pass_, disentangle_, sparsify_ (per-model jobs)
    assert all(set(rules) <= set(RULE_COSTS) for rules in GROUPED_RULES.values())


def test_an_unknown_gpu_rule_fails_loudly():
    m = model()
    assert m.job("zoo_table", {}).cpu_s == m.a.cpu_light_s and not m.job("zoo_table", {}).gpu  # no model: CPU-light
    with pytest.raises(CostError, match="'renamed_prune' asks for a GPU"):
        m.job("renamed_prune", {}, gpu=True)
    with pytest.raises(CostError, match="bundles the jobs of capture, perplexity"):
        m.job("dense_pass_smollm2", {}, gpu=True)
