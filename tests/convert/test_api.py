"""The ai_edge_torch-compatible API: signatures, I/O naming and order, export/load, flags."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts


class ManyInOut(torch.nn.Module):
    """11 inputs, 12 outputs: output i depends on input i (and i-1) so a swap shows."""

    def forward(self, *xs):
        outs = [x * (i + 1) + (xs[i - 1] if i else 0) for i, x in enumerate(xs)]
        return (*outs, sum(xs))


def test_eleven_inputs_twelve_outputs_keep_their_order():
    xs = tuple(torch.full((2, 3), float(i)) + torch.randn(2, 3) for i in range(11))
    model = assert_converts(ManyInOut(), xs)
    io = model.signature_io()
    assert set(io["inputs"]) == {f"args_{i}" for i in range(11)}
    assert set(io["outputs"]) == {f"output_{i}" for i in range(12)}


class KwargsAndDict(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x, *, mask, scale):
        hidden = self.linear(x) * mask
        return {"logits": hidden * scale, "hidden": hidden}


def test_kwargs_inputs_and_dict_outputs():
    torch.manual_seed(0)
    module = KwargsAndDict().eval()
    x, mask, scale = torch.randn(2, 4), torch.ones(2, 3), torch.full((1,), 2.0)
    model = edgebatch.convert(module, (x,), {"mask": mask, "scale": scale})
    assert sorted(model.signature_io()["inputs"]) == ["args_0", "mask", "scale"]
    out = model(x, mask=mask, scale=scale)
    expected = module(x, mask=mask, scale=scale)
    assert set(out) == {"logits", "hidden"}
    for key in out:
        np.testing.assert_allclose(out[key], expected[key].detach().numpy(), atol=1e-5, rtol=1e-5)


def _encoder():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256)).eval()


def test_two_signatures_share_weights():
    module = _encoder()
    single = edgebatch.convert(module, (torch.randn(1, 256),))
    multi = (
        edgebatch.signature("batch1", module, (torch.randn(1, 256),))
        .signature("batch4", module, (torch.randn(4, 256),))
        .convert()
    )
    assert sorted(multi.signature_names()) == ["batch1", "batch4"]
    assert len(multi.flatbuffer) <= 1.1 * len(single.flatbuffer)
    x4 = torch.randn(4, 256)
    np.testing.assert_allclose(
        multi(x4, signature_name="batch4"), module(x4).detach().numpy(), atol=1e-5, rtol=1e-5
    )


def test_export_then_load_gives_the_same_outputs(tmp_path):
    module = _encoder()
    x = torch.randn(1, 256)
    model = edgebatch.convert(module, (x,))
    path = model.export(tmp_path / "enc.tflite")
    loaded = edgebatch.load(path)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_converter_flags_reach_the_converter():
    import tensorflow as tf

    module = _encoder()
    x = torch.randn(1, 256)
    plain = edgebatch.convert(module, (x,))
    optimized = edgebatch.convert(
        module, (x,), _ai_edge_converter_flags={"optimizations": [tf.lite.Optimize.DEFAULT]}
    )
    assert len(optimized.flatbuffer) < 0.35 * len(plain.flatbuffer)
    assert summarize(optimized.flatbuffer).int8_weights >= 2


def test_int64_stays_out_of_the_flatbuffer():
    class Embed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Parameter(torch.randn(10, 4))

        def forward(self, ids):
            return self.table[ids].sum(1), ids.argmax(-1)

    ids = torch.tensor([[1, 2, 9], [0, 5, 3]])
    model = assert_converts(Embed(), (ids,))
    summary = summarize(model.flatbuffer)
    assert "int64" not in summary.activation_dtypes and "int64" not in summary.weight_dtypes


def test_none_outputs_are_dropped():
    class FeaturesAndNone(torch.nn.Module):
        def forward(self, x):
            return x * 2, None

    x = torch.randn(3)
    out = edgebatch.convert(FeaturesAndNone(), (x,))(x)
    np.testing.assert_allclose(out, (x * 2).numpy())


def test_training_mode_warns():
    module = torch.nn.Linear(2, 2).train()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edgebatch.convert(module, (torch.randn(1, 2),))
    [warning] = [w for w in caught if "training mode" in str(w.message)]
    assert warning.filename == __file__


@pytest.mark.parametrize("first", ["tensorflow", "edgebatch"])
def test_import_order_guard(first):
    """In this stack, triton loaded after tensorflow segfaults; the package must guard it."""
    script = textwrap.dedent(f"""
        import {first}
        import tensorflow, edgebatch, torch
        m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
        x = torch.randn(1, 3, 8, 8)
        out = edgebatch.convert(m, (x,))(x)
        assert abs(out - m(x).detach().numpy()).max() < 1e-5
        print("converted")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "converted" in result.stdout


def test_tensorflow_loads_without_keras_and_tf_keras_still_works():
    # TF's __init__ would import all of Keras (+110 MB resident); edgebatch keeps it out
    script = textwrap.dedent("""
        import sys
        import edgebatch
        from edgebatch._imports import tensorflow
        tf = tensorflow()
        assert not any(m == "keras" or m.startswith("keras.") for m in sys.modules), "keras loaded"
        assert tf.keras.layers.Dense(2)(tf.ones((1, 3))).shape == (1, 2)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ok" in result.stdout
