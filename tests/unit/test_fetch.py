"""fetch_model against a hub cache (offline): safetensors or .bin weights, every missing revision named at once."""

import json
import sys
from pathlib import Path

import pytest

from entangle.models.load import ModelLoadError
from tests.fixtures.paper_hub import add_snapshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fetch_model(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    sys.modules.pop("fetch_model", None)
    import fetch_model

    return fetch_model


def snapshot(tmp_path, repo_id, revision, names):
    files = tmp_path / "files" / revision
    for name in names:
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(f"{repo_id} {revision} {name}")
    add_snapshot(tmp_path / "hub", repo_id, revision, files)


def test_revisions_with_only_pytorch_bin_weights_are_fetched(fetch_model, tmp_path):
    snapshot(tmp_path, "org/model", "step0", ["config.json", "tokenizer.json", "pytorch_model.bin"])
    snapshot(tmp_path, "org/model", "main", ["config.json", "model.safetensors", "pytorch_model.bin"])
    for revision, weights in (("step0", "pytorch_model.bin"), ("main", "model.safetensors")):
        path = Path(fetch_model.fetch("org/model", revision))
        assert (path / weights).is_file() and (path / "config.json").is_file()


def test_missing_revisions_and_missing_weights_are_all_named(fetch_model, tmp_path):
    snapshot(tmp_path, "org/model", "step0", ["config.json", "pytorch_model.bin"])
    snapshot(tmp_path, "org/model", "step1", ["config.json", "tokenizer.json"])  # an interrupted download
    model = {"name": "m", "family": "gpt_neox", "hub_id": "org/model", "source": "org/model", "context": 8,
             "revisions": ["step0", "step1", "step2", "step4"]}
    out = tmp_path / "results" / "models" / "m"
    with pytest.raises(ModelLoadError) as err:
        fetch_model.main(model, str(out))
    message = str(err.value)
    assert "at 3 of 4 revisions (step1, step2, step4)" in message
    assert "step1: ModelLoadError" in message and "has no weights" in message
    assert "hf download org/model --revision step1" in message
    assert not out.exists()
    model["revisions"] = ["step0"]
    fetch_model.main(model, str(out))
    card = json.loads((out / "card.json").read_text())
    assert card["revisions"] == ["step0"] and Path(card["snapshots"]["step0"]).is_dir()
