"""One loader for every scale: a workflow-trained model directory, a local copy, or a hub id + revision.

A trained model directory holds one sub-directory per revision (`step0`, `step1`, ..., as Pythia's hub
branches); hub models are opened with `from_pretrained(id, revision=...)`. Every failure names the
model, the revision and the fix.
"""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from entangle.models.arch import ARCHS
from entangle.models.sources import (  # noqa: F401 (re-exported: callers use the one loader module)
    ModelLoadError, hub_hint, is_local, local_revisions, resolve_local)
from entangle.timing import startup


def _family_check(config, source: str) -> None:
    if config.model_type not in ARCHS:
        raise ModelLoadError(f"{source!r} is a {config.model_type!r} model; supported families: {', '.join(ARCHS)}")


@startup
def load_tokenizer(source: str, revision: str | None = None):
    """The tokenizer of a local model directory (at `revision`) or of a hub id; errors as `load_model`."""
    try:
        if is_local(source):
            return AutoTokenizer.from_pretrained(resolve_local(source, revision))
        return AutoTokenizer.from_pretrained(source, revision=revision)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        hint = "" if is_local(source) else "\n" + hub_hint(source, revision)
        raise ModelLoadError(f"cannot load the tokenizer of {source!r} at revision {revision!r}: "
                             f"{type(exc).__name__}: {exc}{hint}") from exc


@startup
def load_model(source: str, revision: str | None = None, dtype: torch.dtype = torch.float32,
               device: str = "cpu"):
    """(model, tokenizer) in eval mode. `source` is a local directory or a hub id."""
    try:
        if is_local(source):
            path = resolve_local(source, revision)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(path)
        else:
            model = AutoModelForCausalLM.from_pretrained(source, revision=revision, dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except ModelLoadError:
        raise
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        if is_local(source):
            raise ModelLoadError(f"cannot load local model {source!r} at revision {revision!r}: {exc}") from exc
        raise ModelLoadError(f"cannot load {source!r} at revision {revision!r} from the Hugging Face hub "
                             f"(offline, gated, or not cached): {type(exc).__name__}: {exc}\n{hub_hint(source, revision)}"
                             ) from exc
    _family_check(model.config, source)
    return model.to(device).eval(), tokenizer


def save_tokenizer(tokenizer, path) -> None:
    """`tokenizer.save_pretrained(path)` without the loading machine's offline flag: with HF_HUB_OFFLINE set,
    transformers records `local_files_only: true` in tokenizer_config.json, so the same checkpoint would differ
    in its bytes between an offline and an online run. The flag is dropped from `tokenizer` itself (init_kwargs)."""
    tokenizer.init_kwargs.pop("local_files_only", None)
    tokenizer.save_pretrained(path)
