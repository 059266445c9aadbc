"""results/<scale>/claims.csv (+ .md): every testable claim of the three papers with its verdict."""

import logging

import yaml
from _runner import run

from entangle.claims import claims_table
from entangle.io import write_table


def main(spec: str, claims_dir: str, scale: str, table: str, markdown: str) -> None:
    frame = claims_table(yaml.safe_load(open(spec))["claims"], scale, claims_dir)
    logging.info("verdicts: %s", frame["verdict"].value_counts().to_dict())
    write_table(frame, table, markdown)


if __name__ == "__main__":
    run(main)
