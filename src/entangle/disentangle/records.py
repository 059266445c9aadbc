"""The context columns every per-layer disentanglement table carries (written by scripts/disentangle_layer.py)."""

from __future__ import annotations

import pandas as pd

CONTEXT = ("model", "model_id", "revision", "layer", "matrix", "dataset", "split", "calibration_split", "tokens",
           "calibration_tokens", "seed")


def context(frame: pd.DataFrame) -> dict:
    """Model, revision, layer, matrix, data split, token counts and seed of a table's first row (plain values)."""
    return {c: frame[c].iloc[0].item() if hasattr(frame[c].iloc[0], "item") else frame[c].iloc[0]
            for c in CONTEXT if c in frame.columns}
