"""The workflow's own logic (src/entangle/workflow): item registry, capture plan, run lists, config checks."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from entangle.config import ConfigError, load_scale
from entangle.workflow.captures import CapturePlan, PlanError, token_splits
from entangle.workflow.checks import check_scale, zscore_layers
from entangle.workflow.disentangle import detail, detail_models, disentangle_units, gated_layers
from entangle.workflow.items import NOT_IMPLEMENTED, ItemRegistry
from entangle.workflow.sparsify import calibration_models, run_file, run_settings, sparsify_runs

REPO = Path(__file__).parents[2]
RAW = yaml.safe_load((REPO / "config.yaml").read_text())


def scale_with(name, **changes):
    """The named scale with settings replaced: changes = {"block.key": value} (dots walk the settings)."""
    raw = copy.deepcopy(RAW)
    for path, value in changes.items():
        node = raw["scales"][name]
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return load_scale(raw, name)


# --- item registry ---------------------------------------------------------------------------------------

ITEMS = {
    "A": {"paper": "WD", "kind": "figure", "rule": "a_rule", "outputs": ["figures/A.png"]},
    "B": {"paper": "NC", "kind": "table", "partial": {"rule": "b_rule", "note": "panel a only",
                                                                   "outputs": ["tables/B.csv"]}},
    "C": {"paper": "NC", "kind": "figure", "outputs": ["figures/C.png"],
          "not_evaluable": {"smoke": "needs the hub"}},
    "D": {"paper": "NE", "kind": "table"},
}


def test_registry_status_files_reason_and_entry():
    reg = ItemRegistry(ITEMS, "smoke", "results/smoke")
    assert [reg.status(i) for i in ITEMS] == ["built", "not yet built", "not evaluable", "not yet built"]
    assert reg.files("A") == ["results/smoke/figures/A.png"]
    assert reg.files("B") == ["results/smoke/tables/B.csv"]  # the panels built so far
    assert reg.files("C") == [] and reg.reason("C") == "needs the hub"
    assert reg.reason("D") == NOT_IMPLEMENTED and reg.reason("A") == ""
    assert reg.entry("B") == {"status": "not yet built", "reason": "panel a only",
                              "files": ["results/smoke/tables/B.csv"], "rule": "b_rule"}
    assert reg.built_files() == ["results/smoke/figures/A.png", "results/smoke/tables/B.csv"]
    assert reg.built_files(kind="table") == ["results/smoke/tables/B.csv"]
    assert reg.built_files(paper="WD") == ["results/smoke/figures/A.png"]
    assert ItemRegistry(ITEMS, "mini", "results/mini").status("C") == "built"


def test_registry_of_the_real_items_file_builds_every_item_at_smoke():
    items = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
    reg = ItemRegistry(items, "smoke", "results/smoke")
    assert len(reg.built_files()) > len(items)
    assert all(f.startswith("results/smoke/") for f in reg.built_files())


# --- capture plan ----------------------------------------------------------------------------------------

def test_capture_plan_records_requests_and_groups_them_by_model():
    plan = CapturePlan("results/x", "test", "per_model")
    out = plan.activation("m", "step10", 1, "up", "out")
    assert out == "results/x/activations/m/step10/test/L1.up.out.npy"
    assert plan.stats("m", "step10", "1") == "results/x/stats/m/step10/test/L1.up.csv"
    plan.activation("m", "step2", 0, "up", "weight")
    plan.activation("m", "step10", 0, "gate", "in")
    plan.activation("m", "step10", 1, "up", "out")  # repeated: recorded once
    plan.stats("other", "main", 3)
    assert plan.models() == ["m", "other"]
    units = plan.units("m")
    # step order (2 before 10), then layer, then matrix
    assert [(u["revision"], u["layer"], u["matrix"]) for u in units] == [("step2", 0, "up"), ("step10", 0, "gate"),
                                                                         ("step10", 1, "up")]
    assert units[2]["files"] == {"out": out, "stats": "results/x/stats/m/step10/test/L1.up.csv"}
    assert units[0]["files"] == {"weight": "results/x/activations/m/step2/test/L0.up.weight.npy"}
    assert sorted(plan.outputs("m")) == sorted(p for u in units for p in u["files"].values())
    assert plan.splits("m") == ["test"]


def test_frozen_per_model_plan_refuses_new_files_but_returns_planned_ones():
    plan = CapturePlan("results/x", "test", "per_model")
    path = plan.activation("m", "step1", 0)
    plan.freeze()
    assert plan.activation("m", "step1", 0) == path
    with pytest.raises(PlanError, match=r"L1\.up\.in\.npy is not in the capture plan.*capture_file\(\)"):
        plan.activation("m", "step1", 1, end="in")
    layered = CapturePlan("results/x", "test", "per_layer")
    layered.freeze()
    assert layered.stats("m", "step1", 5).endswith("L5.up.csv")  # generic rules make any file


def test_capture_plan_rejects_unknown_granularity_and_end():
    with pytest.raises(ValueError, match="per_model, per_layer"):
        CapturePlan("r", "test", "per_job")
    with pytest.raises(ValueError, match="in, out, weight"):
        CapturePlan("r", "test").activation("m", "step1", 0, end="outputs")


def test_token_splits_cover_every_split_a_rule_reads():
    assert token_splits(load_scale(RAW, "smoke").settings) == ["test", "validation"]
    settings = copy.deepcopy(load_scale(RAW, "smoke").settings)
    settings["neuron_embeddings"]["text"] = {"source": "split", "split": "train"}
    assert token_splits(settings) == ["test", "train", "validation"]


# --- sparsification runs ---------------------------------------------------------------------------------

def test_run_files_and_settings():
    assert run_file("r", "llama", "dense") == "r/sparsify/llama/dense/0.json"
    assert run_file("r", "llama", "sparse_expansion", "2:4", 16) == "r/sparsify/llama/se16/2-4.json"
    sp = load_scale(RAW, "smoke").settings["sparsify"]
    s = run_settings(sp, 7, "exact", "se4", "2-4")
    assert (s["method"], s["sparsity"], s["num_clusters"], s["seed"]) == ("sparse_expansion", "2:4", 4, 7)
    assert run_settings(sp, 7, "exact", "wanda", "0.5")["num_clusters"] == sp["expansion"]["num_clusters"]


def test_sparsify_jobs_group_the_same_runs_at_every_granularity():
    scale = load_scale(RAW, "smoke")
    runs = sparsify_runs("r", scale.settings["sparsify"], "smoke")
    assert runs.sparsities == ["0.5", "0.7", "0.9", "2:4"] and runs.unstructured == ["0.5", "0.7", "0.9"]
    per_method, per_model = runs.jobs("per_method"), runs.jobs("per_model")
    assert set(per_model) == {"neox-m", "llama"}
    # se4: the WD-FA3 K sweep at 0.7, then WD-V1 at every unstructured sparsity (first use first)
    assert per_method["llama.se4"] == ("llama", [("se4", "0.7"), ("se4", "0.5"), ("se4", "0.9")])
    flatten = lambda jobs: sorted((m, r, s) for m, pairs in jobs.values() for r, s in pairs)  # noqa: E731
    assert flatten(per_method) == flatten(per_model)
    needed = {tuple(p.split("/")[-3:]) for p in runs.table + runs.fa3 + runs.v1}
    assert {(m, r, f"{s}.json") for m, r, s in flatten(per_model)} == needed
    with pytest.raises(ValueError, match="per_setting"):
        runs.jobs("per_setting")


def test_calibration_models_are_every_model_some_sparsification_reads():
    settings = load_scale(RAW, "smoke").settings
    assert calibration_models(settings) == ["neox-m", "llama"]
    settings = copy.deepcopy(settings)
    settings["partial"]["model"] = "opt"
    assert calibration_models(settings) == ["neox-m", "llama", "opt"]


# --- checks ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", ["smoke", "mini", "paper"])
def test_shipped_scales_pass_the_checks(scale):
    check_scale(load_scale(RAW, scale))


@pytest.mark.parametrize("changes, message", [
    ({"sparsify.sparsities": ["0.7", "1.0"]}, "config scales.smoke.sparsify.sparsities[1]"),
    ({"sparsify.experts": {"model": "nope", "sparsity": "0.7", "ks": [1, 4]}}, "'nope' is not a model of this scale"),
    ({"sparsify.sparsities": ["0.7", "2:5"]}, "divisible by M=5"),
    ({"partial.headline": "0.7"}, "partial.headline = '0.7' must be one of"),
    ({"partial.selections": ["mean", "random"]}, "must include wd"),
    ({"disentangle.row_sparsity": 0.55}, "disentangle.row_sparsity = 0.55 must be one of disentangle.sweep"),
    ({"disentangle.layers": [7]}, "layer(s) [7] (wasserstein.layer / disentangle.layers) do not exist"),
    ({"zscores.layer": 9}, "zscores.layer = 9 is out of range: the model has layers 0..2"),
    ({"zscores.matrix": "gate"}, "gpt_neox has no matrix 'gate'; it has up, down"),
    ({"zscores.exclude_layers": [0, 1, 2]}, "exclude_layers leaves no layer of 'neox-m'"),
    ({"neuron_embeddings.layers": [3]}, "neuron_embeddings.layers = [3]: gpt2 has layers 0..2"),
])
def test_inconsistent_settings_name_the_key(changes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_scale(scale_with("smoke", **changes))


def test_every_analysis_block_is_required_once_the_defaults_are_merged():
    raw = copy.deepcopy(RAW)
    del raw["defaults"]["sparsify"]
    for block in raw["scales"].values():
        block.pop("sparsify", None)
    with pytest.raises(ConfigError, match=r"'sparsify' is a required property at scales\.(smoke|mini|real|paper)"):
        load_scale(raw, "smoke")


def test_zscore_layers_leave_out_the_excluded():
    assert zscore_layers(load_scale(RAW, "smoke")) == [1, 2]


# --- disentanglement jobs --------------------------------------------------------------------------------

def test_disentangle_units_and_detail():
    scale = load_scale(RAW, "smoke")
    assert disentangle_units(scale) == {"neox-m": [0, 1, 2], "llama": [1]}
    # the analysis layer of the GELU and of the gated model (smoke: the zoo's llama) runs in detail
    assert detail(scale, "neox-m", "1") and not detail(scale, "neox-m", 0) and detail(scale, "llama", 1)
    assert detail_models(scale) == ["neox-m", "llama"] and gated_layers(scale) == [1]
    assert disentangle_units(scale_with("smoke", **{"disentangle.layers": [2]})) == {"neox-m": [1, 2], "llama": [1]}
    real = load_scale(RAW, "real")
    assert disentangle_units(real)["smollm2"] == [1] and gated_layers(real) == [1]
    assert detail(real, "smollm2", 1) and not detail(real, "smollm2", 0)


def test_detail_without_a_gated_model_is_the_gelu_model_only():
    raw = copy.deepcopy(RAW)
    del raw["scales"]["smoke"]["roles"]["gated"]
    scale = load_scale(raw, "smoke")
    assert detail_models(scale) == ["neox-m"] and gated_layers(scale) == []
    assert not detail(scale, "llama", 1) and disentangle_units(scale) == {"neox-m": [0, 1, 2], "llama": [1]}
