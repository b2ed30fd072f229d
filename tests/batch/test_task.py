"""Task accuracy on labelled data: the digits recipe end to end, and bad task data."""

from __future__ import annotations

import numpy as np
import pytest

from edgebatch.batch import task
from edgebatch.batch.job import run_job
from edgebatch.errors import RecipeError
from tests.recipe.compose import compose_config

FAST = ["validation.n_inputs=1", "benchmark.enabled=false", "registry.enabled=false"]


def run_digits(tmp_path, *overrides):
    cfg = compose_config(["+recipe=digits_cnn", f"paths.root={tmp_path}", *FAST, *overrides])
    return run_job(cfg, tmp_path / "job", recipe="digits_cnn").to_dict()


def test_digits_float_and_pt2e_static_report_test_set_accuracy(tmp_path):
    result = run_digits(tmp_path)
    assert result["status"] == "ok", result["error"]
    accuracy = result["task"]
    assert accuracy["metric"] == "top1" and accuracy["n_samples"] == 360
    assert accuracy["pytorch"] > 0.9  # a trained model, not chance (0.1)
    assert accuracy["tflite"] == accuracy["pytorch"]  # fp32: the same argmax on every sample
    assert result["validation"]["n_inputs"] == 3  # batch 1, then the dynamic batch at 3 and 8

    static = run_digits(tmp_path / "static", "quant=pt2e_static")
    assert static["status"] == "ok", static["error"]
    quantized = static["task"]
    assert quantized["pytorch"] == accuracy["pytorch"]  # scored against the float model
    assert quantized["pytorch_quantized"] is not None
    assert abs(quantized["tflite"] - quantized["pytorch"]) <= 0.02
    assert static["quantization"]["op_kinds"].startswith("int8")


def test_a_drop_beyond_max_drop_fails_validation(tmp_path):
    # A negative allowance cannot be met by any model: the job must fail, at the task stage.
    result = run_digits(tmp_path, "validation.task.max_drop=-0.5")
    assert result["status"] == "failed" and result["stage"] == "task"
    assert result["error"]["class"] == "ValidationError"
    assert "below PyTorch's" in result["error"]["message"]


def test_top1_counts_argmax_matches_in_batches():
    scores = np.eye(4)[[0, 1, 2, 3, 0]]
    labels = np.array([0, 1, 2, 0, 0])
    assert task.top1(lambda batch: batch, scores, labels, batch_size=2) == pytest.approx(0.8)


def test_labelled_npz_is_checked(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, inputs=np.zeros((3, 2), np.float32), labels=np.array([0, 1, 1]))
    inputs, labels = task.load_labelled({"file": str(good)})
    assert inputs.shape == (3, 2) and labels.dtype == np.int64
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(RecipeError, match="has no array 'inputs'"):
        task.load_labelled({"file": str(bad)})
    with pytest.raises(RecipeError, match="exactly one of"):
        task.load_labelled({"file": str(good), "dataset": {"_target_": "x.y"}})
    uneven = tmp_path / "uneven.npz"
    np.savez(uneven, inputs=np.zeros((3, 2)), labels=np.array([0, 1]))
    with pytest.raises(RecipeError, match="3 inputs and 2 labels"):
        task.load_labelled({"file": str(uneven)})
