"""Built-in ops by default; Flex only when the flags ask; converter errors are condensed."""

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch._convert.lowerings import lower
from edgebatch._imports import tensorflow
from edgebatch.errors import ConversionError
from edgebatch.flatbuffer_summary import summarize

tf = tensorflow()


@torch.library.custom_op("edgebatch_test::determinant", mutates_args=())
def determinant(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.det(x)


@determinant.register_fake
def _(x):
    return x.new_empty(x.shape[:-2])


@lower(torch.ops.edgebatch_test.determinant.default)
def edgebatch_test_determinant(ctx, x):
    return tf.linalg.det(x)  # TFLite has no built-in for this: only Flex runs it


class Det(torch.nn.Module):
    def forward(self, x):
        return torch.ops.edgebatch_test.determinant(x) * 2


def test_non_builtin_op_fails_with_a_condensed_message():
    with pytest.raises(ConversionError) as info:
        edgebatch.convert(Det().eval(), (torch.randn(2, 3, 3),))
    message = str(info.value)
    assert "MatrixDeterminant" in message
    assert len(message.splitlines()) <= 16
    assert "SELECT_TF_OPS" in message


def test_select_tf_ops_flag_enables_flex_and_says_so():
    flags = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]}}
    model = edgebatch.convert(Det().eval(), (torch.randn(2, 3, 3),), _ai_edge_converter_flags=flags)
    assert model.report["select_tf_ops"] is True
    assert summarize(model.flatbuffer).uses_flex
