"""Recipes with dynamic dims: checks at plan time, export shapes, resized validation draws."""

from __future__ import annotations

import pytest
import torch
from omegaconf import open_dict

from edgebatch.errors import RecipeError
from edgebatch.recipe import build
from edgebatch.recipe.schema import DimConfig
from tests.recipe.compose import compose_config

DIGITS = ["+recipe=digits_cnn"]


def test_digits_recipe_exports_a_dynamic_batch_and_validates_three_sizes():
    (sig,) = build.build(build.plan(compose_config(DIGITS)), build.InputDraws((0, 1)))
    assert sig.args[0].shape == (1, 1, 8, 8)  # benchmark and report keep the recipe's sample
    assert sig.export_sample[0].shape == (2, 1, 8, 8)  # torch.export specializes size 1
    (dims,) = sig.dynamic_shapes
    assert list(dims) == [0] and dims[0].__name__ == "batch"
    batches = [args[0].shape[0] for args, _ in sig.validation_inputs]
    assert batches == [1, 1, 3, 8]  # n_inputs seeded draws, then dims.batch.validate


def test_inputs_sharing_a_dim_name_resize_together():
    cfg = compose_config(["+recipe=all_minilm_l6_v2"])
    inputs = build.plan(cfg)[0].inputs
    draws = build._draw_resized(inputs, first_seed=5, path="model.inputs")
    shapes = [tuple(tuple(a.shape) for a in args) for args, _ in draws]
    assert shapes == [((3, 16), (3, 16)), ((8, 16), (8, 16)), ((1, 7), (1, 7)), ((1, 48), (1, 48))]
    ids, mask = build._export_sample(inputs, "model.inputs")
    assert ids.shape == mask.shape == (2, 16) and ids.dtype == torch.int32


def test_channels_last_moves_a_dynamic_spatial_dim():
    cfg = compose_config([*DIGITS, "+model.inputs.args.0.dynamic.2=height"])
    with open_dict(cfg):
        cfg.model.inputs.dims["height"] = DimConfig(min=4, max=32)
    (sig,) = build.build(build.plan(cfg))
    sig.set_channels_last((0,))
    assert sorted(sig.dynamic_shapes[0]) == [0, 1]  # N, H of N x H x W x C
    assert sig.export_sample[0].shape == (2, 8, 8, 1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+model.inputs.args.0.dynamic.0=nope"], "model.inputs.args.0.dynamic.0: no dim 'nope'"),
        (["+model.inputs.args.0.dynamic.7=batch"], "model.inputs.args.0.dynamic.7: input 0 has 4"),
        (["+model.inputs.args.0.dynamic.x=batch"], "model.inputs.args.0.dynamic.x: a dynamic dim"),
        (["model.inputs.dims.batch.min=2"], "model.inputs.dims.batch: the sample's size 1 is outside"),
        (["model.inputs.dims.batch.validate=[1000]"], "model.inputs.dims.batch: validate size 1000"),
        (["model.inputs.dims.batch.max=1"], "model.inputs.dims.batch: max 1 leaves nothing"),
        (["model.inputs.validation_data=7"], "model.inputs.validation_data: expected a mapping"),
        (["model.inputs.calibration_data={_target_: model_zoo.nope}"],
         "model.inputs.calibration_data._target_: cannot import"),
    ],
)
def test_plan_names_the_bad_dynamic_field(overrides, message):
    with pytest.raises(RecipeError) as info:
        build.plan(compose_config([*DIGITS, *overrides]))
    assert str(info.value).startswith(message), str(info.value)
