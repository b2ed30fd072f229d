"""torchvision models (classification, segmentation, video), offline and seeded."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from model_zoo.errors import DownloadRefusedError, UnknownModelError
from model_zoo.init import initialize, seeded
from model_zoo.inputs import make_input
from model_zoo.wrappers import SegmentationOut

_TASK_MODULES = {
    "classification": tvm,
    "segmentation": tvm.segmentation,
    "video": tvm.video,
}
_TASKS = {
    name: task for task, module in _TASK_MODULES.items() for name in tvm.list_models(module=module)
}

# Inputs are kept small: segmentation runs at 224 (not its 520 training size).
_IMAGE_SHAPE = (1, 3, 224, 224)
_CLIP_SHAPE = (1, 3, 8, 112, 112)
_SHAPE_OVERRIDES = {
    "inception_v3": (1, 3, 299, 299),
    "s3d": (1, 3, 16, 224, 224),  # its head pools a 2x7x7 window
    "mvit_v1_b": (1, 3, 16, 224, 224),  # fixed temporal and spatial size
    "mvit_v2_s": (1, 3, 16, 224, 224),
}
_CALIBRATION_BATCH = 4
_DOWNLOAD_KWARGS = ("weights_backbone", "pretrained", "pretrained_backbone")


def list_models() -> list[str]:
    """Names this zoo builds (torchvision's classification, segmentation and video models)."""
    return sorted(_TASKS)


def task_of(name: str) -> str:
    """'classification', 'segmentation' or 'video'."""
    try:
        return _TASKS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown torchvision model {name!r}; choose from "
            "model_zoo.torchvision_zoo.list_models() (detection, optical-flow and quantized "
            "models are not supported)"
        ) from None


def default_input_shape(name: str) -> tuple[int, ...]:
    """Shape of one sample input: 1x3x224x224 images, 1x3x8x112x112 clips, a few overrides."""
    if name in _SHAPE_OVERRIDES:
        return _SHAPE_OVERRIDES[name]
    return _CLIP_SHAPE if task_of(name) == "video" else _IMAGE_SHAPE


def sample_inputs(name: str, *, seed: int = 1234, batch: int = 1) -> tuple[torch.Tensor]:
    """One standard-normal input of the model's default shape (with `batch` samples)."""
    _, *rest = default_input_shape(name)
    return (make_input((batch, *rest), seed=seed),)


def build_torchvision(
    name: str,
    *,
    weights: object = None,
    weights_path: str | Path | None = None,
    seed: int = 0,
    meaningful: bool = True,
    num_classes: int | None = None,
    raw: bool = False,
    **kwargs,
) -> nn.Module:
    """Build a torchvision model in eval mode without touching the network.

    weights: must stay None (a weights enum or name would download); use `weights_path`,
        a local state_dict of the unwrapped model, instead.
    seed: seeds the random init; with no weights_path and `meaningful`, the model gets
        `make_numerically_meaningful` on seeded batches of its default input shape.
    raw: return segmentation models unwrapped (a dict with 'out'), not `SegmentationOut`.
    kwargs: passed to torchvision's builder (e.g. `aux_loss`, `dropout`).
    """
    task = task_of(name)
    _refuse_downloads(name, weights, kwargs)
    builder = tvm.get_model_builder(name)
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs["weights_backbone"] = None  # segmentation builders default to ImageNet backbones
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    model = seeded(builder, seed, weights=None, **kwargs)
    model = initialize(
        model,
        lambda s: sample_inputs(name, seed=s, batch=_CALIBRATION_BATCH),
        seed=seed,
        weights_path=weights_path,
        meaningful=meaningful,
    )
    if task == "segmentation" and not raw:
        model = SegmentationOut(model).eval()
    return model


def _refuse_downloads(name: str, weights, kwargs: dict) -> None:
    requested = {"weights": weights} | {k: kwargs[k] for k in _DOWNLOAD_KWARGS if k in kwargs}
    asked = {k: v for k, v in requested.items() if v not in (None, False)}
    if asked:
        raise DownloadRefusedError(
            f"{name}: {asked} would download weights, and the zoo never uses the network. "
            "Pass weights_path=<local state_dict .pt/.pth> instead."
        )
