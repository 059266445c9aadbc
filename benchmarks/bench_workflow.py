"""Wall time, job time, job count, peak job memory and start-up share of `snakemake figures` from scratch, per scale.

    python benchmarks/bench_workflow.py                 # smoke and mini, 2 cores
    python benchmarks/bench_workflow.py --scales mini --cores 2
    python benchmarks/bench_workflow.py --scales smoke --keep   # rerun on existing results: nothing to do
    python benchmarks/bench_workflow.py --scales smoke --from-log .snakemake/log/<run>.snakemake.log  # a past run

Deletes results/<scale>/ first (so every job runs; --keep does not), runs the workflow and reads back:
- the jobs Snakemake ran (its console output: rule, log file, start and finish, 1 s resolution);
- each script job's own timing, the last line of its log (scripts/_runner.py, `entangle-timing {...}`):
  wall and CPU seconds from process start, and its start-up: everything before `main()` (interpreter,
  imports, Snakemake's argument passing) plus model and tokenizer loading inside it (entangle.timing);
  peak resident memory. Jobs without it (the papermill reports, localrules' `run:`) count their
  Snakemake-log duration and no start-up.
Start-up share = start-up seconds / job seconds, summed over jobs, in wall and in CPU time. CPU time is what
to compare between runs on a shared machine: wall times stretch with other load (printed: load average).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TIMING_TAG = "entangle-timing"
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", re.M)


def snakemake_jobs(console: str) -> pd.DataFrame:
    """One row per job Snakemake started: jobid, rule, log file, start, finish (seconds since the first start)."""
    starts, finishes = {}, {}
    pieces = STAMP.split(console)
    for stamp, body in zip(pieces[1::2], pieces[2::2]):
        t = datetime.strptime(re.sub(" +", " ", stamp), "%a %b %d %H:%M:%S %Y").timestamp()
        rule, jobid = re.search(r"^(?:local)?rule (\S+):", body, re.M), re.search(r"^\s+jobid: (\d+)", body, re.M)
        if rule and jobid:
            log = re.search(r"^\s+log: (\S+)", body, re.M)
            starts[jobid.group(1)] = (rule.group(1), log.group(1) if log else None, t)
        for done in re.findall(r"Finished jobid: (\d+)", body):
            finishes[done] = t
    rows = [{"jobid": j, "rule": r, "log": lg, "start": t, "finish": finishes.get(j)} for j, (r, lg, t) in starts.items()]
    jobs = pd.DataFrame(rows, columns=["jobid", "rule", "log", "start", "finish"])
    jobs["log_seconds"] = jobs["finish"] - jobs["start"]
    return jobs


def job_timing(log: str | None) -> dict:
    """The timing a script job logged last, or {}."""
    if not isinstance(log, str) or not (REPO / log).exists():
        return {}
    lines = [line for line in (REPO / log).read_text(errors="replace").splitlines() if TIMING_TAG in line]
    return json.loads(lines[-1].split(TIMING_TAG, 1)[1]) if lines else {}


def rule_family(rule: str) -> str:
    """Generated per-model rules (dense_pass_neox_m, sparsify_llama, ...) summed under their family."""
    for family in ("dense_pass", "capture", "sparsify", "disentangle"):
        if rule.startswith(family + "_") and rule != "sparsify_calibration":
            return family
    return rule


def run_scale(scale: str, cores: int, target: str, keep: bool) -> dict:
    results = REPO / "results" / scale
    if not keep:
        shutil.rmtree(results, ignore_errors=True)
    load_before = os.getloadavg()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), target, "--config",
                           f"scale={scale}"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"snakemake failed at scale {scale}:\n{proc.stdout[-4000:]}")
    cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    return summarize(proc.stdout, scale, cores, target, wall, cpu, load_before)


def summarize(console: str, scale: str, cores: int, target: str, wall: float | None = None, all_cpu: float | None = None,
              load_before=(float("nan"),) * 3) -> dict:
    """The figures of one run from its Snakemake console output (or .snakemake/log file) and its jobs' logs."""
    jobs = snakemake_jobs(console)
    if wall is None:  # from the log: first job start to last job finish (1 s resolution)
        wall = jobs["finish"].max() - jobs["start"].min()
    timing = pd.DataFrame([job_timing(lg) for lg in jobs["log"]], index=jobs.index)
    jobs = jobs.join(timing)
    for column in ("wall_s", "cpu_s", "startup_wall_s", "startup_cpu_s", "max_rss_mb"):
        if column not in jobs:
            jobs[column] = float("nan")
    jobs["seconds"] = jobs["wall_s"].fillna(jobs["log_seconds"])
    jobs["startup_s"] = jobs["startup_wall_s"].fillna(0.0)
    timed = jobs["cpu_s"].notna()
    by_rule = jobs.assign(family=jobs["rule"].map(rule_family)).groupby("family").agg(
        jobs=("seconds", "size"), seconds=("seconds", "sum"), startup_s=("startup_s", "sum"),
        cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max")).sort_values("seconds", ascending=False)
    by_rule["startup_share"] = by_rule["startup_s"] / by_rule["seconds"]
    return {
        "scale": scale, "target": target, "cores": cores, "wall_s": wall, "jobs": len(jobs),
        "job_s": jobs["seconds"].sum(), "startup_s": jobs["startup_s"].sum(),
        "timed_jobs": int(timed.sum()), "timed_job_s": jobs.loc[timed, "wall_s"].sum(),
        "timed_startup_s": jobs.loc[timed, "startup_wall_s"].sum(),
        "job_cpu_s": jobs["cpu_s"].sum(), "startup_cpu_s": jobs["startup_cpu_s"].sum(),
        "all_cpu_s": all_cpu if all_cpu is not None else float("nan"),
        "peak_job_rss_mb": jobs["max_rss_mb"].max(), "load_before": load_before, "load_after": os.getloadavg(),
        "by_rule": by_rule,
    }


def report(r: dict) -> str:
    lines = [
        f"\n== {r['scale']}: snakemake --cores {r['cores']} {r['target']} ==",
        f"wall time              {r['wall_s']:8.1f} s   (load average before {r['load_before'][0]:.1f}, "
        f"after {r['load_after'][0]:.1f} over 1 min)",
        f"jobs                   {r['jobs']:8d}     ({r['timed_jobs']} logged their own timing)",
        f"sum of job times       {r['job_s']:8.1f} s   (wall)",
        f"start-up share         {r['startup_s'] / max(r['job_s'], 1e-9):8.1%}     (wall: imports and model loading / "
        f"job time; of timed jobs {r['timed_startup_s'] / max(r['timed_job_s'], 1e-9):.1%})",
        f"job CPU time           {r['job_cpu_s']:8.1f} s   (start-up {r['startup_cpu_s']:.1f} s = "
        f"{r['startup_cpu_s'] / max(r['job_cpu_s'], 1e-9):.1%}); all processes incl. Snakemake: {r['all_cpu_s']:.1f} s",
        f"peak job memory        {r['peak_job_rss_mb']:8.0f} MB",
        r["by_rule"].to_string(float_format=lambda v: f"{v:.2f}" if v < 1 else f"{v:.1f}"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["smoke", "mini"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--target", default="figures")
    parser.add_argument("--keep", action="store_true", help="keep existing results (do not delete results/<scale>/)")
    parser.add_argument("--from-log", metavar="SNAKEMAKE_LOG", help="summarize a finished run of the first scale "
                        "from its .snakemake/log file instead of running (job logs must still be in results/)")
    args = parser.parse_args()
    if args.from_log:
        print(report(summarize(Path(args.from_log).read_text(), args.scales[0], args.cores, args.target)))
        return
    for scale in args.scales:
        print(report(run_scale(scale, args.cores, args.target, args.keep)), flush=True)


if __name__ == "__main__":
    main()
