"""What the paper scale costs: GPU time, CPU time and peak GPU memory of each job of the paper DAG, from an
explicit model of the work (benchmarks/paper_cost.py prints it per item and for `figures`; the FLOP counts of
the building blocks: entangle.flops).

Work, from each model's real architecture (entangle.models.paper_archs) and the paper config's token counts:
- forward pass: 2 FLOPs per weight per token (blocks and output head) + causal attention, 2 n_layers context
  d_model per token; capture stops after its layer; perplexity, clamp and layer-wise evaluation run every block;
- SparseGPT of one [d_out, d_in] linear: Hessian 2 d_in^2 per token, Cholesky inverse (4/3) d_in^3, lazy-batch
  OBS updates 2 d_out d_in^2, and d_in sequential column steps (latency-bound on a GPU);
- Sparse Expansion: PCA to d_in / pca_factor (2 d_in^2 per token + d_in^3), k-means (n_init restarts x Lloyd
  iterations x 3 K d_pca FLOPs per point on a coreset of at most 8,192 points, the best 4 refined on all,
  a swap search on all; an upper bound) and K SparseGPT
  experts per linear (K Hessian inverses and OBS passes; the Hessians together see every token once);
- Wanda: input norms (d_in per token) and a sort per row; magnitude pruning: a sort per row;
- CPU work inside jobs (WD per neuron, GMM fits, HAC) at rates measured on this machine's CPU.
Time = FLOPs / (the GPU's peak for the dtype x achieved efficiency) + checkpoint bytes / load bandwidth
+ sequential steps x kernel latency. Memory = weights in the job's dtype + what the job holds at once.
Every number that is not derived is an `Assumptions` field, printed with the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from entangle.flops import (dtype_bytes, ffn_input_groups, ffn_linears, forward_flops_per_token, hessian_flops,
                            kmeans_flops, pca_flops, sparsegpt_flops)
from entangle.models.paper_archs import PaperArch, paper_arch
from entangle.sparsify.partial import WD_TOKENS

GB = 1e9
# WikiText-2 raw word counts (Merity et al. 2016), and tokens per word of each tokenizer on it (GPT-2 BPE: the
# test split is 287,644 tokens; Llama-2 sentencepiece: ~341k; Llama-3's 128k vocabulary: assumed ~0.97 x GPT-2).
WIKITEXT2_WORDS = {"train": 2_088_628, "validation": 217_646, "test": 245_569}
TOKENS_PER_WORD = {"gpt_neox_bpe": 1.17, "gpt2_bpe": 1.17, "llama_sentencepiece": 1.39, "llama3_bpe": 1.14}
# lm-evaluation-harness defaults per task: examples, prompt tokens (few-shot included), generated tokens
DOWNSTREAM_TASKS = {"gsm8k": (1319, 900, 256), "bbh": (6511, 1000, 256), "squadv2": (11873, 250, 32),
                    "triviaqa": (17944, 60, 32), "mmlu": (14042, 600, 1)}


@dataclass(frozen=True)
class GPU:
    name: str = "NVIDIA A100-SXM4-80GB"
    tflops_fp16: float = 312.0      # dense tensor-core peak (bf16 the same)
    tflops_fp32: float = 19.5       # torch's default fp32 matmul (TF32 off)
    memory_gb: float = 80.0
    bandwidth_tbs: float = 2.0      # HBM


@dataclass(frozen=True)
class Assumptions:
    """Every number the estimate does not derive. The defaults marked (measured) come from `python
    benchmarks/paper_cost.py --measure` on the project's 2-core development machine (one thread, CPU time,
    2026-12-01); `measured` names the fields a run re-measured."""

    gpu: GPU = field(default_factory=GPU)
    matmul_efficiency: float = 0.5          # achieved / peak for large matmuls (forward passes, Hessians)
    sparsegpt_efficiency: float = 0.196     # SparseGPT's FLOP rate / matmul's (measured on CPU, applied to the GPU)
    kmeans_efficiency: float = 0.212        # k-means' FLOP rate / matmul's (measured on CPU, applied to the GPU)
    kmeans_iterations: int = 50             # mean Lloyd iterations per restart (cap 300)
    kernel_latency_s: float = 2e-5          # one small sequential GPU step (SparseGPT: ~6 per column)
    load_gbs: float = 1.0                   # checkpoint read from a shared file system, GB/s
    job_overhead_s: float = 60.0            # start-up of a GPU job: Python, CUDA context, imports
    cpu_wd_s_per_value: float = 1.08e-8     # WD to N(0,1): CPU seconds per neuron-token (measured)
    cpu_gmm_s_per_point: float = 5.32e-7    # one 1-D GMM fit: CPU seconds per token per component (measured)
    cpu_gmm_s_per_fit: float = 4.4e-3       # one GMM fit's fixed cost, seconds (measured)
    cpu_light_s: float = 60.0               # a job without a model: text, tokenizing, tables, figures
    cpu_sae_seed_s: float = 600.0           # one NE SAE seed: MNIST MLP and two SAEs, a few epochs, CPU
    words: dict = field(default_factory=lambda: dict(WIKITEXT2_WORDS))
    tokens_per_word: dict = field(default_factory=lambda: dict(TOKENS_PER_WORD))
    downstream_tasks: dict = field(default_factory=lambda: dict(DOWNSTREAM_TASKS))
    measured: tuple = ()                    # names of the fields set from measurements

    def flops_per_s(self, dtype: str, efficiency: float = 1.0) -> float:
        peak = self.gpu.tflops_fp32 if dtype == "float32" else self.gpu.tflops_fp16
        return peak * 1e12 * self.matmul_efficiency * efficiency


@dataclass
class JobCost:
    """One job: seconds by term (GPU terms sum to gpu_s), CPU seconds, peak GPU memory, download."""

    rule: str
    wildcards: dict
    gpu: bool
    terms: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    memory_gb: float = 0.0
    download_gb: float = 0.0

    @property
    def gpu_s(self) -> float:
        return sum(self.terms.values()) if self.gpu else 0.0


# --- the paper config -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaperModel:
    name: str
    arch: PaperArch
    context: int


class CostModel:
    """Cost of each job of the paper DAG: `job(rule, wildcards)`. `scale`: entangle.config.load_scale(..., "paper")."""

    def __init__(self, scale, assumptions: Assumptions | None = None):
        self.s = scale.settings
        self.a = assumptions or Assumptions()
        self.specs = scale.models
        self.models = {name: PaperModel(name, paper_arch(spec.hub_id), spec.context)
                       for name, spec in scale.models.items()}

    # token counts -----------------------------------------------------------------------------------------
    def split_tokens(self, model: str, split: str) -> float:
        return self.a.words[split] * self.a.tokens_per_word[self.models[model].arch.tokenizer]

    def windows(self, model: str, split: str, max_windows: int | None = None) -> int:
        n = int(self.split_tokens(model, split) // self.models[model].context)
        return min(n, max_windows) if max_windows else n

    def window_tokens(self, model: str, split: str, max_windows: int | None = None) -> float:
        return self.windows(model, split, max_windows) * self.models[model].context

    def calibration_tokens(self, model: str) -> float:
        return self.s["sparsify"]["calibration"]["windows"] * self.models[model].context

    # shared terms -----------------------------------------------------------------------------------------
    def _load(self, model: str) -> float:
        return self.models[model].arch.checkpoint_bytes / GB / self.a.load_gbs

    def _forward_s(self, model: str, tokens: float, dtype: str, layers: int | None = None, head: bool = True):
        m = self.models[model]
        return forward_flops_per_token(m.arch, m.context, layers, head) * tokens / self.a.flops_per_s(dtype)

    def _weights_gb(self, model: str, dtype: str) -> float:
        return self.models[model].arch.params * dtype_bytes(dtype) / GB

    def _logits_gb(self, model: str, batch: int) -> float:
        """fp32 logits of one batch and their cross-entropy copy."""
        m = self.models[model]
        return 2 * batch * m.context * m.arch.vocab_size * 4 / GB

    def _hessian_s(self, d_in: int, tokens: float) -> float:
        return hessian_flops(d_in, tokens) / self.a.flops_per_s("float32")

    def _sparsegpt_s(self, d_out: int, d_in: int) -> float:
        """SparseGPT's solver on one linear (its Hessian apart): FLOPs at the measured efficiency + column steps."""
        a = self.a
        solver = sparsegpt_flops(d_out, d_in) / a.flops_per_s("float32", a.sparsegpt_efficiency)
        return solver + 6 * d_in * a.kernel_latency_s

    def _router_s(self, d_in: int, tokens: float, k: int) -> float:
        """PCA to d_in / pca_factor and k-means with K = k on `tokens` points."""
        sp, a = self.s["sparsify"], self.a
        factor = sp["expansion"]["pca_factor"]
        d_pca = max(1, d_in // factor) if factor else d_in
        return (pca_flops(d_in, tokens) / a.flops_per_s("float32")
                + kmeans_flops(tokens, d_pca, k, sp["expansion"]["n_init"], a.kmeans_iterations)
                / a.flops_per_s("float32", a.kmeans_efficiency))

    def job(self, rule: str, wildcards: dict, gpu: bool = False) -> JobCost:
        """The cost of one job by its rule (`RULE_COSTS`). A rule without an entry runs no model of its own and
        is CPU-light; unless the job asks for a GPU (`gpu`, its `resources`): then CostError names the rule."""
        cost = RULE_COSTS.get(rule)
        if cost is not None:
            return cost(self, JobCost(rule, wildcards, gpu=True), **wildcards)
        if gpu:
            grouped = next((rules for prefix, rules in GROUPED_RULES.items() if rule.startswith(prefix)), None)
            raise CostError(f"rule {rule!r} asks for a GPU but has no cost function in entangle.cost.RULE_COSTS"
                            + (f"; it bundles the jobs of {', '.join(grouped)}, which the paper scale runs one "
                               "by one (its `jobs:` setting)" if grouped else "; add one"))
        return JobCost(rule, wildcards, gpu=False, cpu_s=self.a.cpu_light_s)

    # rules ------------------------------------------------------------------------------------------------
    def _fetch_model(self, c: JobCost, model: str) -> JobCost:
        c.gpu, c.cpu_s = False, self.a.cpu_light_s
        c.download_gb = len(self.specs[model].revisions) * self.models[model].arch.checkpoint_bytes / GB
        return c

    def _capture(self, c: JobCost, model: str, revision: str, split: str, layer: str, matrix: str) -> JobCost:
        m = self.models[model]
        tokens = self.window_tokens(model, split, self.s["capture"].get("max_windows"))
        c.terms = {"load": self._load(model), "overhead": self.a.job_overhead_s,
                   "forward": self._forward_s(model, tokens, "float32", layers=int(layer) + 1, head=False)}
        c.memory_gb = self._weights_gb(model, "float32") + 8 * m.context * (m.arch.d_ff + 4 * m.arch.d_model) * 4 / GB
        return c

    def _perplexity(self, c: JobCost, model: str, revision: str, split: str) -> JobCost:
        tokens = self.window_tokens(model, split, self.s["evaluation"].get("max_windows"))
        c.terms = {"load": self._load(model), "overhead": self.a.job_overhead_s,
                   "evaluation": self._forward_s(model, tokens, "float32")}
        c.memory_gb = self._weights_gb(model, "float32") + self._logits_gb(model, 8)
        return c

    def _clamp_ablation(self, c: JobCost, model: str, revision: str, split: str, percents: str) -> JobCost:
        neg = self.s["negative"]
        passes = 1 + len(percents.split("_")) * (1 + neg["random_seeds"])
        tokens = self.window_tokens(model, split, self.s["evaluation"].get("max_windows"))
        c.terms = {"load": self._load(model), "overhead": self.a.job_overhead_s,
                   "evaluation": passes * self._forward_s(model, tokens, "float32")}
        c.memory_gb = self._weights_gb(model, "float32") + self._logits_gb(model, neg.get("batch_size", 8))
        return c

    def _sparsify_prune(self, c: JobCost, model: str, run: str, sparsity: str) -> JobCost:
        sp, m = self.s["sparsify"], self.models[model]
        dtype, arch = sp["dtype"], m.arch
        calib = self.calibration_tokens(model)
        test = self.window_tokens(model, sp["evaluation"]["split"], sp["evaluation"].get("max_windows"))
        c.terms = {"load": self._load(model), "overhead": self.a.job_overhead_s,
                   "evaluation": self._forward_s(model, test, dtype)}
        k = int(run[2:]) if run.startswith("se") else 1
        if run != "dense":
            c.terms["calibration_forward"] = self._forward_s(model, calib, dtype, head=False)
            c.terms.update(self.prune_terms(model, run, calib, k))
        hidden = (2 * calib + 2 * test) * arch.d_model * dtype_bytes(dtype) / GB  # calibration and test streams
        stored = (calib * arch.d_ff * dtype_bytes(dtype) / GB) if run.startswith("se") else 0.0  # router inputs
        hessian = arch.d_ff**2 * 4 / GB if run in ("sparsegpt",) or run.startswith("se") else 0.0
        expanded = (k - 1) * arch.ffn_params * dtype_bytes(dtype) / GB  # K experts of the block being pruned
        c.memory_gb = self._weights_gb(model, dtype) + hidden + stored + hessian + expanded
        return c

    def prune_terms(self, model: str, run: str, tokens: float, k: int = 1) -> dict[str, float]:
        """Seconds of pruning every FFN linear of `model` with `run` (magnitude, wanda, sparsegpt, se<K>)."""
        arch, a = self.models[model].arch, self.a
        n, linears, groups = arch.n_layers, ffn_linears(arch), ffn_input_groups(arch)
        sort = sum(o * i * math.log2(i) for o, i in linears) / a.flops_per_s("float32", 0.05)  # memory-bound sorts
        if run == "magnitude":
            return {"prune": n * sort}
        if run == "wanda":
            return {"statistics": n * sum(2 * i * tokens for i in groups) / a.flops_per_s("float32", 0.05),
                    "prune": n * sort}
        hessian = n * sum(self._hessian_s(i, tokens) for i in groups)  # K experts' Hessians see each token once
        prune = n * k * sum(self._sparsegpt_s(o, i) for o, i in linears)
        if run == "sparsegpt":
            return {"hessian": hessian, "prune": prune}
        return {"router": n * sum(self._router_s(i, tokens, k) for i in groups), "hessian": hessian, "prune": prune}

    def _partial_sparsify(self, c: JobCost, selection: str) -> JobCost:
        pt, sp = self.s["partial"], self.s["sparsify"]
        model, dtype = pt["model"], sp["dtype"]
        arch = self.models[model].arch
        calib = self.calibration_tokens(model)
        test = self.window_tokens(model, sp["evaluation"]["split"], sp["evaluation"].get("max_windows"))
        runs = len(pt["sparsities"])
        expand = runs if pt["expand"] and selection == "wd" else 0
        rows = pt["percent"] / 100
        one_row_pass = arch.n_layers * (sum(self._sparsegpt_s(max(1, int(o * rows)), i) for o, i in ffn_linears(arch))
                                         + sum(self._hessian_s(i, calib) for i in ffn_input_groups(arch)))
        c.terms = {"load": self._load(model) * (1 + expand), "overhead": self.a.job_overhead_s,
                   "statistics": self._forward_s(model, calib, dtype, head=False),
                   "calibration_forward": (runs + expand) * self._forward_s(model, calib, dtype, head=False),
                   "evaluation": (1 + runs + expand) * self._forward_s(model, test, dtype),
                   "prune": runs * one_row_pass}
        if expand:
            k = self.s["disentangle"]["num_clusters"]
            terms = self.prune_terms(model, f"se{k}", calib, k)
            c.terms["router"] = expand * terms["router"]
            c.terms["prune"] += expand * (terms["hessian"] + terms["prune"] * rows)
        wd_tokens = min(calib, WD_TOKENS)  # WD of every FFN row on at most this many calibration tokens
        c.cpu_s = (self.a.cpu_wd_s_per_value * wd_tokens * arch.n_layers * sum(o for o, _ in ffn_linears(arch))
                   if selection in ("wd", "mean", "variance") else 0.0)
        c.memory_gb = (self._weights_gb(model, dtype) * 2 + (2 * calib + 2 * test) * arch.d_model * 2 / GB
                       + arch.d_ff**2 * 4 / GB)  # model + dense-weight snapshot to restore between runs
        return c

    def _partial_downstream(self, c: JobCost, selection: str) -> JobCost:
        pt, a = self.s["partial"], self.a
        model, dtype = pt["model"], self.s["sparsify"]["dtype"]
        arch = self.models[model].arch
        ds = pt.get("downstream") or {}
        batch, limit = ds.get("batch_size", 8), ds.get("limit")
        prompt = generate = 0.0
        for task in ds.get("tasks", []):
            n, p, g = a.downstream_tasks[task]
            n = min(n, limit) if limit else n
            prompt += n * p
            generate += n * g / batch  # decoding steps: one weight read per step for the whole batch
        per_token = forward_flops_per_token(arch, 2048)
        c.terms = {"load": self._load(model), "overhead": self.a.job_overhead_s,
                   "prompts": prompt * per_token / a.flops_per_s(dtype),
                   "decode": generate * self._weights_gb(model, dtype) * GB / (a.gpu.bandwidth_tbs * 1e12)}
        c.memory_gb = self._weights_gb(model, dtype) + self._logits_gb(model, batch) / 2
        return c

    def _disentangle_layer(self, c: JobCost, model: str, layer: str, matrix: str) -> JobCost:
        d, m, a = self.s["disentangle"], self.models[model], self.a
        arch = m.arch
        d_out, d_in = (arch.d_model, arch.d_ff) if matrix == "down" else (arch.d_ff, arch.d_model)
        calib = self.calibration_tokens(model)
        held = self.window_tokens(model, self.s["capture"]["split"], self.s["capture"].get("max_windows"))
        detail = (model in (self.s["roles"]["gelu"], self.s["roles"].get("gated"))  # entangle.workflow.disentangle.detail
                  and int(layer) == self.s["wasserstein"]["layer"])
        ks = sorted(set(d["ks"]) | {1, d["num_clusters"]}) if detail else [1, d["num_clusters"]]
        seeds = d.get("router_seeds", 1) if detail else 1  # the K sweep's extra router fits (WD-F6)
        fit = sum(self._expansion_s(d_out, d_in, calib, k) * (seeds if k > 1 else 1) for k in ks)
        sweep = sum(self._sparsegpt_s(d_out, d_in) + self._hessian_s(d_in, calib) for s in d["sweep"]
                    if s not in (0, d["sparsity"])) if detail else 0.0
        c.terms = {"load": self._load(model), "overhead": a.job_overhead_s,
                   "calibration_forward": self._forward_s(model, calib, "float32", layers=int(layer) + 1, head=False),
                   "prune": fit + sweep,
                   "measure": (len(ks) + len(d["sweep"])) * 2 * d_out * d_in * held / a.flops_per_s("float32")}
        gmm_tokens = min(d["gmm"]["tokens"], held)
        comps = d["gmm"]["max_components"]
        c.cpu_s = a.cpu_wd_s_per_value * d_out * held * (1 + len(d["sweep"]) * detail) + detail * d_out * sum(
            a.cpu_gmm_s_per_fit + a.cpu_gmm_s_per_point * gmm_tokens * j for j in range(1, comps + 1))
        data = (held * (d_in + 2 * d_out) + calib * d_in + max(ks) * d_out * d_in) * 4 / GB  # held-out, experts
        c.memory_gb = max(self._weights_gb(model, "float32") + calib * d_in * 4 / GB, data)  # the model is freed first
        return c

    def _expansion_s(self, d_out: int, d_in: int, tokens: float, k: int) -> float:
        """One matrix expanded into k SparseGPT experts (k = 1: plain SparseGPT) behind a PCA + k-means router."""
        router = self._router_s(d_in, tokens, k) if k > 1 else 0.0
        return router + self._hessian_s(d_in, tokens) + k * self._sparsegpt_s(d_out, d_in)

    def _ne_clusters(self, c: JobCost, layer: str) -> JobCost:
        ne, a = self.s["neuron_embeddings"], self.a
        model = self.s["roles"]["gpt2"]
        arch = self.models[model].arch
        tokens = max(ne["examples"], ne["reference_examples"]) * ne["example_tokens"]
        neurons = ne.get("neurons_per_layer") or arch.d_ff
        gathered = neurons * ne["max_examples"] * ne["example_tokens"]  # one forward per selected example window
        per_token = forward_flops_per_token(arch, ne["example_tokens"], int(layer) + 1, head=False)
        c.terms = {"load": self._load(model), "overhead": a.job_overhead_s,
                   "forward": (2 * tokens + gathered) * per_token / a.flops_per_s("float32")}
        c.cpu_s = neurons * 2 * ne["max_examples"] ** 2 * (arch.d_model + arch.d_ff) * 1e-9  # HAC distances, ~1 GFLOP/s
        c.memory_gb = self._weights_gb(model, "float32") + tokens * arch.d_ff * 4 / GB
        return c

    def _neuron_stats(self, c: JobCost, model: str, revision: str, split: str, layer: str, matrix: str) -> JobCost:
        tokens = self.window_tokens(model, split, self.s["capture"].get("max_windows"))
        arch = self.models[model].arch
        c.gpu, c.cpu_s = False, self.a.cpu_light_s + self.a.cpu_wd_s_per_value * tokens * arch.d_ff
        return c

    def _ne_sae_seed(self, c: JobCost, seed: str) -> JobCost:
        c.gpu, c.cpu_s = False, self.a.cpu_sae_seed_s
        return c


# Rule -> the cost of one of its jobs (wildcards as keyword arguments). Every rule whose jobs can ask for a GPU
# has an entry (tests/unit/test_cost.py reads rules/*.smk), so a new or renamed GPU rule fails here instead of
# passing for CPU-light.
RULE_COSTS: dict[str, Callable[..., JobCost]] = {
    "fetch_model": CostModel._fetch_model,
    "capture": CostModel._capture,
    "perplexity": CostModel._perplexity,
    "clamp_ablation": CostModel._clamp_ablation,
    "sparsify_prune": CostModel._sparsify_prune,
    "partial_sparsify": CostModel._partial_sparsify,
    "partial_downstream": CostModel._partial_downstream,
    "disentangle_layer": CostModel._disentangle_layer,
    "ne_clusters": CostModel._ne_clusters,
    "neuron_stats": CostModel._neuron_stats,
    "ne_sae_seed": CostModel._ne_sae_seed,
}
# Rules generated per model (name prefix -> the per-job rules each bundles) where a scale's `jobs:` groups work;
# the paper scale runs the per-job rules, so they have no cost function of their own.
GROUPED_RULES = {"dense_pass_": ("capture", "perplexity"), "disentangle_": ("disentangle_layer",),
                 "sparsify_": ("sparsify_prune",)}


class CostError(ValueError):
    """A job the cost model cannot price; the message names the rule."""


def with_measurements(assumptions: Assumptions, measured: dict[str, float]) -> Assumptions:
    """`assumptions` with the measured fields replaced (and named in `measured`)."""
    return replace(assumptions, **measured, measured=tuple(sorted(measured)))
