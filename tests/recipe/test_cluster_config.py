"""registry.url in the config (unset, from $EDGEBATCH_REGISTRY_URL, or on the command line),
and the site config of docs/batch.md ("Running on a cluster") composes as written."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from edgebatch.recipe import PRIMARY_CONFIG
from edgebatch.registry.cli import ENV_URL
from tests.recipe.compose import RECIPES, compose_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "batch.md"


def documented_site_config() -> str:
    """The YAML block of the section "Running on a cluster"."""
    section = DOCS.read_text().split("## Running on a cluster", 1)[1]
    return textwrap.dedent(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def test_registry_url_unset_then_from_the_environment_then_from_the_command_line(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    assert compose_config(["+recipe=tiny_cnn"]).registry.url is None

    monkeypatch.setenv(ENV_URL, "postgresql://edgebatch@db.example.org/edgebatch")
    config = compose_config(["+recipe=tiny_cnn"])
    assert config.registry.url == "postgresql://edgebatch@db.example.org/edgebatch"

    socket = "postgresql://edgebatch@/edgebatch?host=/run/postgresql"
    config = compose_config(["+recipe=tiny_cnn", f"registry.url='{socket}'"])
    assert config.registry.url == socket


def test_the_documented_site_config_composes(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "slurm.yaml").write_text(documented_site_config())
    overrides = ["+site=slurm", "+recipe=tiny_cnn", f"hydra.searchpath=[file://{tmp_path}]"]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(RECIPES), version_base="1.3"):
            config = compose(PRIMARY_CONFIG, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()

    assert config.registry.url == "postgresql://edgebatch@db.example.org/edgebatch"
    assert config.registry.root == "/shared/edgebatch/registry"
    assert config.benchmark.exclusive is False
    launcher = config.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.partition, launcher.timeout_min) == ("cpu", 90)
    assert launcher.setup == ["source /shared/edgebatch/venv/bin/activate"]
