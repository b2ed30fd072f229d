"""How far one set of outputs is from another: the one definition every comparison uses
(validation against PyTorch, the quantization report, the accuracy tools).

Arrays are flattened and concatenated (in float64) into one vector per side. When a norm
is zero the verdict follows equality: identical all-zero outputs have cosine 1 and relative
error 0; anything else against an all-zero reference has relative error inf.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (a metric value that can be compared)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def error_metrics(reference: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> dict[str, float]:
    """max_abs, mean_abs, rel_error (max_abs / max|reference|), rmse, cosine, snr_db, max_ref."""
    ref = np.concatenate([np.asarray(r, np.float64).ravel() for r in reference] or [np.zeros(0)])
    got = np.concatenate([np.asarray(a, np.float64).ravel() for a in actual] or [np.zeros(0)])
    if ref.shape != got.shape:
        raise ValueError(f"outputs differ in size: {ref.size} reference values, {got.size} actual")
    diff = np.abs(got - ref)
    max_abs = float(diff.max()) if diff.size else 0.0
    max_ref = float(np.abs(ref).max()) if ref.size else 0.0
    norms = float(np.linalg.norm(ref) * np.linalg.norm(got))
    noise, signal = float(np.sum(diff * diff)), float(np.sum(ref * ref))
    return {
        "max_abs": max_abs,
        "mean_abs": float(diff.mean()) if diff.size else 0.0,
        "rel_error": max_abs / max_ref if max_ref > 0 else (0.0 if max_abs == 0 else math.inf),
        "rmse": float(np.sqrt(np.mean(diff * diff))) if diff.size else 0.0,
        "cosine": float(ref @ got / norms) if norms > 0 else (1.0 if max_abs == 0 else 0.0),
        "snr_db": 10 * math.log10(signal / noise) if noise > 0 and signal > 0 else (
            math.inf if noise == 0 else -math.inf),
        "max_ref": max_ref,
    }
