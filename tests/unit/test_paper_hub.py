"""The rehearsal's stand-in hub (tests/fixtures/paper_hub.py): real ids and revisions resolve offline through the
hub cache, with each paper model's architecture traits and tokenizer type."""

import pytest

from entangle.data.corpus import generate_corpus
from entangle.models.load import ModelLoadError, load_model
from entangle.models.paper_archs import paper_arch
from tests.fixtures import paper_hub

MODELS = {"EleutherAI/pythia-1.4b-deduped": ["step0", "step143000"], "facebook/opt-1.3b": ["main"],
          "meta-llama/Llama-2-7b-hf": ["main"], "meta-llama/Meta-Llama-3-8B": ["main"],
          "openai-community/gpt2": ["main"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf") / "hub"
    texts = generate_corpus(0, {"train": 8000})["train"]
    commits = paper_hub.build_models(cache, texts, {k: {"revisions": v, "n_layers": 2} for k, v in MODELS.items()})
    return cache, commits


@pytest.fixture
def offline(hub, monkeypatch):
    import huggingface_hub.constants as constants

    cache, _ = hub
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_cache_layout_is_the_hubs(hub):
    cache, commits = hub
    repo = cache / "models--EleutherAI--pythia-1.4b-deduped"
    for revision in ("step0", "step143000"):
        commit = (repo / "refs" / revision).read_text()
        assert commit == commits["EleutherAI/pythia-1.4b-deduped"][revision] and len(commit) == 40
        weights = repo / "snapshots" / commit / "pytorch_model.bin"  # Pythia's stepN branches: .bin only
        assert weights.is_symlink() and weights.resolve().parent == (repo / "blobs").resolve()
    llama = cache / "models--meta-llama--Llama-2-7b-hf" / "snapshots" / commits["meta-llama/Llama-2-7b-hf"]["main"]
    assert (llama / "model.safetensors.index.json").exists() and len(list(llama.glob("model-*.safetensors"))) > 1
    opt = repo.parent / "models--facebook--opt-1.3b" / "snapshots" / commits["facebook/opt-1.3b"]["main"]
    assert {p.name for p in opt.iterdir()} >= {"vocab.json", "merges.txt"} and not (opt / "tokenizer.json").exists()


def test_stand_ins_load_by_hub_id_and_revision_with_the_real_traits(offline):
    for hub_id in MODELS:
        arch = paper_arch(hub_id)
        net, tok = load_model(hub_id, MODELS[hub_id][-1])
        cfg = net.config
        assert cfg.model_type == arch.family and cfg.num_hidden_layers == 2
        assert cfg.vocab_size == len(tok) + arch.vocab_padding
        assert cfg.tie_word_embeddings == arch.tied_embeddings
        if arch.family == "gpt_neox":
            assert cfg.use_parallel_residual and cfg.hidden_act == "gelu"
            assert cfg.rope_parameters["partial_rotary_factor"] == 0.25  # config.json's rotary_pct in transformers 5
        if arch.family == "llama":
            assert cfg.num_attention_heads // cfg.num_key_value_heads == arch.n_heads // arch.n_kv_heads
            assert cfg.intermediate_size / cfg.hidden_size == pytest.approx(arch.d_ff / arch.d_model, rel=0.05)
            assert cfg.rope_parameters["rope_theta"] == arch.rope_theta
        if arch.tokenizer == "llama_sentencepiece":
            assert tok.convert_ids_to_tokens(tok(" the river")["input_ids"])[0].startswith("▁")
        else:
            assert "Ġ" in "".join(tok.convert_ids_to_tokens(tok("the river the")["input_ids"]))
    a, _ = load_model("EleutherAI/pythia-1.4b-deduped", "step0")
    b, _ = load_model("EleutherAI/pythia-1.4b-deduped", "step143000")
    assert not (a.gpt_neox.layers[0].mlp.dense_h_to_4h.weight == b.gpt_neox.layers[0].mlp.dense_h_to_4h.weight).all()


def test_a_revision_missing_from_the_cache_is_named(offline):
    with pytest.raises(ModelLoadError, match=r"(?s)pythia-1.4b-deduped' at revision 'step1000'.*hf download "
                                             r"EleutherAI/pythia-1.4b-deduped --revision step1000"):
        load_model("EleutherAI/pythia-1.4b-deduped", "step1000")
