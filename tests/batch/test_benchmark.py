"""The latency benchmark, and the lock that keeps parallel jobs from timing at once."""

from __future__ import annotations

import fcntl

import pytest

import edgebatch
from edgebatch.batch.benchmark import benchmark, exclusive


def test_benchmark_reports_median_and_p90_per_thread_count():
    import model_zoo
    from model_zoo.examples import TinyCNN

    args = TinyCNN.sample_inputs()
    model = edgebatch.convert(model_zoo.build_example("TinyCNN"), args)
    stats = benchmark(model.flatbuffer, "serving_default", args, {}, threads=[1, 2], warmup=1, runs=3)
    assert set(stats["threads"]) == {"1", "2"}
    for entry in stats["threads"].values():
        assert entry["runs"] == 3 and 0 < entry["median_ms"] <= entry["p90_ms"]


def test_exclusive_holds_a_lock_others_cannot_take(tmp_path):
    lock = tmp_path / "root" / "benchmark.lock"
    with exclusive(lock):
        with open(lock, "a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards
    with exclusive(None):
        pass


def test_a_quantized_model_is_timed_against_its_float_model_and_warned_about_when_slower():
    import torch

    args = (torch.randn(1, 16, 32, 32),)
    light = edgebatch.convert(torch.nn.Conv2d(16, 16, 1).eval(), args)
    heavy = edgebatch.convert(torch.nn.Sequential(
        *[torch.nn.Conv2d(16, 16, 3, padding=1) for _ in range(12)]).eval(), args)
    stats = benchmark(heavy.flatbuffer, "serving_default", args, {}, threads=[1], warmup=1,
                      runs=5, float_flatbuffer=light.flatbuffer)
    entry = stats["threads"]["1"]
    assert entry["ratio_to_float"] == entry["median_ms"] / entry["float_median_ms"] > 1.02
    assert stats["warnings"] == [
        f"the quantized model takes {entry['ratio_to_float']:.2f}× the float model's time at 1 thread"]
    unwarned = benchmark(light.flatbuffer, "serving_default", args, {}, threads=[1], warmup=1,
                         runs=5, float_flatbuffer=heavy.flatbuffer)
    assert unwarned["warnings"] == []
