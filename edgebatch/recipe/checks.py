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
    "runner.pool.max_jobs": (1, True),
    "runner.pool.max_rss_mb": (0, False),
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
    _check_keep_float(cfg)
    if OmegaConf.select(cfg, "skip_unchanged") and not OmegaConf.select(cfg, "registry.enabled"):
        raise RecipeError("skip_unchanged: compares with the registry's runs, but "
                          "registry.enabled=false; enable the registry or drop skip_unchanged")
    cosine = OmegaConf.select(cfg, "validation.min_cosine")
    if cosine is not None and not -1 <= cosine <= 1:
        raise RecipeError(f"validation.min_cosine: must be within [-1, 1], got {cosine}")


def keep_float_spec(quant) -> list[str]:
    """quant.keep_float as a list of entries (None / "" -> [], "auto:2" -> ["auto:2"])."""
    spec = OmegaConf.select(quant, "keep_float") if isinstance(quant, DictConfig) else quant
    if spec is None or spec == "":
        return []
    if isinstance(spec, str):
        return [part.strip() for part in spec.split(",")]
    if OmegaConf.is_config(spec):
        spec = OmegaConf.to_container(spec)
    if not isinstance(spec, (list, tuple)):
        return [spec]  # a number or a mapping: parse_keep_float refuses it
    return list(spec)


def _check_keep_float(cfg: DictConfig) -> None:
    from edgebatch.quantize.keep_float import parse_keep_float

    quant = OmegaConf.select(cfg, "quant")
    spec = keep_float_spec(quant) if quant is not None else []
    if not spec:
        return
    try:
        parse_keep_float(spec)
    except ValueError as error:
        raise RecipeError(f"quant.{error}") from error
    preset = OmegaConf.select(cfg, "quant.preset")
    preset = getattr(preset, "value", preset)
    if preset != "int8":
        raise RecipeError("quant.keep_float: works with the int8 preset (quant=int8), not "
                          f"quant={OmegaConf.select(cfg, 'quant.name')}")
