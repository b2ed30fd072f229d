"""Element-wise lowerings through the full convert → LiteRT path."""

import math

import pytest
import torch

import edgebatch
from edgebatch.errors import LoweringError
from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

aten = torch.ops.aten
torch.manual_seed(0)
X = torch.randn(2, 3, 4)
# Divisors away from zero, of both signs, broadcasting against X.
Y = (torch.rand(3, 1) + 0.5) * torch.tensor([[1.0], [-1.0], [1.0]])
I = torch.randint(-20, 20, (2, 5))
J = torch.tensor([3, -4, 5, 7, -2])


def float_arithmetic(x, y):
    return (
        torch.add(x, y, alpha=2), torch.sub(x, y, alpha=0.5), x - 1.5, 3 - x, x * y, x * 2,
        x / y, x / 4, torch.div(x, y, rounding_mode="floor"),
        torch.div(x, y, rounding_mode="trunc"), x % y, torch.remainder(x, -1.5),
        torch.fmod(x, y), torch.fmod(x, 0.7), torch.maximum(x, y), torch.minimum(x, y),
        torch.atan2(x, y), torch.atan2(x, x.flip(0)), torch.hypot(x, y),
        # .Scalar overloads, which export only records when called directly
        aten.add.Scalar(x, 2.0), aten.sub.Scalar(x, 2.0), aten.mul.Scalar(x, 3.0),
        aten.div.Scalar(x, 4.0), aten.div.Scalar_mode(x, 0.3, rounding_mode="floor"),
    )


def integer_arithmetic(i, j):
    return (
        i + j, i - 3, i * j, i // j, i // 4, torch.div(i, j, rounding_mode="trunc"),
        i / j, i % j, i % -3, torch.fmod(i, j), i * 0.5, torch.maximum(i, j), -i, i.abs(),
        i.sign(), i ^ j, i ^ 6, ~i, i >> 2, i << 3, i.bitwise_right_shift(1),
        i.bitwise_left_shift(2), i ** 2, i.pow(3), torch.floor(i), i.round(), torch.remainder(7, j),
    )


def powers(x, y):
    p = x.abs() + 0.1
    return p ** 2, p ** 0.5, p ** -0.5, p ** -1, p ** 3, p ** 1, p ** 1.7, 2 ** x, p ** y


def comparisons_and_logic(x, y, i):
    a, b = x > 0, x.flip(0) < 0.5
    return (
        x == y, x != y, x < y, x <= 0.5, x <= y, x > y, x >= -0.2, x >= y, i == 3, i < 2.5,
        x.round() == i[0, :4], a & b, a | b, a ^ b, ~a, a & True, a | False, a ^ True,
        torch.logical_and(a, b), torch.logical_or(a, x), torch.logical_xor(a, b),
        torch.logical_not(x), torch.where(a, x, y), torch.where(a, x, 0.0),
        torch.where(b, 1, i[0, :4]), x.masked_fill(a, -1.0),
    )


UNARY_ANY = [
    torch.neg, torch.abs, torch.sign, torch.exp, torch.exp2, torch.expm1, torch.sin,
    torch.cos, torch.atan, torch.sinh, torch.cosh, torch.tanh, torch.asinh, torch.erf,
    torch.erfc, torch.sigmoid, torch.relu, torch.nn.functional.relu6, torch.floor, torch.ceil,
    torch.round, torch.trunc, torch.frac, torch.square, lambda x: x.round(decimals=2),
    lambda x: (x * 100).round(decimals=-1),
]
UNARY_POSITIVE = [
    torch.log, torch.log1p, torch.log2, torch.log10, torch.sqrt, torch.rsqrt,
    torch.reciprocal, lambda p: torch.acosh(p + 1),
]
UNARY_OPEN_UNIT = [torch.asin, torch.acos, torch.atanh, torch.tan, torch.logit]


def unary(x, p, u):
    return (
        *(f(x) for f in UNARY_ANY), *(f(p) for f in UNARY_POSITIVE),
        *(f(u) for f in UNARY_OPEN_UNIT),
    )


@pytest.mark.parametrize(
    "fn, args",
    [
        (float_arithmetic, (X, Y)),
        (integer_arithmetic, (I, J)),  # int64 inputs and outputs become int32
        (powers, (X, Y)),
        (comparisons_and_logic, (X, Y, torch.randint(-3, 4, (2, 4)))),
        (unary, (X * 2, torch.rand(3, 5) * 4 + 0.05, torch.rand(7) * 1.8 - 0.9)),
    ],
    ids=["float_arithmetic", "integer_arithmetic", "powers", "comparisons_and_logic", "unary"],
)
def test_elementwise(fn, args):
    assert_converts(Fn(fn), args)


def test_round_half_to_even_and_integer_valued_floats():
    def roundings(x):
        return x.round(), x.trunc(), x.floor(), x.ceil()

    assert_converts(Fn(roundings), (torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.0, -3.0]),))


def test_nan_and_infinity():
    # TF's converter stores an infinite constant as the largest float: comparisons
    # with ±inf must still tell the infinities apart.
    x = torch.tensor([1.0, math.nan, math.inf, -math.inf, -2.0, 3.4e38])
    y = torch.tensor([math.nan, 2.0, 1.0, math.nan, -3.0, 0.5])

    def special_values(x, y):
        comparisons = [torch.eq, torch.ne, torch.lt, torch.le, torch.gt, torch.ge]
        return (
            x.isnan(), x.isinf(), x.isfinite(), torch.nan_to_num(x, posinf=9.0),
            torch.fmax(x, y), torch.fmin(x, y),
            *(op(x, bound) for op in comparisons for bound in (math.inf, -math.inf)),
        )

    assert_converts(Fn(special_values), (x, y))


def test_clamp():
    lo, hi = torch.full((3, 1), -0.3), torch.rand(4) + 0.2

    def clamps(x, lo, hi):
        return (
            x.clamp(-0.5, 0.5), x.clamp(min=0.1), x.clamp(max=-0.1), x.clamp(lo, hi),
            x.clamp(min=lo), x.clamp(0, 6), torch.clamp_min(x, 0.2), torch.clamp_max(x, 0.2),
            torch.nn.functional.hardtanh(x, -0.4, 0.8), x.clamp(0.5, -0.5),
            (x * 10).long().clamp(-3, 4),
        )

    model = assert_converts(Fn(clamps), (X, lo, hi))
    assert op_counts(model)["RELU6"] == 1


def test_in_place_assignment_becomes_copy():
    def assign(x, row):
        y = x.clone()
        y[:, 1] = row
        y[0] = 5.0
        return y

    assert_converts(Fn(assign), (X, torch.randn(4)))


@pytest.mark.parametrize("op", [torch.bitwise_and, torch.bitwise_or])
def test_integer_bitwise_and_or_are_rejected(op):
    with pytest.raises(LoweringError, match="no TFLite built-in"):
        edgebatch.convert(Fn(op).eval(), (I, J))
