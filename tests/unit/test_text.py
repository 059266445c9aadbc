import pytest
import torch

from entangle.data.text import DataError, fetch_hf_splits, read_split
from entangle.data.windows import calibration_windows, eval_windows
from entangle.data.tokenizer import train_bpe


def test_eval_windows_non_overlapping_leftover_dropped():
    ids = torch.arange(103)
    w = eval_windows(ids, 10)
    assert w.shape == (10, 10) and torch.equal(w.flatten(), torch.arange(100))
    assert eval_windows(ids, 10, max_windows=3).shape == (3, 10)


def test_too_short_split_is_a_clear_error():
    with pytest.raises(DataError, match="test split has 5 tokens, fewer than one window of 10"):
        eval_windows(torch.arange(5), 10, what="test split")


def test_calibration_windows_follow_the_reference_sampler():
    import random

    ids = torch.arange(1000)
    w = calibration_windows(ids, 4, 16, seed=0)
    rng = random.Random(0)
    starts = [rng.randint(0, 1000 - 16 - 1) for _ in range(4)]
    assert [int(row[0]) for row in w] == starts
    assert torch.equal(w, calibration_windows(ids, 4, 16, seed=0))


def test_read_split_rejects_missing_and_empty(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_split(tmp_path, "test")
    (tmp_path / "test.txt").write_text("  \n")
    with pytest.raises(DataError, match="is empty"):
        read_split(tmp_path, "test")


def test_hf_splits_from_a_local_saved_dataset(tmp_path):
    """The paper-scale loader on a WikiText-shaped dataset saved to disk (no network)."""
    import datasets

    rows = {"train": [" = A = \n", " the cat \n"], "validation": [" b \n", " c \n"], "test": [" d \n", " e \n"]}
    datasets.DatasetDict({s: datasets.Dataset.from_dict({"text": r}) for s, r in rows.items()}).save_to_disk(tmp_path)
    splits = fetch_hf_splits("wikitext", "wikitext-2-raw-v1", None, {"train": " ", "validation": "\n\n", "test": "\n\n"},
                             local_path=str(tmp_path))
    assert splits["train"] == " = A = \n  the cat \n" and splits["test"] == " d \n\n\n e \n"


def test_hf_splits_offline_names_dataset_and_fix():
    with pytest.raises(DataError, match=r"(?s)cannot load dataset 'no-such/wikitext-x'.*Fix:.*save_to_disk"):
        fetch_hf_splits("no-such/wikitext-x", "wikitext-2-raw-v1", "main", {"train": " ", "validation": "", "test": ""})


def test_tokenizer_training_is_deterministic():
    text = ["The cat sat on the mat , and the dog @-@ like cat ( 1900 ) ."] * 20
    a, b = train_bpe(text, 300), train_bpe(text, 300)
    assert a.get_vocab() == b.get_vocab()
    ids = a(text[0])["input_ids"]
    assert a.decode(ids) == text[0]
