"""skip_unchanged=true on a real SQLite registry: a job whose job key equals its name's last
successful run is not run, and the suite's reports say so; a changed input runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from edgebatch.registry import Registry
from tests.cli.test_cli import FAST, edgebatch, results

SUITE = """# @package _global_
hydra:
  mode: MULTIRUN
  sweeper:
    params:
      +recipe: tiny_cnn
suite:
  name: tiny
  compare_baseline: true
  fail_on: regression
"""


def tiny_suite(tmp_path: Path) -> None:
    folder = tmp_path / "extra" / "suite"
    folder.mkdir(parents=True)
    (folder / "tiny.yaml").write_text(SUITE)


def run_suite(tmp_path: Path, sweep: str, *overrides: str):
    """Run the tiny suite into `sweep`: (process, its one result, its comparison, seconds)."""
    start = time.monotonic()
    proc = edgebatch("+suite=tiny", f"hydra.searchpath=[file://{tmp_path / 'extra'}]",
                     f"hydra.sweep.dir={tmp_path / sweep}", *FAST, *overrides, root=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = results(tmp_path / sweep)
    regression = json.loads((tmp_path / sweep / "regression.json").read_text())
    return proc, result, regression[0], time.monotonic() - start


def test_an_unchanged_job_is_not_run_and_a_changed_one_is(tmp_path):
    tiny_suite(tmp_path)
    _, first, _, first_s = run_suite(tmp_path, "first", "promote=true")
    assert first["status"] == "ok" and first["unchanged"] is None
    assert first["artifact"]["version"] == 1

    proc, second, comparison, second_s = run_suite(tmp_path, "second", "skip_unchanged=true")
    assert second["status"] == "ok" and second["job_key"] == first["job_key"]
    assert second["unchanged"] == {"run_id": first["run_id"], "version": 1,
                                   "finished_at": first["finished_at"]}
    assert second["artifact"]["sha256"] == first["artifact"]["sha256"]
    assert second["conversion"] is None and second["process"] is None  # nothing ran
    assert not (tmp_path / "second" / "0_tiny_cnn" / "job.log").exists()
    assert second_s < first_s
    assert (comparison["status"], comparison["not_run"]) == ("unchanged", True)
    assert "tiny_cnn: unchanged, not run: same job key as run" in proc.stdout
    assert "1 jobs: 1 ok, 0 failed (1 unchanged, not run)" in proc.stdout
    assert "unchanged (not run: as tiny_cnn@1)" in (tmp_path / "second" / "summary.md").read_text()
    assert "unchanged (not run)" in (tmp_path / "second" / "regression.md").read_text()
    # recorded again, so the next check finds it as the latest successful run
    assert Registry(tmp_path / "registry").last_good("tiny_cnn").run_id == second["run_id"]

    _, third, comparison, _ = run_suite(tmp_path, "third", "skip_unchanged=true",
                                        "quant.calibration.batches=2")
    assert third["job_key"] != first["job_key"] and third["unchanged"] is None
    assert third["conversion"] is not None and third["process"]["returncode"] == 0
    assert (comparison["status"], comparison["not_run"]) == ("unchanged", False)  # same bytes


def test_skip_unchanged_without_the_registry_is_a_config_error(tmp_path):
    proc = edgebatch("+recipe=tiny_cnn", "skip_unchanged=true", "registry.enabled=false",
                     root=tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "skip_unchanged: compares with the registry's runs, but registry.enabled=false" in (
        proc.stderr)
