"""Write results/<scale>/manifest.tsv: one row per paper item with its status, target, files and rule."""

import pandas as pd
import yaml
from _runner import run

from entangle.io import atomic_path


def main(registry: str, scale: str, results: str, statuses: dict, manifest: str) -> None:
    rows = []
    for item_id, item in yaml.safe_load(open(registry))["items"].items():
        status = statuses[item_id]
        if status == "not evaluable":
            reason = item["not_evaluable"][scale]
        elif status == "not yet built":
            reason = item.get("partial", {}).get("note", f"analysis belongs to issue #{item['issue']}")
        else:
            reason = ""
        source = item if status == "built" else item.get("partial", {})
        rows.append({"item": item_id, "paper": item["paper"], "kind": item["kind"], "status": status,
                     "reason": reason, "target": item["target"],
                     "files": ",".join(f"{results}/{f}" for f in source.get("outputs", [])),
                     "rule": source.get("rule", ""), "what": item["what"]})
    with atomic_path(manifest) as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)


if __name__ == "__main__":
    run(main)
