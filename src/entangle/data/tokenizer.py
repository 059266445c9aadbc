"""A byte-level BPE tokenizer trained offline on the generated corpus (GPT-2/Pythia style)."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

END_OF_TEXT = "<|endoftext|>"


def train_bpe(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE with one special token (bos = eos = pad = `<|endoftext|>`), deterministic."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[END_OF_TEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT,
                                   pad_token=END_OF_TEXT, unk_token=END_OF_TEXT)


def vocabulary(tokenizer) -> list[str]:
    """Raw token strings by id ("Ġthe" for " the"; "" where an id has none), to decode token-pair tables."""
    return [t if t is not None else "" for t in tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))]
