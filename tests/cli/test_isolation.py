"""Every job in its own process: a crash, a hang or an exception costs one row, not the run.

Real `edgebatch` subprocesses over a sweep of four user-module recipes — one segfaults in
forward, one never returns, one raises, one is fine — under the basic and joblib launchers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import FAST, edgebatch, results, sweep_dir

RECIPE = """# @package _global_
defaults:
  - override /model: user
  - _self_
model:
  name: {name}
  builder: {{_target_: tests.batch.modules.{target}}}
  inputs:
    args: [{{shape: [1, 8]}}]
"""
BROKEN = {"segfaults": "Segfaults", "hangs": "Hangs", "raises": "Raises"}
# The hanging recipe sets its own limit (recipes may): long enough to import torch on a
# loaded machine, short enough for the default suite. The others keep the default.
HANG_TIMEOUT_S = 15


def broken_recipes(tmp_path: Path) -> str:
    folder = tmp_path / "extra" / "recipe"
    folder.mkdir(parents=True)
    for name, target in BROKEN.items():
        (folder / f"{name}.yaml").write_text(RECIPE.format(name=name, target=target))
    with open(folder / "hangs.yaml", "a") as recipe:
        recipe.write(f"runner:\n  timeout_s: {HANG_TIMEOUT_S}\n")
    return f"hydra.searchpath=[file://{tmp_path / 'extra'}]"


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]],
                         ids=["basic", "joblib"])
def test_crash_hang_and_error_each_cost_one_job(tmp_path, launcher):
    proc = edgebatch("-m", "+recipe=segfaults,hangs,raises,tiny_cnn", broken_recipes(tmp_path),
                     *launcher, *FAST, root=tmp_path, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    jobs = {r["name"]: r for r in results(tmp_path / "multirun")}
    assert set(jobs) == {"segfaults", "hangs", "raises", "tiny_cnn"}
    assert jobs["tiny_cnn"]["status"] == "ok"

    crash = jobs["segfaults"]
    assert (crash["status"], crash["stage"], crash["error"]["class"]) == (
        "failed", "convert", "JobCrashError")
    assert crash["error"]["message"].startswith(
        "the job's process was killed by SIGSEGV (Segmentation fault) in stage 'convert'")
    assert crash["process"]["signal"] == "SIGSEGV"
    assert any("Segmentation fault" in line for line in crash["error"]["log_tail"])

    hang = jobs["hangs"]
    assert (hang["status"], hang["error"]["class"]) == ("failed", "JobTimeoutError")
    assert hang["error"]["message"] == (  # the stage: where a loaded machine had got to
        f"the job ran past runner.timeout_s={HANG_TIMEOUT_S} s in stage '{hang['stage']}' "
        "and was stopped")
    assert hang["process"]["limit_hit"] == "timeout"

    error = jobs["raises"]
    assert (error["status"], error["error"]["class"]) == ("failed", "ExportError")
    assert "broken on purpose" in error["error"]["message"]

    summary = proc.stdout
    assert "4 jobs: 1 ok, 3 failed" in summary
    assert "segfaults: FAILED at convert: JobCrashError" in summary
    assert "hangs: FAILED at " in summary and "JobTimeoutError" in summary
    sweep = sweep_dir(tmp_path)
    for name in BROKEN:  # the failure is in the sweep's report too
        assert name in (sweep / "summary.md").read_text()


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path):
    """Kill the whole sweep while its second job runs, then resume into the same sweep
    directory: the first job is kept, the second runs again, the summary covers both."""
    import json
    import os
    import signal
    import subprocess
    import time

    from tests.cli.test_cli import REPO, edgebatch_command

    sweep = tmp_path / "sweep"
    args = [*edgebatch_command(), "-m", "+recipe=tiny_cnn,multi_signature",
            f"hydra.sweep.dir={sweep}", f"paths.root={tmp_path}", *FAST]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("HYDRA_FULL_ERROR", None)
    first = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)

    def status(job: str) -> str | None:
        try:
            return json.loads(next(sweep.glob(f"{job}_*/result.json")).read_text())["status"]
        except (StopIteration, OSError, ValueError):
            return None

    deadline = time.monotonic() + 300
    while not (status("0") == "ok" and status("1") == "running"):
        assert first.poll() is None and time.monotonic() < deadline, "the sweep ended too early"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    kept = json.loads(next(sweep.glob("0_*/result.json")).read_text())

    proc = edgebatch("-m", "+recipe=tiny_cnn,multi_signature", "resume=true",
                     f"hydra.sweep.dir={sweep}", *FAST, root=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 jobs: 2 ok, 0 failed" in proc.stdout
    assert "[tiny_cnn] resumed: finished before (ok), not run again" in proc.stderr
    again = json.loads(next(sweep.glob("0_*/result.json")).read_text())
    assert again["started_at"] == kept["started_at"]  # not redone
    assert [r["status"] for r in results(sweep)] == ["ok", "ok"]
