"""One loader for every scale: a workflow-trained model directory, a local copy, or a hub id + revision.

A trained model directory holds one sub-directory per revision (`step0`, `step1`, ..., as Pythia's hub
branches); hub models are opened with `from_pretrained(id, revision=...)`. Every failure names the
model, the revision and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from entangle.models.arch import ARCHS
from entangle.timing import startup


class ModelLoadError(RuntimeError):
    """The model or revision cannot be opened; the message says why and how to fix it."""


def _is_checkpoint(path: Path) -> bool:
    return (path / "config.json").is_file() and (any(path.glob("*.safetensors")) or any(path.glob("*.bin")))


def local_revisions(directory: str | Path) -> list[str]:
    """Revisions saved under a workflow model directory, in step order."""
    subdirs = [p for p in Path(directory).iterdir() if p.is_dir() and _is_checkpoint(p)]
    return [p.name for p in sorted(subdirs, key=lambda p: (len(p.name), p.name))]


def resolve_local(source: str | Path, revision: str | None) -> Path:
    """The checkpoint directory for a local `source` at `revision`; ModelLoadError if there is none."""
    source = Path(source)
    if not source.exists():
        raise ModelLoadError(f"model path {str(source)!r} does not exist")
    if revision and (source / revision).is_dir():
        path = source / revision
    elif _is_checkpoint(source) and revision in (None, "main"):
        path = source
    elif revision and not (source / revision).exists() and any(p.is_dir() for p in source.iterdir()):
        raise ModelLoadError(f"revision {revision!r} does not exist locally under {source}; "
                             f"available: {', '.join(local_revisions(source)) or 'none'}")
    else:
        raise ModelLoadError(f"{str(source)!r} is not a model checkpoint (no config.json and weights)")
    if not _is_checkpoint(path):
        raise ModelLoadError(f"{path} is not a complete checkpoint (config.json and *.safetensors expected); "
                             "delete it and rerun the job that makes it")
    return path


def _is_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or Path(source).exists() or source.startswith("results")


def _family_check(config, source: str) -> None:
    if config.model_type not in ARCHS:
        raise ModelLoadError(f"{source!r} is a {config.model_type!r} model; supported families: {', '.join(ARCHS)}")


def hub_hint(hub_id: str, revision: str | None) -> str:
    """How to get `hub_id` at `revision` into the cache (`hf`: huggingface_hub 1.0 replaced `huggingface-cli`)."""
    rev = f" --revision {revision}" if revision and revision != "main" else ""
    return (f"Pre-download it on a machine with network: `hf download {hub_id}{rev}` (gated models such as "
            f"Llama: `hf auth login` first; the cache lives in $HF_HOME, default ~/.cache/huggingface), then run "
            f"with HF_HUB_OFFLINE=1; or point the model's `path:` in config.yaml at a local copy.")


@startup
def load_tokenizer(source: str, revision: str | None = None):
    """The tokenizer of a local model directory (at `revision`) or of a hub id; errors as `load_model`."""
    try:
        if _is_local(source):
            return AutoTokenizer.from_pretrained(resolve_local(source, revision))
        return AutoTokenizer.from_pretrained(source, revision=revision)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        hint = "" if _is_local(source) else "\n" + hub_hint(source, revision)
        raise ModelLoadError(f"cannot load the tokenizer of {source!r} at revision {revision!r}: "
                             f"{type(exc).__name__}: {exc}{hint}") from exc


@startup
def load_model(source: str, revision: str | None = None, dtype: torch.dtype = torch.float32,
               device: str = "cpu"):
    """(model, tokenizer) in eval mode. `source` is a local directory or a hub id."""
    try:
        if _is_local(source):
            path = resolve_local(source, revision)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(path)
        else:
            model = AutoModelForCausalLM.from_pretrained(source, revision=revision, dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except ModelLoadError:
        raise
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        if _is_local(source):
            raise ModelLoadError(f"cannot load local model {source!r} at revision {revision!r}: {exc}") from exc
        raise ModelLoadError(f"cannot load {source!r} at revision {revision!r} from the Hugging Face hub "
                             f"(offline, gated, or not cached): {type(exc).__name__}: {exc}\n{hub_hint(source, revision)}"
                             ) from exc
    _family_check(model.config, source)
    return model.to(device).eval(), tokenizer
