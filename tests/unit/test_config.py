import copy
import re
from pathlib import Path

import pytest
import yaml

from entangle.config import ConfigError, load_scale
from entangle.models.schedule import checkpoint_steps

RAW = yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())


@pytest.mark.parametrize("scale", ["smoke", "mini", "paper"])
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
        node = node[key]
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, expected", [
    (["scales", "mini", "foo"], 1, "unknown key 'foo' at scales.mini; allowed keys: capture"),
    (["scales", "mini", "models", "opt", "family"], "gptx", "allowed values: gpt_neox, opt, llama, gpt2"),
    (["scales", "mini", "evaluation", "split"], "dev", "scales.mini.evaluation.split = 'dev' is not allowed"),
    (["scales", "mini", "text", "source"], "web", "allowed values: generated, huggingface"),
    (["scales", "mini", "roles", "relu"], "neox-s", "roles.relu = 'neox-s' has family 'gpt_neox'"),
    (["scales", "mini", "roles", "gelu"], "nope", "roles.gelu = 'nope' is not a model of this scale"),
    (["scales", "mini", "models", "opt", "n_heads"], 5, "not divisible by n_heads=5"),
    (["scales", "mini", "training", "steps"], 0, "scales.mini.training.steps"),
])
def test_bad_config_names_key_and_allowed_values(path, value, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_scale(mutated(path, value), "mini")


def test_unknown_scale_lists_choices():
    with pytest.raises(ConfigError, match="scale 'huge' is not defined; choose one of: smoke, mini, paper"):
        load_scale(RAW, "huge")


def test_checkpoint_schedule_is_pythia_like():
    assert checkpoint_steps(1000, log_until=64, every=250) == [0, 1, 2, 4, 8, 16, 32, 64, 250, 500, 750, 1000]
    assert checkpoint_steps(10, log_until=64, every=4) == [0, 1, 2, 4, 8, 10]

