"""Every recipe, model, quant and layout option composes against the schema; precedence
holds (groups < recipe < command line); bad fields fail at composition with their path."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ValidationError as OmegaValidationError

from edgebatch.batch.stages import resolved_config
from edgebatch.cli import config_error_line
from edgebatch.recipe import artifact_name, build
from edgebatch.recipe.schema import ModelConfig
from tests.recipe.compose import RECIPES, compose_config, model_options, recipe_names

ISSUE2_MODELS = [
    "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_1",
    "shufflenet_v2_x1_0", "convnext_tiny", "vit_b_16", "deeplabv3_mobilenet_v3_large",
]


@pytest.mark.parametrize("recipe", recipe_names())
def test_every_recipe_composes_resolves_and_plans(recipe):
    cfg = compose_config([f"+recipe={recipe}"])
    config = resolved_config(cfg)
    assert config["model"]["name"] and config["artifact_name"]
    plans = build.plan(cfg)  # imports every _target_, checks inputs and layout
    assert plans and all(p.inputs.get("args") or p.inputs.get("file") for p in plans)


def test_recipes_cover_the_zoo_list_audio_and_a_user_module():
    names = set(recipe_names())
    assert set(ISSUE2_MODELS) <= names
    assert {"resnet18_nhwc_drq", "wav2letter", "multi_signature", "tiny_cnn"} <= names
    cfg = compose_config(["+recipe=multi_signature"])
    assert len(cfg.signatures) >= 2
    assert any(sig.inputs is not None and sig.inputs.kwargs for sig in cfg.signatures.values())


def test_every_model_option_fits_the_schema():
    """Each model file merged onto ModelConfig (what composition does, without Hydra's
    overhead per file); a few also go through Hydra below."""
    for option in model_options():
        if option == "user":
            continue  # a template that recipes fill in
        node = OmegaConf.merge(OmegaConf.structured(ModelConfig),
                               OmegaConf.load(RECIPES / "model" / f"{option}.yaml"))
        assert node.builder._target_.startswith("model_zoo."), option
        assert node.inputs.args, f"{option} declares no sample inputs"


@pytest.mark.parametrize("option", ["torchvision/resnet18", "torchaudio/wav2letter",
                                    "examples/LSTMTagger", "torchvision/r3d_18"])
def test_model_options_compose_without_a_recipe(option):
    config = resolved_config(compose_config([f"model={option}"]))
    assert config["artifact_name"] == config["model"]["name"]


def test_one_model_file_per_zoo_entry_with_the_zoo_input_shapes():
    import model_zoo
    from model_zoo import examples, torchaudio_zoo, torchvision_zoo

    shapes = {"torchvision": torchvision_zoo.default_input_shape,
              "torchaudio": torchaudio_zoo.default_input_shape,
              "examples": lambda name: (1, *examples.EXAMPLES[name].input_specs[0]["shape"])}
    for entry in model_zoo.list_entries():
        zoo, name = entry.split("/")
        path = RECIPES / "model" / zoo / f"{name}.yaml"
        assert path.is_file(), f"no model file for zoo entry {entry}"
        node = OmegaConf.load(path)
        assert node.builder.name == name
        assert tuple(node.inputs.args[0].shape) == tuple(shapes[zoo](name)), entry


@pytest.mark.parametrize(
    ("quant", "layout"),
    [(q, "nchw") for q in ("none", "fp16", "drq", "int8", "weight_only_int8", "pt2e_dynamic",
                           "pt2e_static")] + [("none", "nhwc"), ("drq", "nhwc_io")],
)
def test_quant_and_layout_options_compose(quant, layout):
    config = resolved_config(compose_config(["+recipe=resnet18", f"quant={quant}", f"layout={layout}"]))
    assert config["quant"]["name"] == quant
    assert config["layout"]["name"] == layout
    assert config["artifact_name"] == artifact_name("resnet18", layout, quant)


def test_precedence_groups_then_recipe_then_command_line():
    cfg = compose_config(["+recipe=resnet18_nhwc_drq"])
    assert (cfg.quant.name, cfg.layout.name, cfg.artifact_name) == ("drq", "nhwc", "resnet18_nhwc_drq")
    cfg = compose_config(["+recipe=resnet18_nhwc_drq", "quant=fp16", "benchmark.runs=5",
                          "model.inputs.args.0.shape=[1,3,128,128]"])
    assert (cfg.quant.name, cfg.quant.preset.value) == ("fp16", "fp16")
    assert cfg.layout.name == "nhwc"  # the recipe's choice stays where not overridden
    assert cfg.benchmark.runs == 5
    assert list(cfg.model.inputs.args[0].shape) == [1, 3, 128, 128]
    assert cfg.artifact_name == "resnet18_nhwc_fp16"


def test_suites_switch_to_multirun_and_carry_thresholds():
    cfg = compose_config(["+recipe=tiny_cnn", "+suite=nightly"])
    assert cfg.suite.compare_baseline and cfg.suite.fail_on.value == "regression"
    assert cfg.suite.thresholds.size_rel > 0
    assert cfg.runner.isolation.value == "pool"  # measured faster (docs/batch.md)
    smoke = compose_config(["+recipe=tiny_cnn", "+suite=smoke"])
    assert smoke.suite.name == "smoke" and smoke.benchmark.runs <= 5


def test_paths_all_follow_the_root(tmp_path):
    config = resolved_config(compose_config(["+recipe=tiny_cnn", f"paths.root={tmp_path}"]))
    assert config["registry"]["root"] == f"{tmp_path}/registry"
    assert all(str(v).startswith(str(tmp_path)) for v in config["paths"].values())


@pytest.mark.parametrize(
    ("override", "key", "error"),
    [
        ("validation.rtl=0.1", "validation.rtl", ConfigAttributeError),
        ("benchmark.runs=many", "benchmark.runs", OmegaValidationError),
        ("quant.kind=presett", "quant.kind", OmegaValidationError),
        ("model.inputs.args.0.distribution=gaussian", "model.inputs.args[0].distribution",
         OmegaValidationError),
    ],
)
def test_bad_field_fails_at_composition_with_its_full_key(override, key, error):
    with pytest.raises(Exception) as info:
        compose_config(["+recipe=tiny_cnn", override])
    cause = info.value.__cause__
    assert isinstance(cause, error)
    assert cause.full_key == key
    line = config_error_line(info.value)
    assert line.startswith(f"{key}: ") and "\n" not in line


def test_bad_field_inside_a_recipe_file_names_file_and_key(tmp_path):
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "typo.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: examples/TinyCNN\n  - _self_\n"
        "validation:\n  rtool: 0.1\n"
    )
    with pytest.raises(Exception) as info:
        compose_config(["+recipe=typo", f"hydra.searchpath=[file://{tmp_path}]"])
    line = config_error_line(info.value)
    assert line.startswith("validation.rtool: Key 'rtool' not in 'ValidationConfig'")
    assert line.endswith("(in recipe/typo.yaml)") and "\n" not in line


def test_the_zoo_suite_runs_every_zoo_recipe_and_each_is_labelled():
    suite = OmegaConf.load(RECIPES / "suite" / "zoo.yaml")
    listed = [name.strip() for name in suite.hydra.sweeper.params["+recipe"].split(",")]
    files = sorted(f"zoo/{p.stem}" for p in (RECIPES / "recipe" / "zoo").glob("*.yaml"))
    assert sorted(listed) == files
    for name in files:
        labels = compose_config([f"+recipe={name}"]).labels
        assert set(labels) == {"task", "family"}, name
