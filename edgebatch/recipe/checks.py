"""Value checks the schema's types cannot express: counts, limits and tolerances in range.

Hydra checks that `validation.n_inputs` is an int; this module checks that it is at
least 1, before any work, with the full key in the message.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from edgebatch.errors import RecipeError

# full key → (lowest allowed value, whether the lowest value itself is allowed)
_LOWER_BOUNDS: dict[str, tuple[float, bool]] = {
    "validation.n_inputs": (1, True),
    "validation.atol": (0, True),
    "validation.rtol": (0, True),
    "validation.degenerate_std": (0, True),
    "quant.tolerance.atol": (0, True),
    "quant.tolerance.rtol": (0, True),
    "quant.calibration.batches": (1, True),
    "benchmark.warmup": (0, True),
    "benchmark.runs": (1, True),
    "runner.timeout_s": (0, False),
    "runner.memory_mb": (0, False),
    "diagnosis.timeout_s": (0, False),
    "diagnosis.max_culprits": (1, True),
}


def check_values(cfg: DictConfig) -> None:
    """Raise RecipeError naming the first key whose value is out of range."""
    for key, (lowest, inclusive) in _LOWER_BOUNDS.items():
        value = OmegaConf.select(cfg, key)
        if value is None:
            continue
        if value < lowest or (value == lowest and not inclusive):
            bound = f">= {lowest}" if inclusive else f"> {lowest}"
            raise RecipeError(f"{key}: must be {bound}, got {value}")
    threads = OmegaConf.select(cfg, "benchmark.threads") or []
    if any(t < 1 for t in threads):
        raise RecipeError(f"benchmark.threads: every thread count must be >= 1, got {list(threads)}")
    cosine = OmegaConf.select(cfg, "validation.min_cosine")
    if cosine is not None and not -1 <= cosine <= 1:
        raise RecipeError(f"validation.min_cosine: must be within [-1, 1], got {cosine}")
