"""Paper scale offline, with an empty Hugging Face cache: the first job fails, says what is missing and
how to get it, and leaves nothing half-written.

Runs in a temporary copy of the repository with HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1 and HF_HOME
pointing at an empty directory: the first fetch job (`fetch_model` for Pythia-70M at step143000) and
the text job (`make_text`, WikiText-2 raw through `datasets`).
"""

from __future__ import annotations

import re

import pytest

from tests.workflow.tempcopy import copy_repo, snakemake

pytestmark = pytest.mark.workflow

CASES = {
    # the first revision it fetches (step0: the NC-F1 training-dynamics checkpoints come first)
    "fetch_model": ("results/paper/models/pythia-70m",
                    ["EleutherAI/pythia-70m-deduped", "at revision step0",
                     "hf download EleutherAI/pythia-70m-deduped --revision step0", "HF_HOME",
                     "`path:`"]),
    "make_text": ("results/paper/data/text/train.txt",
                  ["Salesforce/wikitext", "wikitext-2-raw-v1", "save_to_disk", "text.local_path", "HF_HOME"]),
}


def test_paper_scale_offline_without_cache_fails_with_instructions(tmp_path):
    """Both first jobs in one run (`--keep-going`, so the second still runs after the first fails)."""
    repo = copy_repo(tmp_path / "repo")
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    targets = [target for target, _ in CASES.values()]
    proc = snakemake(repo, "--cores", "1", "--keep-going", *targets, "--config", "scale=paper", check=False,
                     timeout=300, extra_env={"HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
                                             "HF_DATASETS_CACHE": str(hf_home / "datasets")})
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    for rule, (target, expected) in CASES.items():
        assert f"Error in rule {rule}" in out, out[-3000:]
        missing = [text for text in expected if text not in out]
        assert not missing, f"the {rule} failure does not mention {missing}:\n{out[-4000:]}"
        assert not (repo / target).exists()
    # each says it once on the console, clearly (not only in the job's log)
    for script in ("fetch_model", "make_text"):
        assert re.search(rf"ERROR \(\S*{script}\.py\)", out), out[-3000:]
    results = repo / "results" / "paper"
    leftovers = [str(p.relative_to(repo)) for p in results.rglob("*") if p.is_file() and "logs" not in p.parts]
    assert not leftovers, f"files left behind by the failed jobs: {leftovers}"
    assert not list(results.rglob(".*.tmp-*"))
    assert not list(hf_home.rglob("*.safetensors"))  # and nothing was downloaded
