"""Claim records for the NE items: plain JSON values (numpy scalars and arrays converted, NaN -> null)."""

from __future__ import annotations

import math

import numpy as np


def jsonable(obj):
    """Recursively convert numpy scalars/arrays and tuples to built-ins; non-finite floats become None;
    estimates with intervals (entangle.bootstrap.Estimate) become their dicts."""
    if hasattr(obj, "to_json"):
        return jsonable(obj.to_json())
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    return obj
