"""Recipes: the Hydra config tree's schema, its location, and building jobs from it.

Importing this package is light (Hydra and OmegaConf only): it registers the schema
in Hydra's ConfigStore and the `eb.*` resolvers the YAML files use. Building modules
and inputs from a resolved config (torch) lives in `edgebatch.recipe.build`.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from edgebatch.recipe.schema import EdgeBatchConfig, register

ENV_RECIPES = "EDGEBATCH_RECIPES"
PRIMARY_CONFIG = "edgebatch"
DEFAULT_LAYOUT = "nchw"
DEFAULT_QUANT = "none"


def recipes_dir() -> Path:
    """The `recipes/` config tree: $EDGEBATCH_RECIPES, else the one shipped inside the
    package (edgebatch/recipes, package data)."""
    configured = os.environ.get(ENV_RECIPES)
    path = Path(configured) if configured else Path(__file__).resolve().parents[1] / "recipes"
    if not (path / f"{PRIMARY_CONFIG}.yaml").is_file():
        from edgebatch.errors import RecipeError

        raise RecipeError(
            f"no recipes/ config tree at {path} (expected {PRIMARY_CONFIG}.yaml there). "
            f"Reinstall edgebatch or set {ENV_RECIPES}."
        )
    return path


def artifact_name(name: str, layout: str, quant: str) -> str:
    """Registry name of a job: its base name plus the non-default layout and quantization,
    e.g. resnet18, resnet18_fp16, resnet18_nhwc_drq. It names the job's directory too, so
    anything but a plain name (a '/', a leading '.') is refused before a directory exists."""
    from edgebatch.errors import RecipeError
    from edgebatch.registry.refs import check_name

    try:
        check_name(str(name))
    except Exception as error:
        raise RecipeError(f"name: {error} (it names the job directory and the artifact)") from None
    parts = [name]
    parts += [layout] if layout != DEFAULT_LAYOUT else []
    parts += [quant] if quant != DEFAULT_QUANT else []
    return "_".join(parts)


def _register_resolvers() -> None:
    if not OmegaConf.has_resolver("eb.artifact_name"):
        OmegaConf.register_new_resolver("eb.artifact_name", artifact_name)


register()
_register_resolvers()

__all__ = ["EdgeBatchConfig", "artifact_name", "recipes_dir"]
