"""results/scales.{csv,md,html}: every scale's claims side by side, from each results/<scale>/claims.csv present.

By hand: `python scripts/scales.py` reads every results/*/claims.csv; `--claims '["results/mini/claims.csv"]'`
picks files.
"""

import logging

from _runner import run

from entangle.report.scales import claims_files, write


def main(claims: list | None = None, table: str = "results/scales.csv", markdown: str = "results/scales.md",
         page: str = "results/scales.html") -> None:
    files = list(claims) if claims else claims_files("results")
    long = write(files, table, markdown, page)
    logging.info("scales %s: %d rows from %s", sorted(set(long["scale"])), len(long), ", ".join(files))


if __name__ == "__main__":
    run(main)
