"""Where a model comes from, without torch: local checkpoint folders and their revisions, hub hints, the error.

Kept apart from entangle.models.load (which imports torch and transformers) so that jobs which only find or
fetch models (fetch_model) start in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path


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


def is_local(source: str) -> bool:
    """Whether `source` names a local folder (a workflow model directory or a copy) rather than a hub id."""
    return source.startswith((".", "/", "~")) or Path(source).exists() or source.startswith("results")


def hub_hint(hub_id: str, revision: str | None) -> str:
    """How to get `hub_id` at `revision` into the cache (`hf`: huggingface_hub 1.0 replaced `huggingface-cli`)."""
    rev = f" --revision {revision}" if revision and revision != "main" else ""
    return (f"Pre-download it on a machine with network: `hf download {hub_id}{rev}` (gated models such as "
            f"Llama: `hf auth login` first; the cache lives in $HF_HOME, default ~/.cache/huggingface), then run "
            f"with HF_HUB_OFFLINE=1; or point the model's `path:` in config.yaml at a local copy.")
