"""Validation metrics, verdicts, output naming and degenerate references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from edgebatch.batch import validate as v
from edgebatch.errors import RecipeError, ValidationError


def test_metrics_of_a_known_difference():
    ref = [np.array([1.0, -2.0, 4.0])]
    got = [np.array([1.0, -2.0, 4.5])]
    m = v.output_metrics(ref, got)
    assert m["max_abs"] == pytest.approx(0.5)
    assert m["mean_abs"] == pytest.approx(0.5 / 3)
    assert m["rel_error"] == pytest.approx(0.5 / 4)
    assert m["rmse"] == pytest.approx(math.sqrt(0.25 / 3))
    expected_cos = np.dot([1, -2, 4], [1, -2, 4.5]) / (np.linalg.norm([1, -2, 4]) * np.linalg.norm([1, -2, 4.5]))
    assert m["cosine"] == pytest.approx(expected_cos)


@pytest.mark.parametrize(
    ("tol", "passed"),
    [(v.Tolerance(0.0, 0.2), True), (v.Tolerance(0.0, 0.1), False), (v.Tolerance(0.5, 0.0), True),
     (v.Tolerance(0.0, 0.2, min_cosine=0.99999), False)],
)
def test_verdict_is_relative_to_the_reference_magnitude(tol, passed):
    m = v.output_metrics([np.array([1.0, -2.0, 4.0])], [np.array([1.0, -2.0, 4.5])])
    assert v.passes(m, tol) is passed


def test_outputs_are_named_like_the_converter_names_them():
    t = torch.ones(2)
    assert list(v.reference_outputs(t)) == ["output_0"]
    assert list(v.reference_outputs((t, None, t))) == ["output_0", "output_1"]  # None dropped
    assert list(v.reference_outputs({"a": t, "b": t})) == ["a", "b"]
    assert list(v.converted_outputs((np.ones(2), np.ones(2)))) == ["output_0", "output_1"]
    assert list(v.converted_outputs({"b": np.ones(2)})) == ["b"]


def _compare(reference, candidate, n=2, **kwargs):
    inputs = [((torch.full((1, 4), float(i + 1)),), {}) for i in range(n)]
    fn = lambda module: (lambda *a, **k: v.reference_outputs(module(*a, **k)))  # noqa: E731
    return v.compare([("sig", fn(reference), fn(candidate))], [inputs],
                     v.Tolerance(0.0, 1e-4), **kwargs)


def test_compare_summarises_the_worst_output():
    summary = _compare(lambda x: (x * 2, x), lambda x: (x * 2, x * 1.01))
    assert summary["n_inputs"] == 2
    assert summary["outputs"]["output_0"]["passed"] and not summary["outputs"]["output_1"]["passed"]
    assert not summary["passed"]
    assert summary["rel_error"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("reference", "why"),
    [(lambda x: x * 1e-12, "constant or ~0"), (lambda x: torch.zeros(1, 4) + 3.0, "constant or ~0"),
     (lambda x: torch.arange(4.0), "the same for all"), (lambda x: x * float("nan"), "not finite")],
)
def test_degenerate_reference_is_a_recipe_failure(reference, why):
    with pytest.raises(RecipeError, match=why):
        _compare(reference, reference, min_std=1e-6)


def test_shape_mismatch_is_a_validation_error():
    with pytest.raises(ValidationError, match="shape"):
        _compare(lambda x: x, lambda x: x[:, :2])
