"""Claim values: what each item measured for the papers' testable claims (CATALOG section 5).

Items write `results/<scale>/claims/<ITEM>.json`:
    {"item": "WD-F2", "scale": "mini", "claims": {"2": {"spearman_wd_md": 0.81, ...}}, "context": {...}}
Values are plain numbers (or null when not measurable); the verdicts are made elsewhere, against
criteria stored before looking at the numbers.
"""

from __future__ import annotations

import math

from entangle.io import write_json


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_claim_values(path, item: str, scale: str, claims: dict[int, dict], context: dict | None = None) -> None:
    """Record measured values per claim id, with the context (model, revision, split, tokens, seed)."""
    write_json(path, {"item": item, "scale": scale,
                      "claims": {str(c): {k: _plain(v) for k, v in values.items()} for c, values in claims.items()},
                      "context": {k: _plain(v) for k, v in (context or {}).items()}})
