"""Train a small causal LM on a token stream, saving checkpoints on a Pythia-like schedule."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm


def random_batches(ids: torch.Tensor, batch_size: int, context: int, seed: int):
    """Endless batches of random windows [batch_size, context] from a token stream [T], seeded."""
    if ids.numel() <= context:
        raise ValueError(f"training split has {ids.numel()} tokens, fewer than one window of {context}")
    gen = torch.Generator().manual_seed(seed)
    offsets = torch.arange(context)
    while True:
        starts = torch.randint(0, ids.numel() - context, (batch_size,), generator=gen)
        yield ids[starts[:, None] + offsets]


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10% of `lr`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def train_lm(model: torch.nn.Module, ids: torch.Tensor, *, steps: int, batch_size: int, context: int, lr: float,
             warmup_steps: int, weight_decay: float, seed: int, save_at: list[int],
             save: Callable[[int, torch.nn.Module], None], log_every: int = 10) -> list[dict]:
    """AdamW training; calls `save(step, model)` at every step in `save_at` (0 = before any update).

    Returns the loss log [{step, loss, lr}] (loss in nats per token, mean over the batch).
    """
    torch.manual_seed(seed)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    batches = random_batches(ids, batch_size, context, seed)
    pending = sorted(set(save_at))
    log = []
    if pending and pending[0] == 0:
        save(0, model)
        pending.pop(0)
    bar = tqdm(range(1, steps + 1), desc="train", unit="step", mininterval=2.0)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step - 1, steps, lr, warmup_steps)
        batch = next(batches)
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % log_every == 0 or step == steps:
            log.append({"step": step, "loss": loss.item(), "lr": opt.param_groups[0]["lr"]})
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if pending and step == pending[0]:
            model.eval()
            save(step, model)
            model.train()
            pending.pop(0)
    model.eval()
    return log


def unigram_perplexity(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int) -> float:
    """Perplexity of the add-one-smoothed unigram model of `train_ids` on `eval_ids` (the baseline to beat)."""
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1.0
    logp = torch.log(counts / counts.sum())
    return math.exp(-logp[eval_ids].mean().item())
