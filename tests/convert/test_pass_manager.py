"""The pass contract: named passes, their results in the report, invariants after each one."""

import pytest
import torch
import torch.nn as nn

import edgebatch
from edgebatch._convert.export import export_module
from edgebatch._convert.passes import pipeline
from edgebatch._convert.passes.manager import (
    CHECK_ENV, GraphPass, PassError, PassResult, checks_enabled, run_passes,
)
from edgebatch._convert.program_state import add_constant

aten = torch.ops.aten


def _module():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 2)).eval()


def _program():
    return export_module(_module(), (torch.randn(1, 3, 6, 6),))


def _wrong_relu_shape(program):
    """A broken pass: says a node's value has a shape its op does not give."""
    relu = next(n for n in program.graph_module.graph.nodes if n.target is aten.relu.default)
    relu.meta["val"] = relu.meta["val"][:, :2]
    return PassResult(True)


def _misplaced_constant(program):
    """A broken pass: adds a constant placeholder behind the user input but its input spec
    before it, so placeholders and specs no longer pair up."""
    node = add_constant(program, "offset", torch.ones(1))
    last = [n for n in program.graph_module.graph.nodes if n.op == "placeholder"][-1]
    last.append(node)
    return PassResult(True)


def test_the_tests_check_every_pass():
    assert checks_enabled()  # tests/conftest.py sets EDGEBATCH_CHECK_PASSES=1


def test_checks_are_off_in_production_unless_asked(monkeypatch):
    monkeypatch.delenv(CHECK_ENV, raising=False)
    assert not checks_enabled()
    program = _program()
    run_passes(program, [GraphPass("wrong_relu_shape", _wrong_relu_shape)])  # not checked


def test_a_pass_that_breaks_an_invariant_is_named():
    program = _program()
    passes = [*pipeline.PIPELINE[:2], GraphPass("wrong_relu_shape", _wrong_relu_shape),
              *pipeline.PIPELINE[2:]]
    with pytest.raises(PassError, match="pass 'wrong_relu_shape' left a broken graph") as info:
        run_passes(program, passes, check=True)
    assert info.value.pass_name == "wrong_relu_shape"
    assert "relu" in str(info.value)  # and the node it broke


def test_a_pass_that_binds_a_constant_to_the_wrong_input_is_named():
    program = _program()
    with pytest.raises(PassError, match="pass 'misplaced_constant'.*placeholder"):
        run_passes(program, [GraphPass("misplaced_constant", _misplaced_constant)],
                   check=True)


def test_convert_names_a_broken_pass_injected_into_the_pipeline(monkeypatch):
    broken = GraphPass("wrong_relu_shape", _wrong_relu_shape)
    monkeypatch.setattr(pipeline, "PIPELINE", (*pipeline.PIPELINE, broken))
    with pytest.raises(PassError, match="pass 'wrong_relu_shape'"):
        edgebatch.convert(_module(), (torch.randn(1, 3, 6, 6),))


def test_a_pass_whose_precondition_fails_is_named():
    program = _program()
    layout = next(p for p in pipeline.PIPELINE if p.name == "layout")
    run_passes(program, [layout])
    with pytest.raises(PassError, match="pass 'layout' cannot run: .*conv_cl"):
        run_passes(program, [layout])


def test_the_report_holds_each_pass_result_in_order():
    model = edgebatch.convert(_module(), (torch.randn(1, 3, 6, 6),))
    records = model.report["passes"]["serving_default"]
    assert [r["name"] for r in records] == [p.name for p in pipeline.PIPELINE]
    layout = next(r for r in records if r["name"] == "layout")
    assert layout["changed"] and layout["stats"]["transposes"] == 1  # the NCHW input
    assert all(r["seconds"] >= 0 for r in records)
