"""Sweeps on Hydra's launchers writing to a PostgreSQL registry, as on a cluster: the index
in PostgreSQL, the blobs under paths.root (on a real cluster, a mount every node shares);
and the Ray launcher, where its optional extra is installed."""

from __future__ import annotations

import pytest

from edgebatch.registry import Registry
from tests.cli.test_cli import FAST, edgebatch, results, sweep_dir

QUANTS = "quant=none,fp16,drq,weight_only_int8"


def assert_every_job_registered(root, postgres_url, n_jobs):
    jobs = results(root / "multirun")
    assert [r["status"] for r in jobs] == ["ok"] * n_jobs
    assert {r["config"]["registry"]["url"] for r in jobs} == {postgres_url}
    registry = Registry.open(root / "registry", url=postgres_url)
    names = {r["artifact"]["name"] for r in jobs}
    assert len(names) == n_jobs
    assert sorted(a.ref for a in registry.list()) == sorted(f"{name}@1" for name in names)
    assert all(registry.last_good(name).artifact_version == 1 for name in names)
    assert registry.verify().ok
    assert not (root / "registry" / "index.sqlite").exists()


@pytest.mark.postgres
def test_a_nightly_compares_with_a_baseline_in_postgresql(tmp_path, postgres_url):
    """One job: its put, its run record and the end-of-suite comparison all use the URL."""
    registry = Registry(tmp_path / "registry", url=postgres_url)
    seeded = registry.put("tiny_cnn", b"\x1c\x00\x00\x00TFL3seeded", recipe={}, tool_versions={},
                          metrics={"size_bytes": 1000, "num_ops": 3, "transposes": 0,
                                   "rel_error": 1e-7, "cosine": 1.0})
    registry.set_alias("tiny_cnn", seeded.version, "baseline")

    proc = edgebatch("+suite=nightly", "+recipe=tiny_cnn", f"registry.url='{postgres_url}'",
                     *FAST, root=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]  # the seeded baseline was much smaller
    assert "REGRESSED tiny_cnn" in proc.stdout
    assert [a.version for a in registry.list("tiny_cnn")] == [1, 2]
    assert registry.runs("tiny_cnn")[0].artifact_version == 2
    assert registry.aliases("tiny_cnn") == {"baseline": 1}
    assert not (tmp_path / "registry" / "index.sqlite").exists()


@pytest.mark.postgres
@pytest.mark.slow  # 36-74 s here: four conversions at once on two cores
@pytest.mark.timeout(900)
def test_a_submitit_sweep_registers_every_job_in_postgresql(tmp_path, postgres_url):
    proc = edgebatch("-m", "+recipe=tiny_cnn", QUANTS, "hydra/launcher=submitit_local",
                     f"registry.url='{postgres_url}'", *FAST, root=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (sweep_dir(tmp_path) / ".submitit").is_dir()
    assert_every_job_registered(tmp_path, postgres_url, 4)


@pytest.mark.postgres
@pytest.mark.slow  # 66-112 s here: eight conversions
@pytest.mark.timeout(1800)
def test_a_joblib_sweep_of_eight_jobs_on_four_workers_registers_every_job(
    tmp_path, postgres_url, monkeypatch
):
    monkeypatch.setenv("EDGEBATCH_REGISTRY_URL", postgres_url)  # the URL from the environment
    proc = edgebatch("-m", "+recipe=tiny_cnn", QUANTS, "layout=nchw,nhwc",
                     "hydra/launcher=joblib", "hydra.launcher.n_jobs=4", *FAST,
                     root=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=4" in proc.stderr
    assert_every_job_registered(tmp_path, postgres_url, 8)


@pytest.mark.postgres
@pytest.mark.slow  # ~45 s: starts a local Ray cluster
@pytest.mark.timeout(900)
def test_a_ray_sweep_of_two_jobs_registers_both_in_postgresql(tmp_path, postgres_url):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install 'edgebatch[ray]'")
    proc = edgebatch("-m", "+recipe=tiny_cnn", "quant=none,fp16", "hydra/launcher=ray",
                     "+hydra.launcher.ray.init.num_cpus=2", f"registry.url='{postgres_url}'",
                     *FAST, root=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_every_job_registered(tmp_path, postgres_url, 2)
