"""Warm workers (runner.isolation=pool): real `edgebatch` sweeps whose jobs share a worker
process, with the failure records of fresh children when a job crashes or hangs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import FAST, edgebatch
from tests.cli.test_isolation import RECIPE

POOL = ["runner.isolation=pool"]


HANG_TIMEOUT_S = 4  # the hang runs on a warm worker: the imports are not on its clock
HOARD_MEMORY_MB = 2500  # a worker holds about 1.4 GB with torch and TensorFlow loaded


def user_recipes(tmp_path: Path) -> str:
    """Recipes `segfaults`, `hangs` and `hoards` (tests.batch.modules) in a search-path dir,
    the last two with their own limits."""
    folder = tmp_path / "extra" / "recipe"
    folder.mkdir(parents=True)
    limits = {"hangs": f"timeout_s: {HANG_TIMEOUT_S}", "hoards": f"memory_mb: {HOARD_MEMORY_MB}"}
    for name, target in {"segfaults": "Segfaults", "hangs": "Hangs", "hoards": "Hoards"}.items():
        text = RECIPE.format(name=name, target=target)
        if name in limits:
            text += f"runner:\n  {limits[name]}\n"
        (folder / f"{name}.yaml").write_text(text)
    return f"hydra.searchpath=[file://{tmp_path / 'extra'}]"


def job_results(root: Path) -> list[dict]:
    """The sweep's results in job order, each with its job directory ("dir")."""
    (sweep,) = [p.parent for p in root.glob("multirun/*/*/multirun.yaml")]
    dirs = sorted(sweep.glob("*_*/result.json"), key=lambda p: int(p.parent.name.split("_")[0]))
    return [json.loads(p.read_text()) | {"dir": str(p.parent)} for p in dirs]


def test_warm_workers_keep_each_jobs_isolation_limits_and_bytes(tmp_path):
    """One sweep, three workers (each start costs the imports, so the cases share them):
    a crash in job 2 of 3, warm jobs on one worker with the bytes of a cold one, a hang
    stopped at its own timeout (imports not on its clock), a fresh worker after it, and a
    memory overrun on that one."""
    proc = edgebatch(
        "-m", "+recipe=tiny_cnn,segfaults,tiny_cnn,multi_signature,tiny_cnn,hangs,"
        "multi_signature,hoards", user_recipes(tmp_path), "registry.enabled=false", *POOL, *FAST,
        root=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    first, crash, cold, other, warm, hang, after, hoard = jobs = job_results(tmp_path)
    assert [r["status"] for r in jobs] == ["ok", "failed", "ok", "ok", "ok", "failed", "ok",
                                           "failed"]
    assert all(r["process"]["isolation"] == "pool" for r in jobs)
    pids = [r["process"]["worker_pid"] for r in jobs]
    assert [r["process"]["worker_job"] for r in jobs] == [1, 2, 1, 2, 3, 4, 1, 2]
    assert pids[0] == pids[1] != pids[2] == pids[3] == pids[4] == pids[5] != pids[6] == pids[7]

    # the crash is recorded as a fresh child's is; the jobs around it pass
    assert (crash["stage"], crash["error"]["class"]) == ("convert", "JobCrashError")
    assert crash["error"]["message"].startswith(
        "the job's process was killed by SIGSEGV (Segmentation fault) in stage 'convert'")
    assert crash["process"]["signal"] == "SIGSEGV"
    assert any("Segmentation fault" in line for line in crash["error"]["log_tail"])
    assert "segfaults: FAILED at convert: JobCrashError" in proc.stdout

    # each job's log holds that job's output only
    logs = [(Path(r["dir"]) / "job.log").read_text() for r in (first, crash, cold)]
    assert "[tiny_cnn] OK" in logs[0] and "segfaults" not in logs[0]
    assert "Segmentation fault" in logs[1] and "[tiny_cnn]" not in logs[1]
    assert "[tiny_cnn] OK" in logs[2] and "segfaults" not in logs[2]

    # warm: no imports on the job's clock, and the cold job's bytes
    assert warm["process"]["seconds"] < cold["process"]["seconds"] - 3
    tflite = [(Path(r["dir"]) / "model.tflite").read_bytes() for r in (first, cold, warm)]
    assert tflite[0] == tflite[1] == tflite[2]
    assert cold["model"] == warm["model"]
    assert (Path(other["dir"]) / "model.tflite").read_bytes() == (
        Path(after["dir"]) / "model.tflite").read_bytes()

    # the hang is stopped at its timeout, its worker killed; the next job gets a fresh one
    assert hang["error"]["class"] == "JobTimeoutError"
    assert hang["error"]["message"] == (
        f"the job ran past runner.timeout_s={HANG_TIMEOUT_S} s in stage '{hang['stage']}' "
        "and was stopped")
    assert hang["process"]["limit_hit"] == "timeout" and hang["process"]["signal"] == "SIGKILL"
    assert HANG_TIMEOUT_S <= hang["process"]["seconds"] < 15

    # the memory overrun likewise, with the job's peak (the worker's included)
    assert (hoard["stage"], hoard["error"]["class"]) == ("convert", "JobMemoryError")
    assert hoard["error"]["message"] == (
        f"the job's resident memory went past runner.memory_mb={HOARD_MEMORY_MB} MB in stage "
        "'convert' and it was stopped")
    assert hoard["process"]["limit_hit"] == "memory"
    assert HOARD_MEMORY_MB <= hoard["process"]["peak_rss_mb"] < 8000  # MB rounded to 0.1


@pytest.mark.slow  # ~30 s here: two workers' imports at once on two cores
def test_each_joblib_worker_keeps_its_own_warm_worker(tmp_path):
    proc = edgebatch("-m", "+recipe=tiny_cnn,multi_signature,tiny_cnn_nhwc_int8,tiny_cnn",
                     "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "registry.enabled=false",
                     *POOL, *FAST, root=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = job_results(tmp_path)
    assert [r["status"] for r in jobs] == ["ok"] * 4
    served: dict[int, list[int]] = {}
    for r in jobs:
        served.setdefault(r["process"]["worker_pid"], []).append(r["process"]["worker_job"])
    assert 1 <= len(served) <= 2  # one warm worker per joblib process, none per job
    assert sorted(n for numbers in served.values() for n in numbers) == sorted(
        n for numbers in served.values() for n in range(1, len(numbers) + 1))
    assert max(len(numbers) for numbers in served.values()) >= 2
