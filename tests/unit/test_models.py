import pytest
import torch

from entangle.models import arch
from entangle.models.load import ModelLoadError, load_model, local_revisions
from entangle.models.train import train_lm, unigram_perplexity
from tests.conftest import tiny_model


def test_adapters_find_blocks_and_matrices(family_model):
    assert arch.n_layers(family_model) == 2
    w = arch.weight(family_model, 1, "up")
    assert w.shape == (24, 16)  # one row per neuron: [d_ff, d_model]
    assert arch.weight(family_model, 0, "down").shape == (16, 24)


def test_up_output_is_weight_times_input_plus_bias(family_model, token_windows):
    seen = {}
    module = arch.mlp_matrix(family_model, 1, "up")
    handle = module.register_forward_hook(lambda m, a, o: seen.update(x=a[0], y=o))
    with torch.no_grad():
        family_model(input_ids=token_windows[:1])
    handle.remove()
    bias = module.bias if module.bias is not None else 0
    expected = seen["x"] @ arch.weight(family_model, 1, "up").T + bias
    assert torch.allclose(seen["y"], expected, atol=1e-5)


def test_bad_layer_matrix_and_family_are_clear_errors(tokenizer):
    model = tiny_model("gpt_neox", len(tokenizer))
    with pytest.raises(arch.ArchitectureError, match="layer 5 is out of range: the model has layers 0..1"):
        arch.mlp_matrix(model, 5, "up")
    with pytest.raises(arch.ArchitectureError, match="gpt_neox has no matrix 'gate'"):
        arch.mlp_matrix(model, 0, "gate")
    model.config.model_type = "bert"
    with pytest.raises(arch.ArchitectureError, match="unknown model family 'bert'"):
        arch.arch_of(model)


def test_training_lowers_loss_below_unigram(tokenizer, token_windows):
    model = tiny_model("gpt_neox", len(tokenizer))
    ids = token_windows.flatten().repeat(20)
    saved = []
    log = train_lm(model, ids, steps=40, batch_size=8, context=32, lr=1e-2, warmup_steps=5, weight_decay=0.0, seed=0,
                   save_at=[0, 1, 2, 40], save=lambda step, m: saved.append(step), log_every=5)
    assert saved == [0, 1, 2, 40]
    assert log[-1]["loss"] < log[0]["loss"] - 0.5
    assert log[-1]["loss"] < torch.log(torch.tensor(unigram_perplexity(ids, ids, len(tokenizer)))).item()


def _save(model, tokenizer, path):
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def test_loader_opens_local_revisions_and_names_missing_ones(tmp_path, tokenizer):
    for step in (0, 10):
        _save(tiny_model("opt", len(tokenizer), seed=step), tokenizer, tmp_path / f"step{step}")
    assert local_revisions(tmp_path) == ["step0", "step10"]
    model, tok = load_model(str(tmp_path), "step10")
    reference = tiny_model("opt", len(tokenizer), seed=10)
    assert torch.equal(arch.weight(model, 0, "up"), arch.weight(reference, 0, "up"))
    with pytest.raises(ModelLoadError, match="revision 'step5' does not exist locally .*available: step0, step10"):
        load_model(str(tmp_path), "step5")


def test_loader_rejects_paths_that_are_not_checkpoints(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "missing"), "step0")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match="is not a model checkpoint"):
        load_model(str(tmp_path), None)


def test_hub_model_offline_names_id_revision_and_fix():
    with pytest.raises(ModelLoadError, match=r"(?s)EleutherAI/pythia-no-such-deduped' at revision 'step143000'.*"
                                             r"hf download EleutherAI/pythia-no-such-deduped --revision step143000"):
        load_model("EleutherAI/pythia-no-such-deduped", "step143000")


def test_tokenizer_loader_opens_local_revisions_and_names_missing_ones(tmp_path, tokenizer):
    from entangle.models.load import load_tokenizer

    _save(tiny_model("opt", len(tokenizer)), tokenizer, tmp_path / "step3")
    assert load_tokenizer(str(tmp_path), "step3").get_vocab() == tokenizer.get_vocab()
    with pytest.raises(ModelLoadError, match="revision 'step5' does not exist locally"):
        load_tokenizer(str(tmp_path), "step5")


def test_saved_tokenizer_does_not_record_how_it_was_loaded(tmp_path, tokenizer):
    import json

    from transformers import AutoTokenizer

    from entangle.models.load import save_tokenizer

    tokenizer.save_pretrained(tmp_path / "a")
    offline = AutoTokenizer.from_pretrained(tmp_path / "a", local_files_only=True)  # as under HF_HUB_OFFLINE=1
    online = AutoTokenizer.from_pretrained(tmp_path / "a")
    save_tokenizer(offline, tmp_path / "offline")
    save_tokenizer(online, tmp_path / "online")
    config = json.loads((tmp_path / "offline" / "tokenizer_config.json").read_text())
    assert "local_files_only" not in config
    assert (tmp_path / "offline" / "tokenizer_config.json").read_bytes() == \
        (tmp_path / "online" / "tokenizer_config.json").read_bytes()
