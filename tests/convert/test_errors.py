"""Bad input gets a clear, typed error."""

import pytest
import torch

import edgebatch
from edgebatch.errors import ExportError, ModelLoadError, UnsupportedOpError


class DataDependentBranch(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: not exportable
            return x * 2
        return x - 1


def test_unexportable_model_names_torch_export_reason():
    with pytest.raises(ExportError, match="torch.export could not capture DataDependentBranch"):
        edgebatch.convert(DataDependentBranch(), (torch.randn(3),), strict_export=False)


class UsesBessel(torch.nn.Module):
    def forward(self, x):
        return torch.special.bessel_j0(x) + 1


def test_unsupported_op_names_op_and_source_line():
    with pytest.raises(UnsupportedOpError) as info:
        edgebatch.convert(UsesBessel(), (torch.randn(3),))
    message = str(info.value)
    assert "special_bessel_j0" in message
    assert "test_errors.py" in message and "torch.special.bessel_j0(x)" in message
    assert "find_culprits" in message


def test_load_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="no such TFLite file"):
        edgebatch.load(tmp_path / "nope.tflite")


def test_load_non_tflite_file(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a flatbuffer")
    with pytest.raises(ModelLoadError, match="not a TFLite flatbuffer"):
        edgebatch.load(path)


def test_load_truncated_tflite_file(tmp_path):
    model = edgebatch.convert(torch.nn.Linear(8, 8).eval(), (torch.randn(1, 8),))
    path = tmp_path / "cut.tflite"
    path.write_bytes(model.flatbuffer[: len(model.flatbuffer) // 3])
    with pytest.raises(ModelLoadError):
        edgebatch.load(path)
