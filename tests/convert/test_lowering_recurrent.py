"""nn.LSTM → UNIDIRECTIONAL_SEQUENCE_LSTM and nn.GRU → one WHILE loop, through convert → LiteRT.

Besides the numbers, the op histogram is the point: one sequence kernel per layer and
direction, and an op count that does not depend on the sequence length.
"""

import numpy as np
import pytest
import torch

import edgebatch
from model_zoo.examples import SequenceAndHidden
from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)


def _total(ops) -> int:
    return sum(n for name, n in ops.items() if name != "DELEGATE")


@pytest.mark.parametrize(
    "layers, bidirectional, batch_first",
    [(1, False, False), (2, False, True), (3, True, False), (2, True, True)],
)
def test_lstm_is_one_sequence_kernel_per_layer_and_direction(layers, bidirectional, batch_first):
    lstm = torch.nn.LSTM(6, 10, num_layers=layers, bidirectional=bidirectional,
                         batch_first=batch_first)
    x = torch.randn(2, 7, 6) if batch_first else torch.randn(7, 2, 6)
    ops = op_counts(assert_converts(SequenceAndHidden(lstm), (x,)))
    directions = 2 if bidirectional else 1
    assert ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == layers * directions
    assert "WHILE" not in ops and "LOGISTIC" not in ops
    kernels = layers * directions
    # per kernel: itself, 4 ops giving it fresh states, 1 slice reading h_n; per backward
    # kernel 2 reverses; per layer 1 concat of the directions; 1 stack of the h_n's
    assert _total(ops) <= kernels * 6 + (kernels - layers) * 2 + layers + 1, ops


def test_lstm_without_biases_is_a_sequence_kernel():
    lstm = torch.nn.LSTM(6, 10, bias=False)
    ops = op_counts(assert_converts(SequenceAndHidden(lstm), (torch.randn(7, 2, 6),)))
    assert ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1


def test_lstm_with_initial_states_runs_the_same_twice():
    lstm = torch.nn.LSTM(5, 8, num_layers=2, batch_first=True)

    def run(x, h0, c0):
        out, (h, _) = lstm(x, (h0, c0))
        return out, h

    args = (torch.randn(3, 6, 5), torch.randn(2, 3, 8), torch.randn(2, 3, 8))
    model = assert_converts(Fn(run), args)
    assert op_counts(model)["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2
    np.testing.assert_array_equal(model(*args)[0], model(*args)[0])


def test_lstm_default_state_does_not_carry_over_between_calls():
    # the kernel writes its final state into its state tensors; a constant zero state
    # would start the second call where the first ended
    lstm = torch.nn.LSTM(4, 6)
    x = torch.randn(9, 1, 4)
    model = edgebatch.convert(Fn(lambda x: lstm(x)[0]).eval(), (x,))
    first, second = model(x), model(x)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, lstm(x)[0].detach().numpy(), atol=1e-5, rtol=1e-5)


def test_lstm_cell_state_is_not_clipped():
    # g ≈ +1 for 14 steps, then −1: the cell state climbs to 14 and back down to 2.
    # Clipped at 10 (what TF's converter writes), it would end at −2 and h would flip sign.
    lstm = torch.nn.LSTM(1, 1)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor([[0.0], [0.0], [20.0], [0.0]]))
        lstm.weight_hh_l0.zero_()
        lstm.bias_ih_l0.copy_(torch.tensor([20.0, 20.0, 0.0, 20.0]))
        lstm.bias_hh_l0.zero_()
    x = torch.cat([torch.ones(14, 1, 1), -torch.ones(12, 1, 1)])
    assert_converts(Fn(lambda x: lstm(x)[0]), (x,))


def test_lstm_reading_the_cell_state_runs_as_a_loop():
    # the sequence kernel does not return its final cell state
    lstm = torch.nn.LSTM(6, 10, num_layers=2, bidirectional=True)
    def run(x):
        out, (h, c) = lstm(x)
        return out, h, c

    ops = op_counts(assert_converts(Fn(run), (torch.randn(7, 2, 6),)))
    assert ops["WHILE"] == 4 and "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops


def test_lstm_with_projection_and_without_biases():
    lstm = torch.nn.LSTM(6, 10, proj_size=4, bias=False, batch_first=True)
    assert_converts(SequenceAndHidden(lstm), (torch.randn(2, 7, 6),))


@pytest.mark.parametrize("layers, bidirectional, batch_first", [(1, False, False), (2, True, True)])
def test_gru_is_a_loop(layers, bidirectional, batch_first):
    gru = torch.nn.GRU(6, 10, num_layers=layers, bidirectional=bidirectional,
                       batch_first=batch_first)
    x = torch.randn(2, 7, 6) if batch_first else torch.randn(7, 2, 6)
    h0 = torch.randn(layers * (2 if bidirectional else 1), 2, 10)
    ops = op_counts(assert_converts(Fn(lambda x, h: gru(x, h)), (x, h0)))
    assert ops["WHILE"] == layers * (2 if bidirectional else 1)
    assert "LOGISTIC" not in ops  # the cell lives in the loop body, not in the main graph


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_dynamic_sequence_length(rnn_type):
    rnn = getattr(torch.nn, rnn_type)(5, 8, num_layers=2, batch_first=True).eval()
    module = SequenceAndHidden(rnn).eval()
    length = torch.export.Dim("length", min=2, max=256)
    model = edgebatch.convert(module, (torch.randn(2, 10, 5),), dynamic_shapes=({1: length},))
    for steps in (3, 10, 41):
        x = torch.randn(2, steps, 5)
        with torch.no_grad():
            expected = module(x)
        for actual, ref in zip(model(x), expected):
            np.testing.assert_allclose(actual, ref.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_op_count_does_not_grow_with_sequence_length(rnn_type):
    rnn = getattr(torch.nn, rnn_type)(5, 8, num_layers=2)
    short, long = (
        op_counts(edgebatch.convert(SequenceAndHidden(rnn).eval(), (torch.randn(n, 1, 5),)))
        for n in (4, 40)
    )
    assert short == long
