"""Compose recipes with Hydra's compose API, clearing Hydra's global state each time."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from edgebatch.recipe import PRIMARY_CONFIG, recipes_dir

RECIPES = recipes_dir()


def recipe_names() -> list[str]:
    return sorted(p.stem for p in (RECIPES / "recipe").glob("*.yaml"))


def model_options() -> list[str]:
    return sorted(
        str(p.relative_to(RECIPES / "model").with_suffix(""))
        for p in (RECIPES / "model").rglob("*.yaml")
    )


def compose_config(overrides: list[str], *, config_dir=RECIPES):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            return compose(PRIMARY_CONFIG, overrides=overrides)
    finally:
        GlobalHydra.instance().clear()
