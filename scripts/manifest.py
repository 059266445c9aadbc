"""Write results/<scale>/manifest.tsv: one row per paper item with its status, target, files and rule."""

import pandas as pd
import yaml
from _runner import run

from entangle.io import atomic_path


def main(registry: str, entries: dict, manifest: str) -> None:
    """`entries`: per item, its status, reason, files and rule at this scale (rules/common.smk `item_entry`)."""
    rows = [{"item": item_id, "paper": item["paper"], "kind": item["kind"], "status": entries[item_id]["status"],
             "reason": entries[item_id]["reason"], "target": item["target"], "files": ",".join(entries[item_id]["files"]),
             "rule": entries[item_id]["rule"], "what": item["what"]}
            for item_id, item in yaml.safe_load(open(registry))["items"].items()]
    with atomic_path(manifest) as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)


if __name__ == "__main__":
    run(main)
