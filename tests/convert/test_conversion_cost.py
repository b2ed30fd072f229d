"""What keeps a conversion cheap: weights handed to TensorFlow without a copy, TF's
converter without its SavedModel restore, and the per-stage cost in the model's report."""

from __future__ import annotations

import pytest
import torch

import edgebatch
from edgebatch._convert import tflite
from edgebatch._convert.export import export_module
from edgebatch._convert.passes.pipeline import run_pipeline
from edgebatch._convert.signature import output_names
from edgebatch._convert.tf_graph import WeightStore, lower_program
from edgebatch._imports import tensorflow
from model_zoo.examples import TinyCNN

tf = tensorflow()


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return TinyCNN().eval(), (torch.randn(1, 3, 32, 32),)


LARGE = WeightStore.CONSTANT_LIMIT + 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int8, torch.bool])
@pytest.mark.parametrize("size", [12, LARGE])
def test_a_weight_shares_the_torch_tensors_memory(dtype, size):
    weight = torch.zeros(size, dtype=dtype)
    value = WeightStore().weight("w", weight)
    assert isinstance(value, tf.Variable) == (size == LARGE)
    weight[7] = 1  # written after the TF value was made
    assert value.numpy()[7] == 1


def test_every_weight_is_a_variable_when_signatures_share_them():
    assert isinstance(WeightStore(shared=True).weight("w", torch.zeros(3)), tf.Variable)


def test_int64_and_float64_weights_are_stored_narrowed():
    store = WeightStore()
    assert store.weight("i", torch.arange(5, dtype=torch.int64)).dtype == tf.int32
    assert store.weight("f", torch.ones(LARGE, dtype=torch.float64)).dtype == tf.float32
    assert store.weight("empty", torch.zeros(0, 3)).shape == (0, 3)


def _lowered(module, args):
    program = export_module(module, args)
    run_pipeline(program)
    weights = WeightStore()
    return lower_program(program, "serving_default", ["x"], output_names(program), weights), weights


def test_the_converter_matches_tensorflows_own_path_byte_for_byte(cnn, monkeypatch):
    lowered, weights = _lowered(*cnn)
    stock = tf.lite.TFLiteConverter.from_concrete_functions([lowered.function], weights.trackable)
    stock.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    stock._experimental_use_buffer_offset = True
    expected = tflite.canonical_flatbuffer(stock.convert())

    from tensorflow.lite.python import lite

    def no_restore(*args, **kwargs):
        raise AssertionError("TF's converter restored the SavedModel's variables")

    monkeypatch.setattr(lite, "_load", no_restore)  # fails if TF renamed the hook we override
    ours = tflite.canonical_flatbuffer(
        tflite.convert_functions([lowered.function], weights.trackable))
    assert ours == expected


def test_the_report_has_each_stages_cost(cnn):
    model = edgebatch.convert(*cnn)
    stages = model.report["stages"]
    assert [s["stage"] for s in stages] == ["export", "passes", "lower", "tflite", "postprocess"]
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in stages)
    rounding = 0.0005 * len(stages)  # each stage's seconds are rounded to 1 ms
    assert sum(s["seconds"] for s in stages) <= model.report["conversion_seconds"] + rounding


def test_a_multi_signature_conversion_adds_up_each_stage(cnn):
    module, args = cnn
    model = (edgebatch.signature("a", module, args)
             .signature("b", module, (torch.randn(2, 3, 32, 32),)).convert())
    assert [s["stage"] for s in model.report["stages"]] == [
        "export", "passes", "lower", "tflite", "postprocess"]
