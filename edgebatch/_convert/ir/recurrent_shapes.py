"""Let torch.export trace nn.LSTM / nn.GRU as one node with a symbolic sequence length.

torch.export keeps `aten.lstm.input` whole in the graph, but computes its output
shapes by running torch's Python decomposition, which loops over the time steps and
so pins the sequence length to the sample's (a `dynamic_shapes` length fails with
"specialized to a constant"). For the time of the export, `shape_only_recurrent_ops`
puts a kernel in its place that only builds outputs of the right (symbolic) shapes;
torch.export itself overrides these kernels the same way while it decomposes.
Export runs on fake tensors, so the kernel never computes a real result; nor does
`nodes.fake_value`, which uses it to re-derive such a node's value in a pass.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch._dispatch.python import enable_python_dispatcher

aten = torch.ops.aten
_CIA = torch._C.DispatchKey.CompositeImplicitAutograd


def _sequence_output(input, hidden_state, bidirectional):
    features = hidden_state.shape[-1] * (2 if bidirectional else 1)
    return input.new_empty([*input.shape[:-1], features])


def _lstm_shapes(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                 batch_first):
    h0, c0 = hx
    return (
        _sequence_output(input, h0, bidirectional), h0.new_empty(h0.shape),
        c0.new_empty(c0.shape),
    )


def _gru_shapes(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                batch_first):
    return _sequence_output(input, hx, bidirectional), hx.new_empty(hx.shape)


SHAPE_KERNELS = {aten.lstm.input: _lstm_shapes, aten.gru.input: _gru_shapes}


@contextmanager
def shape_only_recurrent_ops():
    """Within the block, aten.lstm.input / aten.gru.input compute shapes, not values
    (under the Python dispatcher, which export enables and `fake_value` below turns on)."""
    saved = {op: dict(op.py_kernels) for op in SHAPE_KERNELS}
    try:
        for op, kernel in SHAPE_KERNELS.items():
            op.py_kernels.pop(_CIA, None)
            op.py_impl(_CIA)(kernel)
            op._dispatch_cache.clear()
        yield
    finally:
        for op, kernels in saved.items():
            op.py_kernels.clear()
            op.py_kernels.update(kernels)
            op._dispatch_cache.clear()


def recurrent_fake_value(fake_mode, target, args, kwargs):
    """A recurrent node's output FakeTensors, for shapes with a symbolic sequence length."""
    with fake_mode, torch.no_grad(), shape_only_recurrent_ops(), enable_python_dispatcher():
        return target(*args, **kwargs)
