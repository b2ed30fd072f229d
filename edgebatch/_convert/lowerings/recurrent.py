"""nn.LSTM and nn.GRU, kept whole by export.py, as ops that do not grow with sequence length.

An LSTM layer (per direction) becomes TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM: TensorFlow's
converter fuses a function that carries keras' interface attributes (`api_implements`
"lstm_…", `time_major`) into that kernel, taking its six arguments (input, initial h,
initial c, kernel [in, 4H], recurrent kernel [H, 4H], bias [4H]) and replacing its body.
The kernel returns only the output sequence, so h_n is read off it; its final cell state
is lost, and a layer whose c_n the graph reads (or one with a projection) runs as a WHILE
loop instead. A GRU has no TFLite kernel: it always runs as a WHILE loop.

The loop form computes every step's input projection before the loop, as one matmul.
"""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
from tensorflow.compiler.tf2xla.python import xla  # noqa: E402  (after torch, see _imports)

aten = torch.ops.aten

# TF's converter recognises keras' LSTM by this name prefix (prepare_composite_functions).
_FUSED_LSTM_INTERFACE = "lstm_edgebatch"


def _time_axis(batch_first: bool) -> int:
    return 1 if batch_first else 0


def _to_time_major(x, batch_first: bool):
    return tf.transpose(x, [1, 0, 2]) if batch_first else x


def _input_projection(x, w_ih, b):
    """x @ w_ihᵀ + b for every step at once: [..., in] → [..., gates]."""
    y = tf.tensordot(x, w_ih, [[2], [1]])
    return y if b is None else y + b


def _scan(step, projected, h0, extra_state=()):
    """Run `step(projected_t, state) -> state` over time-major `projected`: the h sequence
    and the final state, as one TFLite WHILE op whatever the length.

    Each step writes its h into a preallocated output with DYNAMIC_UPDATE_SLICE; tf.scan's
    TensorArray would become concatenations that copy the whole output at every step.
    """
    steps = tf.shape(projected)[0]
    sequence = tf.zeros(tf.concat([[steps], tf.shape(h0)], 0), h0.dtype)

    def body(t, sequence, *state):
        state = step(projected[t], state)
        sequence = xla.dynamic_update_slice(sequence, state[0][None], tf.stack([t, 0, 0]))
        return (t + 1, sequence, *state)

    _, sequence, *final = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), sequence, h0, *extra_state)
    )
    return sequence, final


def _lstm_loop(x, h0, c0, w_ih, w_hh, bias, w_hr, batch_first):
    """The LSTM recurrence as a loop: (output sequence, h_n, c_n)."""
    projected = _to_time_major(_input_projection(x, w_ih, bias), batch_first)

    def step(p, state):
        h, c = state
        i, f, g, o = tf.split(p + tf.matmul(h, w_hh, transpose_b=True), 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        if w_hr is not None:
            h = tf.matmul(h, w_hr, transpose_b=True)
        return h, c

    sequence, (h_n, c_n) = _scan(step, projected, h0, (c0,))
    return _to_time_major(sequence, batch_first), h_n, c_n


def _fused_lstm(time_major: bool):
    """A function TF's converter replaces with one UNIDIRECTIONAL_SEQUENCE_LSTM.

    Its arguments and five results follow keras' `standard_lstm`, which the converter
    matches; the body is the same recurrence, used only if the fusion does not happen.
    """

    def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
        sequence, h_n, c_n = _lstm_loop(
            x, h0, c0, tf.transpose(kernel), tf.transpose(recurrent_kernel), bias, None,
            batch_first=not time_major,
        )
        return h_n, sequence, h_n, c_n, tf.constant(0.0)

    attributes = {"api_implements": _FUSED_LSTM_INTERFACE, "time_major": time_major}
    return tf.function(lstm, autograph=False, experimental_attributes=attributes)


def _fresh_state_anchor(x, batch_first: bool):
    """Zeros [batch, 1] computed from the input at run time, to add to initial states.

    The kernel keeps its state in its initial-state tensors and writes the final state
    back into them; a constant initial state (torch's default zeros) would therefore carry
    one call's final state into the next. A state that an op recomputes on every call
    starts each call afresh. It has to depend on x's values, or the converter folds it
    into a constant (as it does tf.zeros_like); x * 0 is NaN only where x is inf or NaN,
    and then torch's output is NaN too.
    """
    first_step = x[:, 0, :1] if batch_first else x[0, :, :1]
    return first_step * 0.0


def _lstm_kernel(x, h0, c0, w_ih, w_hh, bias, batch_first):
    """One direction as UNIDIRECTIONAL_SEQUENCE_LSTM: (output sequence, h_n)."""
    if bias is None:
        bias = tf.zeros([w_ih.shape[0]], x.dtype)
    # Plain tensors, not variables: a variable would reach the function as a resource
    # handle, which the fusion cannot read weights from. The transposes fold into the
    # constants when the converter lays the weights out for the kernel.
    h_n, sequence, *_ = _fused_lstm(time_major=not batch_first)(
        x, h0, c0, tf.transpose(w_ih), tf.transpose(w_hh), tf.identity(bias)
    )
    return sequence, h_n


def _run_layers(x, num_layers, bidirectional, batch_first, run_direction):
    """Stack layers and directions the way torch does; run_direction(x, layer, direction)
    → (sequence, *finals) gets the backward direction's input reversed in time. Returns the
    last layer's output and the finals stacked in torch's [layer * directions + direction]
    order."""
    axis = _time_axis(batch_first)
    finals = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(2 if bidirectional else 1):
            reverse = direction == 1
            seq_in = tf.reverse(x, [axis]) if reverse else x
            sequence, *layer_finals = run_direction(seq_in, layer, direction)
            outputs.append(tf.reverse(sequence, [axis]) if reverse else sequence)
            finals.append(layer_finals)
        x = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=2)
    return x, [tf.stack(list(column)) for column in zip(*finals)]


def _grouped(params, has_biases, num_layers, bidirectional):
    """torch's flat weight list → per layer and direction (w_ih, w_hh, b_ih, b_hh, w_hr)."""
    per = len(params) // (num_layers * (2 if bidirectional else 1))
    groups = [params[i:i + per] for i in range(0, len(params), per)]
    result = []
    for group in groups:
        w_ih, w_hh, *rest = group
        biases = rest[:2] if has_biases else [None, None]
        projection = rest[2:] if has_biases else rest
        result.append((w_ih, w_hh, *biases, projection[0] if projection else None))
    return result


# lstm.input(Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers,
#            float dropout, bool train, bool bidirectional, bool batch_first)
#            -> (Tensor, Tensor, Tensor)
@lower(aten.lstm.input)
def aten_lstm(ctx, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
              batch_first):
    # dropout applies only while training; the reliability check rejects training-mode graphs
    h0, c0 = hx
    weights = _grouped(params, has_biases, num_layers, bidirectional)
    directions = 2 if bidirectional else 1
    needs_cell_state = 2 in ctx.used_outputs

    def run_direction(x, layer, direction):
        index = layer * directions + direction
        w_ih, w_hh, b_ih, b_hh, w_hr = weights[index]
        bias = None if b_ih is None else b_ih + b_hh
        if needs_cell_state or w_hr is not None:
            return _lstm_loop(x, h0[index], c0[index], w_ih, w_hh, bias, w_hr, batch_first)
        # Every kernel needs state tensors of its own: the anchor comes from this
        # kernel's input (unlike equal constants, it is not merged with another layer's),
        # h adds it and c subtracts it (the same op twice would be merged into one tensor).
        fresh = _fresh_state_anchor(x, batch_first)
        return _lstm_kernel(
            x, h0[index] + fresh, c0[index] - fresh, w_ih, w_hh, bias, batch_first
        )

    output, finals = _run_layers(input, num_layers, bidirectional, batch_first, run_direction)
    h_n = finals[0]
    c_n = finals[1] if needs_cell_state else None
    return output, h_n, c_n


def _gru_loop(x, h0, w_ih, w_hh, b_ih, b_hh, batch_first):
    """torch's GRU recurrence (gates r, z, n) as a loop: (output sequence, h_n)."""
    projected = _to_time_major(_input_projection(x, w_ih, b_ih), batch_first)

    def step(p, state):
        (h,) = state
        recurrent = tf.matmul(h, w_hh, transpose_b=True)
        if b_hh is not None:
            recurrent = recurrent + b_hh
        p_r, p_z, p_n = tf.split(p, 3, axis=1)
        h_r, h_z, h_n = tf.split(recurrent, 3, axis=1)
        r = tf.sigmoid(p_r + h_r)
        z = tf.sigmoid(p_z + h_z)
        n = tf.tanh(p_n + r * h_n)
        return ((1 - z) * n + z * h,)

    sequence, (h_last,) = _scan(step, projected, h0)
    return _to_time_major(sequence, batch_first), h_last


# gru.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers,
#           float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)
@lower(aten.gru.input)
def aten_gru(ctx, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
             batch_first):
    weights = _grouped(params, has_biases, num_layers, bidirectional)
    directions = 2 if bidirectional else 1

    def run_direction(x, layer, direction):
        index = layer * directions + direction
        w_ih, w_hh, b_ih, b_hh, _ = weights[index]
        return _gru_loop(x, hx[index], w_ih, w_hh, b_ih, b_hh, batch_first)

    output, (h_n,) = _run_layers(input, num_layers, bidirectional, batch_first, run_direction)
    return output, h_n
