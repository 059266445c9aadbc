"""Architecture adapters: for each family, where the decoder blocks and MLP matrices live.

Canonical names, TransformerLens style, are the same for every family: `blocks.{i}.mlp.{matrix}`
with matrix in `up` (first FFN linear, its outputs are the pre-activations the papers analyse),
`gate` (SwiGLU only) and `down`. A neuron is one row of a matrix's [d_out, d_in] weight.

| family   | blocks             | up                 | gate           | down              | activation |
|----------|--------------------|--------------------|----------------|-------------------|------------|
| gpt_neox | gpt_neox.layers    | mlp.dense_h_to_4h  | -              | mlp.dense_4h_to_h | GELU       |
| opt      | model.decoder.layers | fc1              | -              | fc2               | ReLU       |
| llama    | model.layers       | mlp.up_proj        | mlp.gate_proj  | mlp.down_proj     | SiLU (gate)|
| gpt2     | transformer.h      | mlp.c_fc (Conv1D)  | -              | mlp.c_proj        | GELU (tanh)|
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from entangle.models.families import ACTIVATIONS, FFN_MATRICES


class ArchitectureError(ValueError):
    """The model's family or the requested layer/matrix does not exist."""


@dataclass(frozen=True)
class Arch:
    family: str
    blocks: str
    matrices: dict[str, str]  # canonical name -> path inside a block
    activation: str           # name of the FFN non-linearity (applied to `gate` for SwiGLU, else to `up`)
    conv1d: bool = False      # GPT-2 stores weights as [d_in, d_out]


# Where each family keeps its blocks and, inside a block, each canonical FFN matrix.
_LAYOUT = {
    "gpt_neox": ("gpt_neox.layers", {"up": "mlp.dense_h_to_4h", "down": "mlp.dense_4h_to_h"}),
    "opt": ("model.decoder.layers", {"up": "fc1", "down": "fc2"}),
    "llama": ("model.layers", {"up": "mlp.up_proj", "gate": "mlp.gate_proj", "down": "mlp.down_proj"}),
    "gpt2": ("transformer.h", {"up": "mlp.c_fc", "down": "mlp.c_proj"}),
}
_CONV1D = {"gpt2"}


def _arch(family: str) -> Arch:
    """The adapter of a family: matrices in `FFN_MATRICES` order, activation from `ACTIVATIONS`."""
    blocks_path, paths = _LAYOUT[family]
    if set(paths) != set(FFN_MATRICES[family]):
        raise ArchitectureError(f"{family}: module paths for {sorted(paths)}, FFN_MATRICES lists "
                                f"{sorted(FFN_MATRICES[family])}")
    return Arch(family, blocks_path, {m: paths[m] for m in FFN_MATRICES[family]}, ACTIVATIONS[family],
                conv1d=family in _CONV1D)


ARCHS = {family: _arch(family) for family in FFN_MATRICES}


def arch_of(model: nn.Module) -> Arch:
    """The adapter for a Hugging Face causal LM, from `model.config.model_type`."""
    family = getattr(getattr(model, "config", None), "model_type", None)
    if family not in ARCHS:
        raise ArchitectureError(f"unknown model family {family!r}; supported: {', '.join(ARCHS)}")
    return ARCHS[family]


def blocks(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks, in order."""
    return model.get_submodule(arch_of(model).blocks)


def n_layers(model: nn.Module) -> int:
    return len(blocks(model))


def mlp_matrix(model: nn.Module, layer: int, matrix: str) -> nn.Module:
    """The linear (or GPT-2 Conv1D) module `blocks.{layer}.mlp.{matrix}`."""
    arch = arch_of(model)
    layers = blocks(model)
    if not 0 <= layer < len(layers):
        raise ArchitectureError(f"layer {layer} is out of range: the model has layers 0..{len(layers) - 1}")
    if matrix not in arch.matrices:
        raise ArchitectureError(f"{arch.family} has no matrix {matrix!r}; it has {', '.join(arch.matrices)}")
    return layers[layer].get_submodule(arch.matrices[matrix])


def module_weight(model: nn.Module, module: nn.Module) -> torch.Tensor:
    """A matrix module's weight as a [d_out, d_in] view (one row per neuron), whatever the storage layout.

    Writing into the view (`.copy_`) writes the module's weight.
    """
    return module.weight.T if arch_of(model).conv1d else module.weight


def weight(model: nn.Module, layer: int, matrix: str) -> torch.Tensor:
    """The matrix's weight as [d_out, d_in] (one row per neuron), whatever the storage layout."""
    return module_weight(model, mlp_matrix(model, layer, matrix))


def activation_fn(model: nn.Module):
    """The FFN non-linearity as a callable on pre-activations."""
    from transformers.activations import ACT2FN

    return ACT2FN[arch_of(model).activation]


def hook_name(layer: int, matrix: str) -> str:
    """Canonical name of a matrix, used in file names and tables: `blocks.1.mlp.up`."""
    return f"blocks.{layer}.mlp.{matrix}"
