"""The mini model zoo: small Hugging Face models of each family the papers use.

Each family keeps its defining traits (GPT-NeoX: GELU, rotary on 25% of head dims, parallel residual;
OPT: ReLU, learned positions; Llama: SwiGLU, RMSNorm, rotary; GPT-2: GELU-tanh, Conv1D), so the same
adapters, hooks and loaders serve the zoo and the hub models.
"""

from __future__ import annotations

import torch
from transformers import (GPT2Config, GPT2LMHeadModel, GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig,
                          LlamaForCausalLM, OPTConfig, OPTForCausalLM, PretrainedConfig, PreTrainedModel)


def build_config(family: str, vocab_size: int, context: int, d_model: int, n_layers: int, n_heads: int,
                 d_ff: int, special_id: int) -> PretrainedConfig:
    """A Hugging Face config of `family` with the given sizes; bos = eos = pad = `special_id`."""
    ids = dict(bos_token_id=special_id, eos_token_id=special_id, pad_token_id=special_id)
    if family == "gpt_neox":
        return GPTNeoXConfig(vocab_size=vocab_size, hidden_size=d_model, num_hidden_layers=n_layers,
                             num_attention_heads=n_heads, intermediate_size=d_ff, hidden_act="gelu",
                             rotary_pct=0.25, max_position_embeddings=context, use_parallel_residual=True,
                             tie_word_embeddings=False, **ids)
    if family == "opt":
        return OPTConfig(vocab_size=vocab_size, hidden_size=d_model, num_hidden_layers=n_layers,
                         num_attention_heads=n_heads, ffn_dim=d_ff, activation_function="relu",
                         max_position_embeddings=context, word_embed_proj_dim=d_model, do_layer_norm_before=True,
                         dropout=0.0, attention_dropout=0.0, **ids)
    if family == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, num_hidden_layers=n_layers,
                           num_attention_heads=n_heads, num_key_value_heads=n_heads, intermediate_size=d_ff,
                           hidden_act="silu", max_position_embeddings=context, tie_word_embeddings=False, **ids)
    if family == "gpt2":
        return GPT2Config(vocab_size=vocab_size, n_embd=d_model, n_layer=n_layers, n_head=n_heads, n_inner=d_ff,
                          n_positions=context, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                          attn_pdrop=0.0, **ids)
    raise ValueError(f"unknown model family {family!r}; supported: gpt_neox, opt, llama, gpt2")


MODEL_CLASSES = {"gpt_neox": GPTNeoXForCausalLM, "opt": OPTForCausalLM, "llama": LlamaForCausalLM,
                 "gpt2": GPT2LMHeadModel}


def build_model(config: PretrainedConfig, seed: int) -> PreTrainedModel:
    """A freshly initialised model (step 0), deterministic from `seed`."""
    torch.manual_seed(seed)
    return MODEL_CLASSES[config.model_type](config)
