"""The real architectures of the papers' hub models, as their `config.json` on the Hugging Face hub states them.

One definition used by the cost estimate (`entangle.cost`: FLOPs, bytes and memory from these shapes) and by
the paper-scale rehearsal's fixture (tests/fixtures/paper_hub.py: random stand-ins with these traits, shrunk).
Torch-free. Numbers: layers, d_model (hidden_size), d_ff (intermediate size), attention heads, key/value
heads (grouped-query attention when fewer), vocab_size (embedding rows; Pythia and OPT pad theirs beyond the
tokenizer by `vocab_padding` rows), max positions, and the family traits the loaders and hooks depend on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperArch:
    """One hub model's architecture (see the module docstring for the fields' sources)."""

    hub_id: str
    family: str               # gpt_neox | opt | llama | gpt2 (entangle.models.arch)
    n_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int            # embedding rows
    max_positions: int
    activation: str            # hidden_act / activation_function
    tied_embeddings: bool
    tokenizer: str             # gpt_neox_bpe | gpt2_bpe | llama_sentencepiece | llama3_bpe
    vocab_padding: int = 0     # embedding rows beyond the tokenizer's vocabulary
    parallel_residual: bool = False   # GPT-NeoX: attention and MLP read the same input
    rotary_pct: float = 0.0    # share of each head's dims that get rotary embeddings (0: learned positions)
    rope_theta: float = 10000.0
    weights: str = "safetensors"      # files on the hub: bin (pytorch_model.bin only) | safetensors | sharded
    weights_dtype: str = "float16"    # dtype of the hub's weight files

    @property
    def ffn_matrices(self) -> int:
        """FFN linears per block: up, down (+ gate for SwiGLU)."""
        return 3 if self.family == "llama" else 2

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def ffn_params(self) -> int:
        """FFN weights per block."""
        return self.ffn_matrices * self.d_model * self.d_ff

    @property
    def attention_params(self) -> int:
        """Attention weights per block (q, o: d_model^2 each; k, v: d_model x kv width each)."""
        kv = self.n_kv_heads * self.head_dim
        return 2 * self.d_model * self.d_model + 2 * self.d_model * kv

    @property
    def block_params(self) -> int:
        return self.ffn_params + self.attention_params

    @property
    def embedding_params(self) -> int:
        """Input embedding and output head (one matrix when tied)."""
        return self.vocab_size * self.d_model * (1 if self.tied_embeddings else 2)

    @property
    def checkpoint_bytes(self) -> int:
        """Size of the weights as stored on the hub."""
        return self.params * (4 if self.weights_dtype == "float32" else 2)

    @property
    def params(self) -> int:
        """All weight matrices (norms and biases left out: < 0.1%)."""
        return self.n_layers * self.block_params + self.embedding_params


def _pythia(size: str, n_layers: int, d_model: int, n_heads: int, vocab_size: int = 50304) -> PaperArch:
    return PaperArch(f"EleutherAI/pythia-{size}-deduped", "gpt_neox", n_layers, d_model, 4 * d_model, n_heads, n_heads,
                     vocab_size, 2048, "gelu", False, "gpt_neox_bpe", vocab_padding=vocab_size - 50277,
                     parallel_residual=True, rotary_pct=0.25, weights="bin")


# The hub's step branches of Pythia hold pytorch_model.bin only (no safetensors); OPT-1.3B's main branch too.
_ARCHS = [
    _pythia("70m", 6, 512, 8),
    _pythia("160m", 12, 768, 12),
    _pythia("410m", 24, 1024, 16),
    _pythia("1b", 16, 2048, 8),
    _pythia("1.4b", 24, 2048, 16),
    _pythia("2.8b", 32, 2560, 32),
    _pythia("6.9b", 32, 4096, 32, vocab_size=50432),
    _pythia("12b", 36, 5120, 40, vocab_size=50688),
    PaperArch("facebook/opt-1.3b", "opt", 24, 2048, 8192, 32, 32, 50272, 2048, "relu", True, "gpt2_bpe",
              vocab_padding=7, weights="bin"),
    PaperArch("meta-llama/Llama-2-7b-hf", "llama", 32, 4096, 11008, 32, 32, 32000, 4096, "silu", False,
              "llama_sentencepiece", rotary_pct=1.0, weights="sharded"),
    PaperArch("meta-llama/Llama-2-13b-hf", "llama", 40, 5120, 13824, 40, 40, 32000, 4096, "silu", False,
              "llama_sentencepiece", rotary_pct=1.0, weights="sharded"),
    PaperArch("meta-llama/Meta-Llama-3-8B", "llama", 32, 4096, 14336, 32, 8, 128256, 8192, "silu", False,
              "llama3_bpe", rotary_pct=1.0, rope_theta=500000.0, weights="sharded", weights_dtype="bfloat16"),
    PaperArch("openai-community/gpt2", "gpt2", 12, 768, 3072, 12, 12, 50257, 1024, "gelu_new", True, "gpt2_bpe",
              weights_dtype="float32"),
]
PAPER_ARCHS: dict[str, PaperArch] = {a.hub_id: a for a in _ARCHS}


def paper_arch(hub_id: str) -> PaperArch:
    """The real architecture of a paper model; KeyError naming the known ids otherwise."""
    try:
        return PAPER_ARCHS[hub_id]
    except KeyError:
        raise KeyError(f"no architecture recorded for {hub_id!r}; known: {', '.join(PAPER_ARCHS)} "
                       "(add it to entangle.models.paper_archs)") from None
