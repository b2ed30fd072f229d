"""The command-line tools start without torch or TensorFlow: they load only when a job runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "tensorflow", "ai_edge_litert.interpreter")


def modules_loaded_by(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", ["edgebatch", "edgebatch.cli", "edgebatch.registry.cli"])
def test_importing_a_command_line_module_loads_no_torch_or_tensorflow(module):
    assert modules_loaded_by(f"import {module}") == []


def test_the_help_and_a_plan_load_no_torch_or_tensorflow():
    code = ("import sys\nfrom edgebatch.cli import main\n"
            "for argv in (['--help'], ['+recipe=tiny_cnn', '--cfg', 'job']):\n"
            "    sys.argv = ['edgebatch', *argv]\n"
            "    try:\n        main()\n    except SystemExit:\n        pass")
    assert modules_loaded_by(code) == []


def test_dry_run_lists_a_suites_jobs_without_torch(tmp_path):
    code = ("import sys\nfrom edgebatch.cli import main\n"
            f"sys.argv = ['edgebatch', '--dry-run', '+suite=smoke', 'paths.root={tmp_path}']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code in (0, None)")
    assert modules_loaded_by(code) == []
    result = subprocess.run([sys.executable, "-m", "edgebatch.cli", "--dry-run", "+suite=smoke",
                             "quant=none,fp16", f"paths.root={tmp_path}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:4] for line in result.stdout.splitlines()]
    assert rows[0] == ["#", "JOB", "QUANT", "LAYOUT"]
    assert ["1", "tiny_cnn_fp16", "fp16", "nchw"] in rows
    assert ["5", "tiny_cnn_nhwc_fp16", "fp16", "nhwc"] in rows  # the recipe set nhwc, the sweep fp16
    assert rows[-1] == ["6", "job(s);", "nothing", "was"]
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing ran, nothing written


def test_a_public_name_still_loads_torch_first():
    assert modules_loaded_by("import edgebatch\nedgebatch.convert") == ["torch", "tensorflow"]
