"""Hidden states of token windows carried through a model's blocks one block at a time (the sequential drivers).

`catch` runs the windows through the embeddings only: a pre-hook on block 0 records the block inputs and
the keyword arguments the model passes to every block (position embeddings, masks), then stops the
forward pass. `propagate` replaces those hidden states by a block's outputs; `head_nll` finishes with
the final norm and the head. `dense_block_pass` runs windows block by block through the model as it is,
for per-block statistics of hooked modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from entangle.evaluation.perplexity import token_nll
from entangle.models.arch import arch_of, blocks

# Final normalisation (and OPT's optional projection) per family, for layer-wise evaluation.
# The head itself is `model.get_output_embeddings()`.
_FINAL = {
    "gpt_neox": ("gpt_neox.final_layer_norm",),
    "opt": ("model.decoder.final_layer_norm", "model.decoder.project_out"),
    "llama": ("model.norm",),
    "gpt2": ("transformer.ln_f",),
}


class _Caught(Exception):
    """Raised by the block-0 pre-hook to stop the forward pass once the block inputs are known."""


class Released(nn.Module):
    """Stands in for a block freed after layer-wise evaluation; the model can no longer run."""

    def forward(self, *args, **kwargs):
        raise RuntimeError("this block was released after layer-wise evaluation (release=True); reload the model")


@dataclass
class Stream:
    """Hidden states entering the current block, in batches, and the extra block arguments per batch size."""

    hidden: list[Tensor]
    call: dict[int, tuple[tuple, dict]]

    def run(self, block: nn.Module, j: int) -> Tensor:
        args, kwargs = self.call[self.hidden[j].shape[0]]
        out = block(self.hidden[j], *args, **kwargs)
        return out[0] if isinstance(out, tuple) else out


@torch.no_grad()
def catch(model: nn.Module, windows: Tensor, batch_size: int) -> Stream:
    """Block-0 inputs of `windows` [n, L] in batches, with the arguments the model gives its blocks."""
    device = next(model.parameters()).device
    seen: dict = {}

    def hook(_module, args, kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise _Caught

    stream = Stream([], {})
    handle = blocks(model)[0].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        for start in range(0, windows.shape[0], batch_size):
            try:
                model(input_ids=windows[start : start + batch_size].to(device), use_cache=False)
            except _Caught:
                pass
            args, kwargs = seen["args"], dict(seen["kwargs"])
            hidden = args[0] if args else kwargs.pop("hidden_states")
            stream.hidden.append(hidden)
            stream.call.setdefault(hidden.shape[0], (tuple(args[1:]), kwargs))
    finally:
        handle.remove()
    return stream


@torch.no_grad()
def dense_block_pass(model: nn.Module, windows: Tensor, batch_size: int,
                     on_block: Callable[[int, nn.Module], tuple[list, Callable[[], None] | None]],
                     progress: bool = True, desc: str = "dense pass") -> None:
    """Run `windows` [n, L] block by block through the model as it is (nothing pruned), as the driver does.

    Before block `layer` sees the batches, `on_block(layer, block)` registers hooks and returns
    (hook handles, finish or None); the handles are removed once every batch has passed the block,
    then `finish()` runs (e.g. per-block statistics of the hooked outputs). Only one block's hooked
    data need be held at a time; the hidden states of all windows are (as for calibration).
    """
    stream = catch(model, windows, batch_size)
    layers = blocks(model)
    for i in tqdm(range(len(layers)), desc=desc, unit="block", disable=not progress, mininterval=2.0):
        handles, finish = on_block(i, layers[i])
        try:
            propagate(model, layers[i], stream, {})
        finally:
            for h in handles:
                h.remove()
        if finish is not None:
            finish()


def propagate(model: nn.Module, block: nn.Module, stream: Stream, labels: dict[str, list[Tensor]]) -> None:
    """Replace the stream's hidden states by the (pruned) block's outputs; SE modules use `labels` if given."""
    current: dict[str, Tensor] = {}
    handles = []
    for path, per_batch in labels.items():
        def inject(_module, args, kwargs, path=path):
            return args, {**kwargs, "labels": current[path]}

        handles.append(model.get_submodule(path).register_forward_pre_hook(inject, with_kwargs=True))
    try:
        for j in range(len(stream.hidden)):
            for path, per_batch in labels.items():
                current[path] = per_batch[j]
            stream.hidden[j] = stream.run(block, j)
    finally:
        for h in handles:
            h.remove()


def head_nll(model: nn.Module, stream: Stream, windows: Tensor) -> Tensor:
    """Per-window mean next-token NLL from the hidden states after the last block (as window_nll)."""
    norms, head = _FINAL[arch_of(model).family], model.get_output_embeddings()
    out = []
    start = 0
    for h in stream.hidden:
        for path in norms:
            parent, _, name = path.rpartition(".")
            module = getattr(model.get_submodule(parent), name, None)
            if module is not None:
                h = module(h)
        logits = head(h)[:, :-1].float()
        ids = windows[start : start + h.shape[0]].to(logits.device)
        start += h.shape[0]
        out.append(token_nll(logits, ids[:, 1:]).mean(dim=1).double().cpu())
    return torch.cat(out)
