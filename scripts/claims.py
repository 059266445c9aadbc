"""results/<scale>/claims.csv (+ .md): every testable claim of the three papers with its verdict."""

import logging

import yaml
from _runner import run

from entangle.claims import claims_table
from entangle.io import write_table


def main(spec: str, claims_dir: str, scale: str, table: str, markdown: str, llm: str = "") -> None:
    """llm: the scale's pretrained LLM (config role `llm`; empty if none), primary for claims marked `primary: llm`."""
    frame = claims_table(yaml.safe_load(open(spec))["claims"], scale, claims_dir, llm=llm or None)
    logging.info("verdicts: %s", frame["verdict"].value_counts().to_dict())
    write_table(frame, table, markdown)


if __name__ == "__main__":
    run(main)
