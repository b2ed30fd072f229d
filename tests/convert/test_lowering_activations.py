"""Activation and softmax lowerings through the full convert → LiteRT path."""

import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
X = torch.randn(2, 4, 5) * 4


def activations(x):
    return (
        F.silu(x), F.hardswish(x), F.hardsigmoid(x), F.elu(x), F.elu(x, alpha=0.5), F.selu(x),
        F.celu(x, alpha=2.0), F.leaky_relu(x), F.leaky_relu(x, 0.2), F.rrelu(x),
        F.softplus(x), F.softplus(x, beta=2.0, threshold=3.0), F.mish(x), F.logsigmoid(x),
        F.glu(x, dim=1), F.prelu(x, torch.tensor([0.1, 0.2, 0.3, 0.4])),
        F.softsign(x), F.hardshrink(x, 0.5), F.threshold(x, 0.1, -1.0),
    )


def test_activations():
    assert_converts(Fn(activations), (X,))


def test_gelu():
    # On different inputs: TF's converter fuses GELU by pattern, and two GELUs of the
    # same tensor share subexpressions that break the pattern.
    def gelus(x, y):
        return F.gelu(x), F.gelu(y, approximate="tanh")

    model = assert_converts(Fn(gelus), (X, X.flip(0)))
    assert op_counts(model)["GELU"] == 2


def test_softmax_on_any_dim():
    def softmaxes(x):
        return tuple(
            f(x, dim) for dim in (-1, 0, 1) for f in (F.softmax, F.log_softmax, F.softmin)
        )

    assert_converts(Fn(softmaxes), (X,))


def test_safe_softmax_of_masked_attention():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    mask = torch.rand(5, 5) > 0.3
    mask[:, 0] = True  # no fully masked row
    assert_converts(Fn(F.scaled_dot_product_attention), (q, k, v, mask))
