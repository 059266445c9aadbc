"""Train one model of the zoo; save every scheduled checkpoint (stepN/) in Hugging Face format."""

import logging

import torch
from _runner import run
from transformers import AutoTokenizer

from entangle.data.text import read_split
from entangle.data.windows import eval_windows, tokenize
from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.io import atomic_path, write_json
from entangle.models.load import save_tokenizer
from entangle.models.schedule import checkpoint_steps, revision_name
from entangle.models.train import train_lm, unigram_perplexity
from entangle.models.zoo import build_config, build_model


def main(text_dir: str, tokenizer: str, model: dict, training: dict, seed: int, out: str) -> None:
    tok = AutoTokenizer.from_pretrained(tokenizer)
    train_ids = tokenize(tok, read_split(text_dir, "train"))
    val_ids = tokenize(tok, read_split(text_dir, "validation"))
    steps = model["steps"]
    save_at = checkpoint_steps(steps, training["checkpoints"]["log_until"], training["checkpoints"]["every"])
    config = build_config(model["family"], len(tok), model["context"], special_id=tok.eos_token_id, **model["size"])
    net = build_model(config, seed)
    logging.info("%s: %s, %d parameters, %d training tokens, %d steps", model["name"], model["family"],
                 sum(p.numel() for p in net.parameters()), train_ids.numel(), steps)
    with atomic_path(out, directory=True) as tmp:
        def save(step, m):
            with atomic_path(tmp / revision_name(step), directory=True) as ckpt:
                m.save_pretrained(ckpt)
                save_tokenizer(tok, ckpt)

        log = train_lm(net, train_ids, steps=steps, batch_size=training["batch_size"], context=model["context"],
                       lr=training["lr"], warmup_steps=training["warmup_steps"],
                       weight_decay=training["weight_decay"], seed=seed, save_at=save_at, save=save)
        windows = eval_windows(val_ids, model["context"], what="validation split")
        val_ppl = perplexity(window_nll(net, windows))
        unigram = unigram_perplexity(train_ids, windows.flatten(), len(tok))
        logging.info("validation perplexity %.2f (unigram baseline %.2f)", val_ppl, unigram)
        write_json(tmp / "card.json", {
            "name": model["name"], "family": model["family"], "size": model["size"], "context": model["context"],
            "parameters": sum(p.numel() for p in net.parameters()), "vocab_size": len(tok), "seed": seed,
            "steps": steps, "revisions": [revision_name(s) for s in save_at], "training_tokens": train_ids.numel(),
            "tokens_seen": steps * training["batch_size"] * model["context"],
            "validation_perplexity": val_ppl, "unigram_perplexity": unigram, "validation_tokens": windows.numel(),
            "loss_log": log,
        })


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    run(main)
