"""Damaged .tflite files fail typed: edgebatch.load and a call never crash, hang or raise
anything but an EdgeBatchError.

Mutants of small converted models (byte flips, 4-byte words overwritten with boundary
and random values, truncations) run in child processes (tests/verify/load_fuzz_worker.py),
so a segfault shows as a signal and names its mutant; the worker is restarted after it.
"""

from __future__ import annotations

import collections
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import edgebatch

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240917
MAX_CALL_SECONDS = 10
WORKER_START_SECONDS = 120  # importing torch on a busy machine
WORKER_SILENCE_SECONDS = 30  # a mutant taking this long is a hang


@pytest.fixture(scope="module")
def models_dir(small_models, tmp_path_factory) -> Path:
    """model_<k>.tflite + model_<k>.json (signature and input shapes) for the worker."""
    directory = tmp_path_factory.mktemp("fuzz_models")
    for k, model in enumerate(small_models.values()):
        loaded = edgebatch.load(model.export(directory / f"model_{k}.tflite"))
        details = loaded._runner("serving_default").get_input_details()
        inputs = {name: [[int(d) for d in detail["shape"]], np.dtype(detail["dtype"]).name]
                  for name, detail in details.items()}
        loaded(**{name: np.zeros(shape, dtype) for name, (shape, dtype) in inputs.items()})
        spec = {"signature": "serving_default", "inputs": inputs}
        (directory / f"model_{k}.json").write_text(json.dumps(spec))
    return directory


def _start_worker(models_dir: Path, first: int, count: int, log):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.verify.load_fuzz_worker", str(models_dir), str(SEED),
         str(first), str(count)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
    )
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def run_mutants(models_dir: Path, count: int) -> list[dict]:
    """One record per mutant; a worker that dies or stalls is restarted after that mutant."""
    records: list[dict] = []
    log_path = models_dir / "worker.log"
    next_index = 0
    with open(log_path, "w") as log:
        while next_index < count:
            process, lines = _start_worker(models_dir, next_index, count, log)
            timeout = WORKER_START_SECONDS
            while True:
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:
                    process.kill()
                    process.wait()
                    records.append({"i": next_index, "outcome": "hang"})
                    next_index += 1
                    break
                if line is None:
                    code = process.wait()
                    if next_index < count:
                        log.flush()
                        records.append({"i": next_index, "outcome": "crash",
                                        "error": f"exit code {code}: "
                                                 + log_path.read_text()[-1500:]})
                        next_index += 1
                    break
                record = json.loads(line)
                records.append(record)
                next_index = record["i"] + 1
                timeout = WORKER_SILENCE_SECONDS
    return records


def summarize(records: list[dict]) -> dict:
    outcomes = collections.Counter(r["outcome"] for r in records)
    return {
        "mutants": len(records),
        "rejected by the verifier": outcomes["verifier"],
        "rejected by LiteRT at load": outcomes["load"],
        "failed typed at call": outcomes["call"],
        "ran": outcomes["ran"],
        "max seconds": max((r.get("seconds", 0.0) for r in records), default=0.0),
        "failures": [r for r in records if r["outcome"] in ("crash", "hang", "untyped")],
    }


def check_mutants(models_dir: Path, count: int) -> None:
    summary = summarize(run_mutants(models_dir, count))
    print({k: v for k, v in summary.items() if k != "failures"})
    assert not summary["failures"], summary["failures"][:5]
    assert summary["max seconds"] < MAX_CALL_SECONDS
    assert summary["mutants"] == count
    assert summary["rejected by the verifier"] and summary["ran"]


def test_damaged_models_fail_typed(models_dir):
    check_mutants(models_dir, 400)


@pytest.mark.slow
def test_damaged_models_fail_typed_at_scale(models_dir):
    check_mutants(models_dir, 20_000)
