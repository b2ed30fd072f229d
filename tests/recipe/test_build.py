"""Building modules, wrappers and seeded inputs from resolved recipes; RecipeError paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgebatch.errors import RecipeError
from edgebatch.recipe import build
from tests.recipe.compose import compose_config


def built(overrides, draws=build.InputDraws()):
    return build.build(build.plan(compose_config(overrides)), draws)


def test_single_signature_default_name_and_seeded_inputs():
    draws = build.InputDraws(validation_seeds=(1234, 0), calibration_seeds=(0, 1, 2))
    (sig,) = built(["+recipe=tiny_cnn"], draws)
    assert sig.name == build.DEFAULT_SIGNATURE
    assert sig.args[0].shape == (1, 3, 32, 32)
    (again, _), (other, _) = sig.validation_inputs
    assert torch.equal(again[0], sig.args[0])  # the sample input is seed inputs.seed
    assert not torch.equal(other[0], sig.args[0])
    assert len(sig.calibration_inputs) == 3
    assert torch.equal(sig.calibration_inputs[0][0][0], other[0])  # same seed, same input


def test_multi_signature_shares_one_module_and_applies_wrappers():
    sigs = {s.name: s for s in built(["+recipe=multi_signature"])}
    assert set(sigs) == {"with_scale", "mixed_only", "scale_positional"}
    assert set(sigs["with_scale"].kwargs) == {"scale"}
    inner = [m for m in sigs["mixed_only"].module.modules() if type(m).__name__ == "MultiInputOutput"]
    inner_b = [m for m in sigs["scale_positional"].module.modules()
               if type(m).__name__ == "MultiInputOutput"]
    assert inner[0] is inner_b[0] is sigs["with_scale"].module  # weights stored once
    with torch.no_grad():
        full = sigs["with_scale"].module(*sigs["with_scale"].args, **sigs["with_scale"].kwargs)
        mixed = sigs["mixed_only"].module(*sigs["mixed_only"].args)
        positional = sigs["scale_positional"].module(*sigs["scale_positional"].args)
    assert set(full) == {"mixed", "pooled", "max"}
    assert mixed.shape == full["mixed"].shape
    assert positional.shape == full["max"].shape


def test_inputs_from_file_replace_args(tmp_path):
    path = tmp_path / "inputs.npz"
    data = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.savez(path, data)
    (sig,) = built(["+recipe=tiny_cnn", f"model.inputs.file={path}"],
                   build.InputDraws(validation_seeds=(0, 1, 2)))
    np.testing.assert_array_equal(sig.args[0].numpy(), data)
    assert len(sig.validation_inputs) == 1  # the file holds one input set


def test_channels_last_inputs_are_permuted_like_the_sample():
    (sig,) = built(["+recipe=tiny_cnn"], build.InputDraws((5,), (6,)))
    sig.set_channels_last((0,))
    assert sig.args[0].shape == (1, 32, 32, 3)
    assert sig.validation_inputs[0][0][0].shape == (1, 32, 32, 3)
    assert sig.calibration_inputs[0][0][0].shape == (1, 32, 32, 3)


def test_weights_path_is_loaded(tmp_path):
    import model_zoo

    reference = model_zoo.build_example("TinyCNN", seed=7)
    path = tmp_path / "tiny.pt"
    torch.save(reference.state_dict(), path)
    (sig,) = built(["+recipe=tiny_cnn", f"model.weights_path={path}"])
    for name, value in reference.state_dict().items():
        assert torch.equal(sig.module.state_dict()[name], value), name


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        (["model.builder._target_=model_zoo.no_such_builder"], "model.builder._target_"),
        (["model.weights_path=/nonexistent/w.pt"], "model.weights_path"),
        (["model.inputs.file=/nonexistent/x.npz"], "model.inputs.file"),
        (["model.inputs.args=[]"], "model.inputs"),
        (["layout=nhwc", "layout.inputs=[3]"], "layout.inputs"),
        (["++signatures={a: {inputs: {args: []}}}"], "signatures.a.inputs"),
    ],
)
def test_plan_errors_name_the_config_path(overrides, path):
    with pytest.raises(RecipeError) as info:
        build.plan(compose_config(["+recipe=tiny_cnn", *overrides]))
    assert str(info.value).startswith(path), str(info.value)


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ("+model.builder.no_such_kwarg=1", "model.builder"),
        ("model.builder.name=NoSuchExample", "model.builder"),
    ],
)
def test_build_errors_name_the_config_path(override, path):
    with pytest.raises(RecipeError) as info:
        built(["+recipe=tiny_cnn", override])
    assert str(info.value).startswith(path), str(info.value)
