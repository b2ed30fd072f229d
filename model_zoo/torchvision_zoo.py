"""torchvision models (classification, segmentation, video, detection, optical flow),
offline and seeded."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from model_zoo.errors import DownloadRefusedError, UnknownModelError
from model_zoo.init import initialize, seeded
from model_zoo.weights import load_weights
from model_zoo.inputs import make_input
from model_zoo.wrappers import DetectionOut, FinalFlow, SegmentationOut

_TASK_MODULES = {
    "classification": tvm,
    "segmentation": tvm.segmentation,
    "video": tvm.video,
    "detection": tvm.detection,
    "optical_flow": tvm.optical_flow,
}
_TASKS = {
    name: task for task, module in _TASK_MODULES.items() for name in tvm.list_models(module=module)
}

# Inputs are kept small: segmentation runs at 224 (not its 520 training size).
_IMAGE_SHAPE = (1, 3, 224, 224)
_CLIP_SHAPE = (1, 3, 8, 112, 112)
_DETECTION_SHAPE = (1, 3, 320, 320)
_FLOW_SHAPE = (1, 3, 128, 128)  # RAFT needs sides divisible by 8; two frames
_SHAPE_OVERRIDES = {
    "inception_v3": (1, 3, 299, 299),
    "s3d": (1, 3, 16, 224, 224),  # its head pools a 2x7x7 window
    "mvit_v1_b": (1, 3, 16, 224, 224),  # fixed temporal and spatial size
    "mvit_v2_s": (1, 3, 16, 224, 224),
}
_CALIBRATION_BATCH = 4
_DOWNLOAD_KWARGS = ("weights_backbone", "pretrained", "pretrained_backbone")


def list_models() -> list[str]:
    """Names this zoo builds: every torchvision model but the quantized ones."""
    return sorted(_TASKS)


def task_of(name: str) -> str:
    """'classification', 'segmentation' or 'video'."""
    try:
        return _TASKS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown torchvision model {name!r}; choose from "
            "model_zoo.torchvision_zoo.list_models() (quantized models are not supported)"
        ) from None


def default_input_shape(name: str) -> tuple[int, ...]:
    """Shape of one sample input: 1x3x224x224 images, 1x3x8x112x112 clips, 1x3x320x320
    detection images, 1x3x128x128 frames for optical flow (which takes two), overrides."""
    if name in _SHAPE_OVERRIDES:
        return _SHAPE_OVERRIDES[name]
    return {"video": _CLIP_SHAPE, "detection": _DETECTION_SHAPE,
            "optical_flow": _FLOW_SHAPE}.get(task_of(name), _IMAGE_SHAPE)


def sample_inputs(name: str, *, seed: int = 1234, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Standard-normal inputs of the model's default shape (with `batch` samples): one,
    or two consecutive frames for optical flow."""
    _, *rest = default_input_shape(name)
    count = 2 if task_of(name) == "optical_flow" else 1
    return tuple(make_input((batch, *rest), seed=seed + i) for i in range(count))


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
    raw: return models unwrapped: segmentation (a dict with 'out'), detection (takes a
        list of images, returns a list of dicts), optical flow (returns every refinement).
    kwargs: passed to torchvision's builder (e.g. `aux_loss`, `dropout`,
        `num_flow_updates` for RAFT's refinement iterations at run time).
    """
    task = task_of(name)
    _refuse_downloads(name, weights, kwargs)
    builder = tvm.get_model_builder(name)
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs["weights_backbone"] = None  # segmentation builders default to ImageNet backbones
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    flow_updates = kwargs.pop("num_flow_updates", None) if task == "optical_flow" else None
    model = seeded(builder, seed, weights=None, **kwargs)
    if weights_path is not None:
        load_weights(model, weights_path)
    # Detectors and RAFT are called through their wrapper, also while initialising.
    wrapped = {"detection": lambda: DetectionOut(model),
               "optical_flow": lambda: FinalFlow(model, flow_updates)}.get(task, lambda: model)()
    initialize(
        wrapped,
        lambda s: sample_inputs(name, seed=s, batch=_CALIBRATION_BATCH),
        seed=seed,
        meaningful=meaningful and weights_path is None,
    )
    if raw:
        return model.eval()
    return SegmentationOut(model).eval() if task == "segmentation" else wrapped.eval()


def _refuse_downloads(name: str, weights, kwargs: dict) -> None:
    requested = {"weights": weights} | {k: kwargs[k] for k in _DOWNLOAD_KWARGS if k in kwargs}
    asked = {k: v for k, v in requested.items() if v not in (None, False)}
    if asked:
        raise DownloadRefusedError(
            f"{name}: {asked} would download weights, and the zoo never uses the network. "
            "Pass weights_path=<local state_dict .pt/.pth> instead."
        )
