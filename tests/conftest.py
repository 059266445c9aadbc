"""Shared fixtures: a tiny trained tokenizer and tiny models of every family, built offline."""

from __future__ import annotations

import os

# Tests never use the network: the Hugging Face libraries read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

from entangle.data.tokenizer import train_bpe
from entangle.models.zoo import build_config, build_model

FAMILIES = ("gpt_neox", "opt", "llama", "gpt2")
TEXT = [f"The {w} of the {v} was {n} km , and the {v} @-@ {w} ( born 18{n} ) ." for n in range(10, 60)
        for w, v in (("river", "city"), ("king", "army"), ("song", "band"))]


@pytest.fixture
def one_thread():
    """Tiny models run several times faster on one intra-op thread than oversubscribed on a small machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# `make test` runs two pytest-xdist workers with --dist loadgroup; a group's tests run on one worker, and a worker
# takes the next unit of work in collection order when it runs low. So the longest go first (the usual heuristic
# for keeping both busy to the end): the two workers start the rehearsal and the session's smoke run
# (tests/workflow/conftest.py `smoke_results`) at once; the SLURM chain and the job-shape test, which compare with
# the smoke run, follow the rehearsal on the worker that ran it (the smoke run is done by then; a worker that asks
# for it earlier waits for it); then the resume pair, the other workflow tests, and last the unit tests, small
# units that fill the gaps at the end.
FIRST_GROUPS = ("rehearsal", "smoke", "slurm", "shapes", "resume")


def pytest_collection_modifyitems(items):
    def rank(item):
        mark = item.get_closest_marker("xdist_group")
        group = (mark.args[0] if mark.args else mark.kwargs.get("name")) if mark else None
        if group in FIRST_GROUPS:
            return FIRST_GROUPS.index(group)
        return len(FIRST_GROUPS) + (0 if item.get_closest_marker("workflow") else 1)

    items.sort(key=rank)  # stable: collection order within each rank


@pytest.fixture(scope="session")
def tokenizer():
    return train_bpe(TEXT, vocab_size=300)


def tiny_model(family: str, vocab_size: int, seed: int = 0, n_layers: int = 2):
    config = build_config(family, vocab_size, context=32, d_model=16, n_layers=n_layers, n_heads=2, d_ff=24,
                          special_id=0)
    return build_model(config, seed).eval()


@pytest.fixture(params=FAMILIES)
def family_model(request, tokenizer):
    return tiny_model(request.param, len(tokenizer))


@pytest.fixture
def token_windows(tokenizer):
    ids = torch.tensor(tokenizer(" ".join(TEXT))["input_ids"])
    return ids[: 4 * 32].view(4, 32)
