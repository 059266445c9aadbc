"""The feed-forward linears of a model: grouped by shared input, read and written as [d_out, d_in]
weights, and saved or loaded as a sparse FFN state on top of the unchanged base model."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from entangle.models.arch import arch_of, blocks, module_weight

from .expansion import ExpandedLinear


def ffn_groups(model: nn.Module) -> list[tuple[str, list[str]]]:
    """FFN linears grouped by shared input: [(input name, [canonical matrices])], in forward order.

    Llama: gate and up read the same input, so they share statistics and one router ("up" group).
    """
    matrices = arch_of(model).matrices
    first = [m for m in ("gate", "up") if m in matrices]
    return [("up", first), ("down", ["down"])]


def module_path(model: nn.Module, layer: int, matrix: str) -> str:
    arch = arch_of(model)
    return f"{arch.blocks}.{layer}.{arch.matrices[matrix]}"


get_weight = module_weight  # [d_out, d_in] view of a linear's weight (GPT-2 Conv1D stores [d_in, d_out])


def set_weight(model: nn.Module, module: nn.Module, w: Tensor) -> None:
    """Write a [d_out, d_in] weight into the module, whatever its storage layout."""
    with torch.no_grad():
        module_weight(model, module).copy_(w)


def replace_module(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent), name, new)


# --------------------------------------------------------------------------------------------------
# Saving and loading the sparse FFN


def sparse_ffn_state(model: nn.Module) -> dict[str, Tensor]:
    """State of every FFN linear (pruned weights, or experts + router), keyed by full module path."""
    arch = arch_of(model)
    state = {}
    for i in range(len(blocks(model))):
        for m in arch.matrices:
            path = module_path(model, i, m)
            for k, v in model.get_submodule(path).state_dict().items():
                state[f"{path}.{k}"] = v.detach().cpu()
    return state


def save_sparse_ffn(model: nn.Module, path: str | Path, meta: dict | None = None) -> None:
    """torch.save {"meta", "state"} of the FFN linears; the rest of the model is the unchanged base model."""
    from entangle.io import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"meta": meta or {}, "state": sparse_ffn_state(model)}, tmp)


def load_sparse_ffn(model: nn.Module, path: str | Path) -> dict:
    """Load a `save_sparse_ffn` file into the base `model` (in place): Sparse Expansion modules are rebuilt.

    Returns the saved meta.
    """
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = saved["state"]
    arch = arch_of(model)
    device = next(model.parameters()).device
    for i in range(len(blocks(model))):
        for m in arch.matrices:
            mpath = module_path(model, i, m)
            sub = {k[len(mpath) + 1 :]: v for k, v in state.items() if k.startswith(mpath + ".")}
            if not sub:
                raise KeyError(f"{path}: no saved state for {mpath}")
            if "router.components" in sub:
                dtype = model.get_submodule(mpath).weight.dtype
                sub = {k: (v.to(dtype) if not k.startswith("router.") else v) for k, v in sub.items()}
                replace_module(model, mpath, ExpandedLinear.from_state_dict(sub).to(device))
            else:
                model.get_submodule(mpath).load_state_dict(sub)
    return saved.get("meta", {})
