"""What `snakemake figures --config scale=paper` costs: GPU-hours and peak GPU memory per item, and the total.

    python benchmarks/paper_cost.py                     # the table, with the assumptions it rests on
    python benchmarks/paper_cost.py --measure           # first re-measure the CPU throughput factors here
    python benchmarks/paper_cost.py --rules             # also GPU-hours per rule
    python benchmarks/paper_cost.py --captures          # also: capture jobs per layer vs one per (model, revision)
    python benchmarks/paper_cost.py --configfile my.yaml   # a changed paper block (as snakemake --configfile)

The jobs are the paper DAG's own: `snakemake -n --forceall figures --config scale=paper` (parsed: rule,
wildcards, inputs, outputs). Each job's cost comes from entangle.cost (the model of the work and its stated
assumptions). An item's cost counts every job it needs, shared ones included, so items do not add up to the
total; the `figures` row counts each job once. `--measure` times, on this machine's CPU and one thread:
SparseGPT's and k-means' FLOP rate relative to a matmul's (the efficiencies applied to the GPU's matmul rate),
and the CPU seconds of the WD kernel per value and of a 1-D GMM fit (CPU work inside jobs).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from entangle.config import load_scale  # noqa: E402
from entangle.cost import GB, Assumptions, CostModel, with_measurements  # noqa: E402

JOB = re.compile(r"^(?:local)?rule (\w+):$")
FIELD = re.compile(r"^    (\w+): (.*)$")
FETCH = re.compile(r"^Job \d+: fetch (\S+) @ ")  # fetch_model prints its `message:` instead of the job's fields


def dry_run(configfiles: list[str]) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--nolock", "--forceall", "figures", "--config", "scale=paper"]
    for f in configfiles:
        cmd += ["--configfile", f]
    proc = subprocess.run(cmd, cwd=REPO, text=True, capture_output=True)
    if proc.returncode:
        sys.exit(f"snakemake dry run failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout


def parse_jobs(text: str, scale) -> list[dict]:
    """Jobs of a Snakemake dry run: {rule, wildcards, input, output[, gpu]}."""
    jobs, job = [], None
    by_hub_id = {spec.hub_id: name for name, spec in scale.models.items()}
    for line in text.splitlines():
        if m := JOB.match(line):
            job = {"rule": m.group(1), "wildcards": {}, "input": [], "output": []}
            jobs.append(job)
        elif m := FETCH.match(line):
            name = by_hub_id[m.group(1)]
            jobs.append({"rule": "fetch_model", "wildcards": {"model": name}, "input": [],
                         "output": [f"{scale.results}/models/{name}"]})
        elif job is not None and (m := FIELD.match(line)):
            key, value = m.groups()
            if key in ("input", "output"):
                job[key] = [v.strip() for v in value.split(",")]
            elif key == "wildcards":
                job["wildcards"] = dict(kv.strip().split("=", 1) for kv in value.split(", "))
            elif key == "resources":
                res = dict(kv.strip().split("=", 1) for kv in value.split(", ") if "=" in kv)
                job["gpu"] = res.get("gpu", "0").strip() not in ("0", "")
        elif not line.strip():
            job = None
    return jobs


def ancestors(jobs: list[dict]) -> list[set[int]]:
    """For each job, the indices of every job it needs (itself included)."""
    producer = {out: i for i, j in enumerate(jobs) for out in j["output"]}
    parents = [{producer[f] for f in j["input"] if f in producer} for j in jobs]
    memo: dict[int, set[int]] = {}

    def walk(i: int) -> set[int]:
        if i not in memo:
            memo[i] = {i}
            for p in parents[i]:
                memo[i] |= walk(p)
        return memo[i]

    sys.setrecursionlimit(10000)
    return [walk(i) for i in range(len(jobs))]


def measure() -> dict[str, float]:
    """CPU throughput factors (one thread, CPU time, so other load on the machine matters little)."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from entangle.flops import sparsegpt_flops
    from entangle.disentangle.measures import gmm_components
    from entangle.metrics.wasserstein import wasserstein_to_gaussian
    from entangle.sparsify import SparseGPT
    from entangle.sparsify.clustering import _assign

    torch.set_num_threads(1)
    torch.manual_seed(0)

    def cpu(fn, repeat=3):
        best = float("inf")
        for _ in range(repeat):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        return best

    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    matmul_rate = 2 * n**3 / cpu(lambda: a @ b)
    w, x = torch.randn(n, n), torch.randn(8, 512, n)
    gpt = SparseGPT(w)
    gpt.add_batch(x)
    sparsegpt = sparsegpt_flops(n, n) / cpu(lambda: gpt.prune(0.5)) / matmul_rate
    points, centroids = torch.randn(65536, 64), torch.randn(8, 16, 64)
    kmeans = 3 * 8 * 16 * 64 * 65536 / cpu(lambda: _assign(points, centroids)) / matmul_rate
    values = np.random.default_rng(0).standard_normal((20000, 512)).astype(np.float32)
    wasserstein_to_gaussian(values[:100, :8])  # compile the kernel first
    wd = cpu(lambda: wasserstein_to_gaussian(values), repeat=1) / values.size
    rng = np.random.default_rng(1)
    bimodal = np.concatenate([rng.standard_normal(4000), 3 + rng.standard_normal(4000)])[rng.permutation(8000)]
    with threadpool_limits(limits=1):  # as entangle.disentangle.analysis fits them
        gmm_components(bimodal[:200], 2)  # imports and first-call costs
        t_small, t_large = (cpu(lambda m=m: gmm_components(bimodal[:m], 4), repeat=2) for m in (1000, 8000))
    per_point = (t_large - t_small) / (7000 * 10)  # 1+2+3+4 = 10 component-fits' worth of points
    per_fit = max(0.0, (t_small - per_point * 1000 * 10) / 4)
    return {"sparsegpt_efficiency": round(sparsegpt, 3), "kmeans_efficiency": round(kmeans, 3),
            "cpu_wd_s_per_value": float(f"{wd:.3g}"), "cpu_gmm_s_per_point": float(f"{per_point:.3g}"),
            "cpu_gmm_s_per_fit": float(f"{per_fit:.3g}")}


def item_jobs(jobs: list[dict], needs: list[set[int]], results: str) -> dict[str, set[int]]:
    """items.yaml id -> the jobs its outputs need."""
    items = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
    producer = {out: i for i, j in enumerate(jobs) for out in j["output"]}
    out = {}
    for item_id, item in items.items():
        own = {producer[f"{results}/{f}"] for f in item.get("outputs", []) if f"{results}/{f}" in producer}
        out[item_id] = set().union(*(needs[i] for i in own)) if own else set()
    return out


def capture_shapes(jobs: list[dict], costs: list, model) -> list[tuple]:
    """The paper DAG's capture work in its two shapes: one `capture` job per (model, revision, split, layer,
    matrix) with a `neuron_stats` job per matrix (jobs.capture: per_layer), against one job per (model, revision,
    split) that loads the checkpoint once, runs one forward pass to the deepest requested layer and computes the
    statistics in the same job (per_model's dense pass, split by revision). Rows: shape, jobs, GPU-hours, of which
    start-up and loading, the largest job's GPU-hours, and the largest job's disk for captured outputs (GB)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, j in enumerate(jobs):
        if j["rule"] in ("capture", "neuron_stats"):
            w = j["wildcards"]
            groups[(w["model"], w["revision"], w["split"])].append(i)
    fine = [costs[i] for idx in groups.values() for i in idx]
    grouped, outputs_gb, one_matrix_gb = [], [], 0.0
    for (name, revision, split), idx in groups.items():
        captured = [jobs[i]["wildcards"] for i in idx if jobs[i]["rule"] == "capture"]
        deepest = str(max(int(w["layer"]) for w in captured))
        grouped.append(model.job("capture", {"model": name, "revision": revision, "split": split, "layer": deepest,
                                             "matrix": "up"}))
        arch, tokens = model.models[name].arch, model.window_tokens(name, split, model.s["capture"]["max_windows"])
        widths = [arch.d_model if w["matrix"] == "down" else arch.d_ff for w in captured]  # outputs [T, d_out] fp32
        one_matrix_gb = max(one_matrix_gb, tokens * max(widths) * 4 / GB)
        outputs_gb.append(tokens * sum(widths) * 4 / GB)

    def row(shape: str, shape_costs: list, largest_gb: float) -> tuple:
        start_up = sum(c.terms.get("load", 0) + c.terms.get("overhead", 0) for c in shape_costs)
        return (shape, len(shape_costs), f"{sum(c.gpu_s for c in shape_costs) / 3600:,.1f}", f"{start_up / 3600:,.1f}",
                f"{max(c.gpu_s for c in shape_costs) / 3600:.2f}", f"{largest_gb:,.0f}")

    return [row("per_layer (paper)", fine, one_matrix_gb), row("per (model, revision)", grouped, max(outputs_gb))]


def table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", action="store_true", help="re-measure the CPU throughput factors first")
    parser.add_argument("--rules", action="store_true", help="also print GPU-hours per rule")
    parser.add_argument("--captures", action="store_true", help="also compare the two capture job shapes")
    parser.add_argument("--configfile", action="append", default=[], help="config overlay(s), as snakemake's")
    args = parser.parse_args()

    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    for f in args.configfile:
        from snakemake.utils import update_config
        update_config(raw, yaml.safe_load(Path(f).read_text()))
    scale = load_scale(raw, "paper")
    assumptions = Assumptions()
    if args.measure:
        measured = measure()
        print("measured on this CPU (one thread):", ", ".join(f"{k} = {v}" for k, v in measured.items()))
        assumptions = with_measurements(assumptions, measured)
    model = CostModel(scale, assumptions)
    jobs = parse_jobs(dry_run(args.configfile), scale)
    costs = [model.job(j["rule"], j["wildcards"], j.get("gpu", False)) for j in jobs]
    needs = ancestors(jobs)
    per_item = item_jobs(jobs, needs, str(scale.results))
    gpu = assumptions.gpu

    rows = []
    for item_id, idx in per_item.items():
        gpu_jobs = [costs[i] for i in idx if costs[i].gpu]
        biggest = max(gpu_jobs, key=lambda c: c.memory_gb, default=None)
        rows.append((item_id, len(idx), len(gpu_jobs), f"{sum(c.gpu_s for c in gpu_jobs) / 3600:,.1f}",
                     f"{sum(costs[i].cpu_s for i in idx) / 3600:,.1f}",
                     f"{biggest.memory_gb:.0f} ({biggest.rule})" if biggest else "-"))
    everything = range(len(costs))
    gpu_all = [c for c in costs if c.gpu]
    peak = max(gpu_all, key=lambda c: c.memory_gb)
    rows.append(("**figures**", len(costs), len(gpu_all), f"**{sum(c.gpu_s for c in gpu_all) / 3600:,.0f}**",
                 f"**{sum(costs[i].cpu_s for i in everything) / 3600:,.0f}**", f"{peak.memory_gb:.0f} ({peak.rule})"))
    print(f"What `figures` at paper scale costs on one {gpu.name} per GPU job ({gpu.tflops_fp16:g} TFLOP/s fp16, "
          f"{gpu.tflops_fp32:g} fp32, {gpu.memory_gb:g} GB, {gpu.bandwidth_tbs:g} TB/s)\n")
    print(table(rows, ("item", "jobs", "GPU jobs", "GPU-hours", "CPU core-hours", "peak GPU GB (rule)")))
    over = sorted({(c.rule, f"{c.memory_gb:.0f}") for c in gpu_all if c.memory_gb > gpu.memory_gb})
    if over:
        print(f"\nJobs over {gpu.memory_gb:g} GB: " + ", ".join(f"{r} ({m} GB)" for r, m in over))
    download = sum(c.download_gb for c in costs)
    print(f"\nDownload (fetch_model: every revision, weights as stored on the hub): {download:,.0f} GB")
    if args.rules:
        by_rule = defaultdict(lambda: [0, 0.0, 0.0])
        for c in costs:
            by_rule[c.rule][0] += 1
            by_rule[c.rule][1] += c.gpu_s
            by_rule[c.rule][2] = max(by_rule[c.rule][2], c.memory_gb)
        rule_rows = [(r, n, f"{s / 3600:,.1f}", f"{m:.0f}") for r, (n, s, m) in
                     sorted(by_rule.items(), key=lambda kv: -kv[1][1]) if s]
        print("\n" + table(rule_rows, ("rule", "jobs", "GPU-hours", "peak GPU GB")))
    if args.captures:
        print("\nCapture jobs (activations and per-neuron statistics) in the two shapes:\n")
        print(table(capture_shapes(jobs, costs, model), ("shape", "jobs", "GPU-hours", "start-up + load GPU-hours",
                                                         "largest job GPU-hours", "largest job's outputs GB")))
    print("\nAssumptions (entangle.cost.Assumptions; measured on this CPU: "
          f"{', '.join(assumptions.measured) or 'none this run, defaults were measured when written'}):")
    for key, value in vars(assumptions).items():
        if key not in ("gpu", "measured"):
            print(f"  {key} = {value}")


if __name__ == "__main__":
    main()
