"""The SLURM profile on a real single-node SLURM cluster started on localhost.

ci/slurm_up.sh starts munge, a private MariaDB, slurmdbd, slurmctld and slurmd (Debian packages, which
.ci/run installs); the test runs part of the smoke DAG through profiles/slurm in a temporary copy of the
repository, proves the jobs ran as SLURM jobs (sacct: one COMPLETED job per rule job, named by the
plugin's `rule_<name>` comment) and that localrules ran on the submit host, compares the outputs with
the session's local smoke run byte for byte, then ci/slurm_down.sh stops the daemons by their PIDs.

Run 1 builds, from nothing, one chain with every computing rule kind of the smoke scale: make_text
(data), train_tokenizer, train_model, the model's dense pass (token windows, perplexity, captures and
statistics in one job: `jobs.capture: per_model`) and the NC-F7 item analysis. Run 2 asks for `figures`
after the rest of the local run's outputs are put in place (newer than run 1's): only the local rules (manifest, the report notebooks) run, on the submit host, and no
job is submitted.

The localhost-specific settings (account `none`, partition `debug`, small memory and runtime, a 1 s
first status check, squeue status when there is no accounting) are overrides written into a copy of
profiles/slurm/config.yaml; everything else is the profile users run.

Skipped (with the reason) only when the packages are missing or the daemons cannot start;
ENTANGLE_REQUIRE_SLURM=1 (set by .ci/run once the packages are installed) turns that skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.workflow.conftest import REPO
from tests.workflow.tempcopy import copy_repo, differing_files, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slurm, pytest.mark.xdist_group("slurm")]  # one cluster, one worker

UP, DOWN = REPO / "ci" / "slurm_up.sh", REPO / "ci" / "slurm_down.sh"
CHAIN_RULES = {"make_text", "train_tokenizer", "train_model", "dense_pass_neox_m", "nc_f7_analysis"}


def _unavailable(reason: str):
    if os.environ.get("ENTANGLE_REQUIRE_SLURM") == "1":
        pytest.fail(f"ENTANGLE_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("bash") is None:
        _unavailable("no bash to run ci/slurm_up.sh")
    run_dir = Path(tempfile.mkdtemp(prefix="entangle-slurm-", dir="/tmp"))  # short: unix socket paths
    up = subprocess.run(["bash", str(UP), str(run_dir)], capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        subprocess.run(["bash", str(DOWN), str(run_dir)], timeout=120)
        what = "SLURM packages unavailable" if up.returncode == 3 else "the SLURM daemons did not start"
        _unavailable(f"{what} (ci/slurm_up.sh exit {up.returncode}): {up.stderr.strip()[-1500:]}")
    info = dict(line.split("=", 1) for line in (run_dir / "cluster.env").read_text().split())
    try:
        yield {"dir": run_dir, "env": {"SLURM_CONF": info["SLURM_CONF"]}, "accounting": info["ACCOUNTING"] == "1",
               "cpus": int(info["CPUS"])}
    finally:
        subprocess.run(["bash", str(DOWN), str(run_dir)], timeout=120)


def localhost_profile(dest: Path, cluster: dict) -> Path:
    """profiles/slurm with the settings only this one-node test cluster needs."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile.update({"jobs": 2 * cluster["cpus"], "latency-wait": 5, "retries": 0,
                    "slurm-init-seconds-before-status-checks": 1})
    if not cluster["accounting"]:
        profile["slurm-status-command"] = "squeue"
    small = {"mem_mb": "1000 * attempt", "runtime": 10}
    profile["default-resources"] = {**profile["default-resources"], **small,
                                    "slurm_account": "none", "slurm_partition": "debug"}
    profile["set-resources"] = {rule: {**res, **small} for rule, res in profile["set-resources"].items()}
    dest.mkdir(parents=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def sacct_jobs(cluster: dict) -> list[dict]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-a", "-S", "now-1days", "-o", "JobID,State,Comment"],
                         capture_output=True, text=True, check=True, env={**os.environ, **cluster["env"]}).stdout
    jobs = []
    for line in out.splitlines():
        job_id, state, comment = line.split("|", 2)
        rule = comment.removeprefix("rule_").split("_wildcards_")[0] if comment.startswith("rule_") else None
        if rule is not None:  # submitted by the plugin (not ci/slurm_up.sh's `srun hostname`)
            jobs.append({"id": job_id, "state": state, "rule": rule})
    return jobs


def ctld_allocations(cluster: dict) -> set[str]:
    """Job ids slurmctld started: "sched: Allocate JobId=N" (main scheduler) or "backfill: Started JobId=N"."""
    log = (cluster["dir"] / "log" / "slurmctld.log").read_text()
    return set(re.findall(r"(?:Allocate|Started) JobId=(\d+)", log))


def shift_in(reference: Path, results: Path) -> None:
    """Copy every reference output missing from `results`, newer than what is there, in their order.

    Their modification times keep the reference's order but are packed into the second before now: a
    constant shift would put the last outputs of a long reference run in the future (clock skew).
    """
    ref_files = [p for p in sorted(reference.rglob("*")) if p.is_file() and p.relative_to(reference).parts[0]
                 not in ("logs", "benchmarks") and p.name != "manifest.tsv"]
    time.sleep(2)  # everything run 1 wrote is now more than a second old
    base = time.time() - 1.0
    order = sorted(ref_files, key=lambda p: p.stat().st_mtime)
    stamp = {src: base + rank * (0.9 / len(order)) for rank, src in enumerate(order)}
    new_dirs = set()
    for src in ref_files:
        dst = results / src.relative_to(reference)
        if dst.exists():
            continue
        parent = dst.parent
        while not parent.exists():
            new_dirs.add(parent)
            parent = parent.parent
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        os.utime(dst, (stamp[src], stamp[src]))
    for d in sorted(new_dirs, key=lambda p: len(p.parts), reverse=True):  # directory outputs: after their files
        newest = max((stamp[f] for f in stamp if (results / f.relative_to(reference)).is_relative_to(d)), default=base)
        os.utime(d, (newest, newest))


def test_smoke_chain_runs_as_slurm_jobs_and_matches_the_local_run(cluster, reference, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    profile = localhost_profile(tmp_path / "profile", cluster)
    results = repo / "results" / "smoke"
    chain = ["nc_fig7", "results/smoke/perplexity/neox-m/step60/validation.json"]
    slurm_env = cluster["env"]

    # --- run 1: the chain, from nothing, every job through sbatch -----------------------------------
    started = time.monotonic()
    run1 = snakemake(repo, *chain, "--workflow-profile", str(profile), "--config", "scale=smoke",
                     extra_env=slurm_env, timeout=900)
    run1_seconds = time.monotonic() - started
    jobs = sacct_jobs(cluster) if cluster["accounting"] else []
    if cluster["accounting"]:
        assert jobs and all(j["state"] == "COMPLETED" for j in jobs), jobs
        ran = {j["rule"] for j in jobs}
        assert CHAIN_RULES <= ran, f"rules without a SLURM job: {CHAIN_RULES - ran}\n{run1.stdout[-3000:]}"
        # one SLURM job per Snakemake job, each rule once
        assert sorted(j["rule"] for j in jobs) == sorted(CHAIN_RULES)
    # the slurmctld log allocated every job the plugin's logs name (works without accounting too)
    slurm_logs = list((results / "logs" / "slurm").rglob("*.log"))
    logged_rules = {p.relative_to(results / "logs" / "slurm").parts[0].removeprefix("rule_") for p in slurm_logs}
    assert CHAIN_RULES <= logged_rules, f"SLURM logs under results/smoke/logs/slurm: {sorted(logged_rules)}"
    assert {p.stem for p in slurm_logs} <= ctld_allocations(cluster)
    for rule_log in ("make_text", "train_model/neox-m", "dense_pass/neox-m"):
        assert (results / "logs" / f"{rule_log}.log").exists()

    # outputs equal the local run's: text, token windows, activations, statistics, perplexity, item table
    for pattern in ("*.csv", "*.npy", "*.txt", "checksum.json", "*.safetensors"):
        differ, missing = differing_files(results, reference, pattern)
        assert not missing, f"not in the local run: {missing}"
        assert not differ, f"{pattern} differ between the SLURM run and the local run: {differ}"
    assert (results / "tables" / "NC-F7.csv").exists() and (results / "stats").exists()

    # --- run 2: `figures` with everything else in place: only local rules run, nothing is submitted ---
    before = len(sacct_jobs(cluster)) if cluster["accounting"] else len(ctld_allocations(cluster))
    shift_in(reference, results)
    run2 = snakemake(repo, "figures", "--workflow-profile", str(profile), "--config", "scale=smoke",
                     extra_env=slurm_env, timeout=600)
    after = len(sacct_jobs(cluster)) if cluster["accounting"] else len(ctld_allocations(cluster))
    assert "localrule manifest:" in run2.stdout, run2.stdout[-3000:]
    assert after == before, f"run 2 submitted {after - before} SLURM jobs:\n{run2.stdout[-3000:]}"
    assert (results / "manifest.tsv").read_bytes() == (reference / "manifest.tsv").read_bytes()
    print(f"SLURM run 1: {len(jobs)} jobs in {run1_seconds:.0f} s (accounting: {cluster['accounting']})")


def test_profile_requests_gpus_and_memory_at_paper_scale(tmp_path):
    """A dry run of the paper DAG through the unmodified profile: GPU rules ask for a GPU, memory scales."""
    repo = copy_repo(tmp_path / "repo")
    out = snakemake(repo, "figures", "-n", "--workflow-profile", "profiles/slurm", "--config", "scale=paper",
                    timeout=300).stdout
    blocks = out.split("\nrule ")
    def resources(rule):
        block = next(b for b in blocks if b.startswith(f"{rule}:"))
        return block.split("resources:")[1].splitlines()[0]
    assert "gpu=1" in resources("capture") and "mem_mb=64000" in resources("capture")  # paper: per layer
    assert "gpu=1" in resources("perplexity")
    assert "gpu" not in resources("wd_fig2_analysis") and "mem_mb=8000" in resources("wd_fig2_analysis")
