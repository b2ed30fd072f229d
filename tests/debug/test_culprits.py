"""find_culprits: every independent failing part, each a small graph with a repro that fails
the same way."""

import ast
import subprocess
import sys

import pytest
import torch

import edgebatch
from edgebatch.errors import ExportError, UnsupportedOpError
from tests.debug.custom_ops import rare
from tests.debug.wrong_lowerings import gathers_out_of_range, negated, swap_lowering

aten = torch.ops.aten


class ThreeRareOps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 8)

    def forward(self, x):
        h = self.linear(x).relu()
        a = rare(h)
        b = rare(h * 2)
        return rare(a + b).sigmoid()


def ops(culprit) -> list:
    return [n.target for n in culprit.graph.nodes if n.op == "call_function"]


def run_program(code: str):
    """Run a printed program here (the custom op is registered in this process)."""
    with pytest.raises(Exception) as info:
        exec(compile(code, "<culprit>", "exec"), {"__name__": "__culprit__"})
    return info.value


def test_three_independent_unsupported_ops_give_three_culprits():
    torch.manual_seed(0)
    culprits = list(edgebatch.debug.find_culprits(ThreeRareOps().eval(), (torch.randn(2, 8),)))
    assert [ops(c) for c in culprits] == [[rare]] * 3
    assert len({c.source for c in culprits}) == 3  # three different lines of forward
    for culprit in culprits:
        assert culprit.kind == "unsupported" and culprit.op == "edgebatch_test.rare.default"
        assert isinstance(culprit.error, UnsupportedOpError)
        assert isinstance(culprit.graph_module, torch.fx.GraphModule)
        assert any(__file__ in trace for trace in culprit.stack_traces)
        assert "test_culprits.py" in culprit.source
        code = culprit.print_code(print_output=False)
        ast.parse(code)
        error = run_program(code)
        assert isinstance(error, UnsupportedOpError) and error.op == culprit.op


class UsesBessel(torch.nn.Module):
    def forward(self, x):
        y = torch.relu(x) + 1
        return torch.special.bessel_j0(y) * 2


def test_printed_program_is_standalone_and_fails_the_same_way(capsys):
    [culprit] = edgebatch.debug.find_culprits(UsesBessel(), (torch.randn(2, 3),))
    assert ops(culprit) == [aten.special_bessel_j0.default]
    assert culprit.print_code() is None
    printed = capsys.readouterr().out
    assert printed.strip() == culprit.code.strip()
    readable = culprit.print_readable(print_output=False)
    ast.parse(readable)
    assert "_args = (" in readable and "class CulpritGraphModule" in readable
    result = subprocess.run([sys.executable, "-c", culprit.code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert "UnsupportedOpError" in result.stderr and "special_bessel_j0" in result.stderr


def test_convertible_model_has_no_culprits():
    module = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval()
    assert list(edgebatch.debug.find_culprits(module, (torch.randn(1, 4),))) == []


def test_unexportable_model_raises_export_error():
    class Branchy(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(ExportError):
        list(edgebatch.debug.find_culprits(Branchy(), (torch.randn(3),)))


class ConvTanh(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = torch.tanh(self.conv(x))
        return torch.abs(y - 0.5) * 3


def test_runtime_errors_are_found_only_when_asked(monkeypatch):
    swap_lowering(monkeypatch, aten.abs.default, gathers_out_of_range)
    args = (torch.randn(1, 3, 8, 8),)
    assert list(edgebatch.debug.find_culprits(ConvTanh().eval(), args)) == []
    [culprit] = edgebatch.debug.find_culprits(ConvTanh().eval(), args, None, True)
    assert ops(culprit) == [aten.abs.default] and culprit.kind == "runtime"
    code = culprit.print_code(print_output=False)
    assert "_edge_model(*_args)" in code
    assert type(run_program(code)) is type(culprit.error)


def test_accuracy_culprits_on_request(monkeypatch):
    swap_lowering(monkeypatch, aten.tanh.default, negated)
    [culprit] = edgebatch.debug.find_culprits(ConvTanh().eval(), (torch.randn(1, 3, 8, 8),),
                                              accuracy=True, atol=1e-4, rtol=1e-4)
    assert ops(culprit) == [aten.tanh.default] and culprit.kind == "accuracy"
    assert isinstance(run_program(culprit.code), AssertionError)  # numpy's assert_allclose


class SubThenMul(torch.nn.Module):
    def forward(self, x, y):
        a = x - 1
        b = torch.sin(y)
        c = torch.cos(a) + b
        return torch.exp(c) * y


def test_search_shrinks_a_region_of_several_ops():
    """A failure that needs two ops together is shrunk to those two, not to single ops."""
    def needs_sub_and_mul(graph_module, inputs) -> bool:
        targets = {n.target for n in graph_module.graph.nodes}
        return {aten.sub.Tensor, aten.mul.Tensor} <= targets

    [region] = edgebatch.debug.search_model(needs_sub_and_mul, SubThenMul(),
                                            (torch.rand(5), torch.rand(5)))
    targets = [n.target for n in region.graph.nodes if n.op == "call_function"]
    assert sorted(map(str, targets)) == ["aten.mul.Tensor", "aten.sub.Tensor"]
    assert len(region.inputs) == 3  # x, y, and the value the cut-out ops between fed mul


def test_max_granularity_and_logging(capsys):
    culprits = list(edgebatch.debug.find_culprits(
        ThreeRareOps().eval(), (torch.randn(2, 8),), 2, enable_fx_minifier_logging=True))
    assert len(culprits) == 3
    assert "find_culprits: " in capsys.readouterr().err
