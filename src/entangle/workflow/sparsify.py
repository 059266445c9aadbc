"""Sparsification run lists (WD-F9, WD-TA, WD-FA3, WD-V1) and partial-sparsification files (WD-F3, WD-F5a).

A run is one (model, method, sparsity[, K]); its summary is
results/<scale>/sparsify/<model>/<run>/<sparsity>.json with run = dense | magnitude | wanda | sparsegpt | se<K>
and sparsity in file form (0.5, 2-4 for N:M, 0 for dense).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entangle.config import ConfigError
from entangle.sparsify.sparsity import Sparsity

BASELINES = ("magnitude", "wanda", "sparsegpt")
JOBS = ("per_setting", "per_method", "per_model")


def canonical_sparsity(value, where: str, scale: str) -> str:
    """Canonical sparsity text ('0.5', '2:4'), or a ConfigError naming the config key."""
    try:
        return str(Sparsity.parse(value.strip() if isinstance(value, str) else value))
    except ValueError as err:
        raise ConfigError(f"config scales.{scale}.sparsify.{where}: {err}") from None


def run_file(results: str, model: str, method: str, sparsity: str = "0", k: int | None = None) -> str:
    """Summary JSON of one run; method dense | magnitude | wanda | sparsegpt | sparse_expansion (with k)."""
    run = f"se{k}" if method == "sparse_expansion" else method
    return f"{results}/sparsify/{model}/{run}/{sparsity.replace(':', '-')}.json"


def run_settings(sp: dict, seed: int, ties: str, run: str, sparsity: str) -> dict:
    """Settings of one run (method or se<K>) at one sparsity (file form: '0.5', '2-4') for the prune script;
    `ties`: the scale's prune_ties (exact | reference)."""
    method = "sparse_expansion" if run.startswith("se") else run
    return {"method": method, "sparsity": sparsity.replace("-", ":"),
            "num_clusters": int(run[2:]) if method == "sparse_expansion" else sp["expansion"]["num_clusters"],
            "pca_factor": sp["expansion"]["pca_factor"], "n_init": sp["expansion"]["n_init"], "seed": seed,
            "batch_size": sp["batch_size"], "ties": ties}


@dataclass
class SparsifyRuns:
    """The runs each item needs and the jobs that make them."""

    sparsities: list[str]                       # canonical, config order
    table: list[str]                            # WD-TA, WD-F9
    fa3: list[str]                              # WD-FA3: the K sweep at one sparsity
    v1: list[str]                               # WD-V1: FLOP-matched
    v1_ks: list[int]
    groups: dict = field(default_factory=dict)  # (model, run) -> sparsities in file form, first-use order

    @property
    def unstructured(self) -> list[str]:
        return [s for s in self.sparsities if ":" not in s]

    def jobs(self, granularity: str) -> dict:
        """Job key (model.run or model) -> (model, [(run, sparsity in file form), ...]) for per_method / per_model."""
        if granularity not in ("per_method", "per_model"):
            raise ValueError(f"jobs.sparsify = {granularity!r} has no job groups (per_setting: one job per run)")
        out = {}
        for (model, run), sparsities in self.groups.items():
            key = f"{model}.{run}" if granularity == "per_method" else model
            out.setdefault(key, (model, []))[1].extend((run, s) for s in sparsities)
        return out


def sparsify_runs(results: str, sp: dict, scale: str) -> SparsifyRuns:
    """Every run the sparsification items need, from a scale's `sparsify` block."""
    sparsities = [canonical_sparsity(v, f"sparsities[{i}]", scale) for i, v in enumerate(sp["sparsities"])]
    unstructured = [s for s in sparsities if ":" not in s]
    k, experts, flop = sp["expansion"]["num_clusters"], sp["experts"], sp["flop_matched"]
    experts_sparsity = canonical_sparsity(experts["sparsity"], "experts.sparsity", scale)
    baselines = [m for m in BASELINES if m in sp["methods"]]

    def run(model, method, sparsity="0", kk=None):
        return run_file(results, model, method, sparsity, kk)

    table = [run(m, "dense") for m in sp["models"]] + [
        run(m, meth, s, k) for m in sp["models"] for meth in sp["methods"] for s in sparsities]
    fa3 = ([run(experts["model"], "dense"), run(experts["model"], "sparsegpt", experts_sparsity)]
           + [run(experts["model"], "sparse_expansion", experts_sparsity, kk) for kk in sorted(set(experts["ks"]))])
    v1_ks = sorted(set(flop["ks"]))
    v1 = [run(m, "dense") for m in flop["models"]] + [
        run(m, meth, s) for m in flop["models"] for meth in baselines for s in unstructured] + [
        run(m, "sparse_expansion", s, kk) for m in flop["models"] for s in unstructured for kk in v1_ks]
    groups: dict = {}
    for path in dict.fromkeys(table + fa3 + v1):
        model, run_name, file = path.split("/")[-3:]
        groups.setdefault((model, run_name), []).append(file.removesuffix(".json"))
    return SparsifyRuns(sparsities=sparsities, table=table, fa3=fa3, v1=v1, v1_ks=v1_ks, groups=groups)


def calibration_models(settings: dict) -> list[str]:
    """Models whose sparsification calibration windows some rule reads: the sparsified models (WD-TA, WD-FA3,
    WD-V1), the partially sparsified one (WD-F3) and the disentangled ones (the GELU and SwiGLU roles)."""
    sp = settings["sparsify"]
    models = [*sp["models"], sp["experts"]["model"], *sp["flop_matched"]["models"], settings["partial"]["model"],
              settings["roles"]["gelu"], settings["roles"]["swiglu"]]
    return list(dict.fromkeys(models))
