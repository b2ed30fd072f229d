"""Matrix-product lowerings, alone and inside attention blocks, through convert → LiteRT."""

import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
A = torch.randn(3, 4, 5)
B = torch.randn(3, 5, 6)
V = torch.randn(5)


def products(a, b, v):
    m, n = a[0], b[0]
    return (
        m @ n, torch.mm(m, n), torch.bmm(a, b), a @ b, a @ n, m @ v, v @ n, v @ v,
        torch.addmm(n[0, :], m, n), torch.addmm(n[:4], m, n, beta=0.5, alpha=2.0),
        torch.addmm(n[:4], m, n, beta=0), torch.baddbmm(a @ b, a, b, alpha=0.5),
        torch.addbmm(m @ n, a, b), torch.addmv(m[:, 0], m, v, beta=2.0),
        torch.einsum("bij,bjk->bik", a, b), torch.einsum("i,j->ij", v, v), torch.outer(v, v),
        torch.dot(v, v), torch.mv(m, v), a[:, None] @ b[None, :],
    )


def linears(x, w, bias):
    return F.linear(x, w, bias), F.linear(x[0], w), F.linear(x[0, 0], w, bias), F.linear(x, w[:1])


def test_products():
    assert_converts(Fn(products), (A, B, V))


def test_linear_is_fully_connected():
    model = assert_converts(Fn(linears), (A, torch.randn(7, 5), torch.randn(7)))
    ops = op_counts(model)
    assert "FULLY_CONNECTED" in ops and "BATCH_MATMUL" not in ops


def test_cdist():
    def distances(a, b):
        return tuple(torch.cdist(a, b, p=p) for p in (2.0, 1.0, float("inf"), 3.0))

    assert_converts(Fn(distances), (A, torch.randn(3, 6, 5)))


def test_multihead_attention():
    torch.manual_seed(0)
    attention = torch.nn.MultiheadAttention(16, 4, batch_first=True)

    def attend(q, kv):
        return attention(q, kv, kv, need_weights=True)

    assert_converts(Fn(attend), (torch.randn(2, 5, 16), torch.randn(2, 7, 16)))


def test_transformer_encoder_layer():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dropout=0.0)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(6)

    def encode(x):
        return layer(x, src_mask=mask, is_causal=True)

    assert_converts(Fn(encode), (torch.randn(2, 6, 16),))


def test_scaled_dot_product_attention():
    q, k, v = torch.randn(3, 2, 4, 6, 8).unbind(0)

    def attend(q, k, v):
        return (
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            F.scaled_dot_product_attention(q, k, v, scale=0.5),
        )

    assert_converts(Fn(attend), (q, k, v))


def test_lstm_and_gru():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
    gru = torch.nn.GRU(8, 12, bidirectional=True)

    def recurrent(x):
        out, (h, c) = lstm(x)
        seq, hidden = gru(x.transpose(0, 1))
        return out, h, c, seq, hidden

    assert_converts(Fn(recurrent), (torch.randn(2, 5, 8),))
