"""Wall time and peak memory of `snakemake figures` from scratch, per scale, and where the time goes.

    python benchmarks/bench_workflow.py                 # smoke and mini
    python benchmarks/bench_workflow.py --scales mini --cores 2

Deletes results/<scale>/ first (so every job runs), runs the workflow, then sums the per-job
`benchmark:` files by rule. Peak memory is the largest resident set of any single job.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def run_scale(scale: str, cores: int) -> dict:
    results = REPO / "results" / scale
    shutil.rmtree(results, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "figures", "--config",
                           f"scale={scale}"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"snakemake failed at scale {scale}:\n{proc.stdout[-4000:]}")
    rows = []
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        bench = pd.read_csv(tsv, sep="\t")
        rows.append({"rule": rule, "seconds": bench["s"].iloc[0], "max_rss_mb": bench["max_rss"].iloc[0]})
    jobs = pd.DataFrame(rows)
    by_rule = jobs.groupby("rule").agg(jobs=("seconds", "size"), seconds=("seconds", "sum"),
                                       max_rss_mb=("max_rss_mb", "max")).sort_values("seconds", ascending=False)
    training = by_rule.loc[by_rule.index.isin(["train_model", "train_tokenizer"]), "seconds"].sum()
    return {"scale": scale, "wall_s": wall, "job_s": jobs["seconds"].sum(), "training_job_s": training,
            "peak_job_rss_mb": jobs["max_rss_mb"].max(), "by_rule": by_rule}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["smoke", "mini"])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    for scale in args.scales:
        r = run_scale(scale, args.cores)
        print(f"\n== {scale} (cores={args.cores}) ==")
        print(f"wall time            {r['wall_s']:8.1f} s")
        print(f"sum of job times     {r['job_s']:8.1f} s  (training {r['training_job_s']:.1f} s, "
              f"rest {r['job_s'] - r['training_job_s']:.1f} s)")
        print(f"peak job memory      {r['peak_job_rss_mb']:8.0f} MB")
        print(f"children max RSS     {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:8.0f} MB")
        print(r["by_rule"].to_string(float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
