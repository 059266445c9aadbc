"""Writing outputs safely: every file or directory appears whole or not at all.

Each writer fills a temporary sibling (`.name.tmp-<pid>`) and renames it into place, so a job killed
mid-write (SIGKILL included) never leaves a truncated output for a rerun to trust. A kill skips the
cleanup, so the next writer of the same target first removes stale `.name.tmp-*` siblings (Snakemake
runs one job per output at a time).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | Path, directory: bool = False):
    """Yield a temporary path next to `target`; on success rename it to `target`, on error delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        _remove(stale)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        _remove(target)
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_array(path: str | Path, array) -> None:
    """A numpy array as .npy, atomically."""
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def load_matrix(path: str | Path):
    """A captured array (entangle.capture), memory-mapped read-only: numpy [T, d]."""
    import numpy as np

    return np.load(path, mmap_mode="r")


def write_table(df: pd.DataFrame, csv_path: str | Path, md_path: str | Path | None = None,
                float_format: str = "%.6g") -> None:
    """A tidy CSV (stable float format, so reruns are byte-identical) and optionally a Markdown copy."""
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)
    if md_path is not None:
        write_text(md_path, markdown_table(df) + "\n")


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """GitHub-flavoured Markdown of a DataFrame without extra dependencies."""
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}g}"
        return str(v).replace("|", "\\|")
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def save_figure(fig, png_path: str | Path, pdf_path: str | Path | None = None, dpi: int = 150) -> None:
    """Save a matplotlib figure as PNG (and PDF) atomically, then close it."""
    import matplotlib.pyplot as plt

    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if pdf_path is not None:
        with atomic_path(pdf_path) as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None, "Producer": None})
    plt.close(fig)
