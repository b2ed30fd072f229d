"""Every quantization mode on one small CNN: what ends up in the flatbuffer, and how close
it stays to float PyTorch. Plus QuantConfig's contract and the quantization report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.flatbuffer_summary import summarize
from edgebatch.quantize import presets
from edgebatch.quantize.quant_config import QuantConfig
from edgebatch.quantize.report import classify_ops, error_metrics, quantization_report, run_tflite
from tests.quantize.helpers import CNN_SHAPE, pt2e, seeded_batches, small_cnn

tf = presets.tf


@pytest.fixture(scope="module")
def cnn():
    return small_cnn()


@pytest.fixture(scope="module")
def float_model(cnn):
    return edgebatch.convert(cnn, seeded_batches(CNN_SHAPE, 1)[0])


def _cosine_vs_float(model, module) -> float:
    ref, out = [], []
    for args in seeded_batches(CNN_SHAPE, 3, seed=11):
        with torch.no_grad():
            ref.append(module(*args).numpy())
        out.append(run_tflite(model, args)[0])
    return error_metrics(ref, out)["cosine"]


def _kinds(model) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for info in classify_ops(model.flatbuffer):
        table.setdefault(info.op, set()).add(info.kind)
    return table


def test_fp16_halves_the_weights(cnn, float_model):
    model = edgebatch.convert(cnn, seeded_batches(CNN_SHAPE, 1)[0],
                              quant_config=QuantConfig(preset="fp16"))
    summary = summarize(model.flatbuffer)
    assert "float16" in summary.weight_dtypes and "float32" not in summary.weight_dtypes
    assert summary.size_bytes < 0.75 * summarize(float_model.flatbuffer).size_bytes
    assert _cosine_vs_float(model, cnn) > 0.9999


def test_drq_and_the_seed_flag_route_give_hybrid_kernels(cnn, float_model):
    args = seeded_batches(CNN_SHAPE, 1)[0]
    drq = edgebatch.convert(cnn, args, quant_config=QuantConfig(preset="drq"))
    seed = edgebatch.convert(
        cnn, args, _ai_edge_converter_flags={"optimizations": [tf.lite.Optimize.DEFAULT]}
    )
    float_size = summarize(float_model.flatbuffer).size_bytes
    for model in (drq, seed):
        summary = summarize(model.flatbuffer)
        assert summary.int8_weights >= 2 and summary.size_bytes < 0.75 * float_size
        assert _kinds(model)["FULLY_CONNECTED"] == {"hybrid"}
        assert summary.ops_on_constants == []
        assert _cosine_vs_float(model, cnn) > 0.99


@pytest.mark.parametrize("int8_io", [False, True])
def test_int8_preset_is_full_integer(cnn, int8_io):
    calibration = seeded_batches(CNN_SHAPE, 8, seed=100)
    model = edgebatch.convert(
        cnn, calibration[0],
        quant_config=QuantConfig(preset="int8", calibration_data=calibration, int8_io=int8_io),
    )
    table = _kinds(model)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"):
        assert table[op] == {"int8"}, (op, table)
    runner = model._runner("serving_default")
    (input_detail,) = runner.get_input_details().values()
    assert input_detail["dtype"] == (np.int8 if int8_io else np.float32)
    assert set(runner.get_input_details()) == {"args_0"}  # names survive int8 I/O
    assert set(runner.get_output_details()) == {"output_0"}
    assert summarize(model.flatbuffer).ops_on_constants == []
    assert _cosine_vs_float(model, cnn) > 0.98


def test_int8_preset_takes_a_representative_dataset_generator(cnn):
    def dataset():
        for (x,) in seeded_batches(CNN_SHAPE, 4, seed=100):
            yield "serving_default", {"args_0": x.numpy()}

    model = edgebatch.convert(cnn, seeded_batches(CNN_SHAPE, 1)[0],
                              quant_config=QuantConfig.from_preset("int8",
                                                                   representative_dataset=dataset))
    assert _kinds(model)["CONV_2D"] == {"int8"}


def test_weight_only_int8_keeps_float_kernels(cnn, float_model):
    model = edgebatch.convert(cnn, seeded_batches(CNN_SHAPE, 1)[0],
                              quant_config=QuantConfig(preset="weight_only_int8"))
    summary = summarize(model.flatbuffer)
    assert summary.int8_weights >= 2
    assert summary.size_bytes < 0.75 * summarize(float_model.flatbuffer).size_bytes
    table = _kinds(model)
    assert table["FULLY_CONNECTED"] == {"float"}
    assert table["DEQUANTIZE"] == {"weight_dequantize"}  # once, at load time
    assert _cosine_vs_float(model, cnn) > 0.999


def test_pt2e_modes_end_to_end(cnn, float_model):
    calibration = seeded_batches(CNN_SHAPE, 8, seed=100)
    float_size = summarize(float_model.flatbuffer).size_bytes
    for dynamic in (False, True):
        quantized, quantizer = pt2e(cnn, calibration[0], dynamic=dynamic,
                                    calibration=calibration[: 1 if dynamic else 8])
        config = QuantConfig(pt2e_quantizer=quantizer)
        assert config.pt2e_mode == ("dynamic" if dynamic else "static")
        model = edgebatch.convert(quantized, calibration[0], quant_config=config)
        summary = summarize(model.flatbuffer)
        assert summary.int8_weights >= 2 and summary.size_bytes < 0.7 * float_size
        assert summary.ops_on_constants == []
        assert _cosine_vs_float(model, cnn) > 0.98
        report = quantization_report(model, seeded_batches(CNN_SHAPE, 2, seed=11),
                                     float_module=cnn, quantized_module=quantized,
                                     float_size_bytes=float_size, mode=config.name)
        assert report.quantized_vs_tflite["cosine"] > 0.99  # conversion adds little
        assert report.float_vs_quantized["cosine"] > 0.98
        kind = "hybrid" if dynamic else "int8"
        assert report.ops_by_kind["FULLY_CONNECTED"] == {kind: 1}


def test_report_separates_quantization_from_conversion(cnn, float_model):
    calibration = seeded_batches(CNN_SHAPE, 4, seed=100)
    quantized, quantizer = pt2e(cnn, calibration[0], calibration=calibration)
    model = edgebatch.convert(quantized, calibration[0],
                              quant_config=QuantConfig(pt2e_quantizer=quantizer))
    report = quantization_report(model, seeded_batches(CNN_SHAPE, 2, seed=3), float_module=cnn,
                                 quantized_module=quantized,
                                 float_size_bytes=len(float_model.flatbuffer), mode="pt2e_static")
    data = report.as_dict()
    assert data["size_ratio"] < 0.7 and data["int8_weights"] >= 4  # tiny model: mostly overhead
    assert data["op_kinds"]["int8"] >= 5 and data["op_kinds"]["quantize"] == 1
    for key in ("float_vs_tflite", "float_vs_quantized", "quantized_vs_tflite"):
        assert set(data[key]) == {"max_abs", "mean_abs", "rel_error", "rmse", "cosine", "snr_db",
                                  "max_ref"}  # edgebatch.metrics, as validation reports them
    # conversion error is well below quantization error
    assert data["quantized_vs_tflite"]["snr_db"] > data["float_vs_quantized"]["snr_db"]
    text = report.to_markdown()
    assert "quantized PyTorch vs TFLite (conversion)" in text and "| CONV_2D |" in text


def test_error_metrics():
    ref = [np.array([1.0, 2.0, 3.0])]
    metrics = error_metrics(ref, [np.array([1.0, 2.0, 3.5])])
    assert metrics["max_abs"] == pytest.approx(0.5)
    assert metrics["snr_db"] == pytest.approx(10 * np.log10(14 / 0.25))
    assert error_metrics(ref, ref)["snr_db"] == float("inf")


def test_quant_config_contract():
    with pytest.raises(ValueError, match="unknown quantization preset"):
        QuantConfig(preset="int4")
    with pytest.raises(ValueError, match="pt2e_quantizer"):
        QuantConfig()
    with pytest.raises(ValueError, match="calibration_data"):
        QuantConfig(preset="int8").converter_flags({})
    flags = QuantConfig(preset="fp16").converter_flags(
        {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    )
    # the user's flags win, nested dicts merge
    assert flags["target_spec"] == {"supported_types": [tf.float16],
                                    "supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    assert QuantConfig(preset="drq").converter_flags({}) == {
        "optimizations": [tf.lite.Optimize.DEFAULT]
    }
    static = QuantConfig(mode="static").converter_flags({})
    assert static["_experimental_qdq_conversion_mode"] == "STATIC"
    assert "_experimental_qdq_conversion_mode" not in QuantConfig(mode="dynamic").converter_flags({})
    assert QuantConfig(preset="drq").name == "drq" and QuantConfig(mode="dynamic").name == "pt2e_dynamic"


def test_pt2e_static_with_int8_io(cnn):
    calibration = seeded_batches(CNN_SHAPE, 4, seed=100)
    quantized, quantizer = pt2e(cnn, calibration[0], calibration=calibration)
    model = edgebatch.convert(quantized, calibration[0],
                              quant_config=QuantConfig(pt2e_quantizer=quantizer, int8_io=True))
    runner = model._runner("serving_default")
    (detail,) = runner.get_input_details().values()
    assert detail["dtype"] == np.int8
    (q_input,) = [n for n in quantized.graph.nodes
                  if n.target == torch.ops.quantized_decomposed.quantize_per_tensor.default
                  and n.args[0].op == "placeholder"]
    assert detail["quantization"][0] == pytest.approx(q_input.args[1])  # PT2E's input scale
    assert detail["quantization"][1] == q_input.args[2]
    x = seeded_batches(CNN_SHAPE, 1, seed=9)[0]
    with torch.no_grad():
        expected = quantized(*x).numpy()
    (out_detail,) = runner.get_output_details().values()
    np.testing.assert_allclose(run_tflite(model, x)[0], expected,
                               atol=2 * out_detail["quantization"][0])
