"""Model zoo: offline, seeded, numerically meaningful models and their sample inputs."""

from model_zoo.errors import (
    DownloadRefusedError,
    FileContentError,
    InputsFileError,
    UnknownModelError,
    WeightsFileError,
    ZooError,
)
from model_zoo.examples import build_example
from model_zoo.init import make_numerically_meaningful, output_scale_ok
from model_zoo.inputs import load_inputs, make_input, make_inputs
from model_zoo.registry import build, list_entries
from model_zoo.torchaudio_zoo import build_torchaudio
from model_zoo.torchvision_zoo import build_torchvision
from model_zoo.weights import load_weights
from model_zoo.wrappers import (
    DetectionOut,
    FinalFlow,
    FixedExtraArgs,
    KwargsToPositional,
    SegmentationOut,
    SelectOutput,
)

__all__ = [
    "DetectionOut",
    "DownloadRefusedError",
    "FileContentError",
    "FinalFlow",
    "FixedExtraArgs",
    "InputsFileError",
    "KwargsToPositional",
    "SegmentationOut",
    "SelectOutput",
    "UnknownModelError",
    "WeightsFileError",
    "ZooError",
    "build",
    "build_example",
    "build_torchaudio",
    "build_torchvision",
    "list_entries",
    "load_inputs",
    "load_weights",
    "make_input",
    "make_inputs",
    "make_numerically_meaningful",
    "output_scale_ok",
]
