"""The converted model: a TFLite flatbuffer with a LiteRT interpreter behind `__call__`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgebatch._convert.signature import DEFAULT_SIGNATURE_NAME, input_names_and_values
from edgebatch.errors import ModelLoadError

_OUTPUT_INDEX = re.compile(r"^output_(\d+)$")
_TFLITE_IDENTIFIER = b"TFL3"


def _interpreter_class():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class TfLiteModel:
    """A converted (or loaded) model. Call it like the PyTorch module it came from."""

    def __init__(self, flatbuffer: bytes, *, num_threads: int | None = None):
        self._flatbuffer = bytes(flatbuffer)
        self._num_threads = num_threads
        self._interpreter = None
        self._runners: dict[str, Any] = {}
        self.report: dict = {}

    @property
    def flatbuffer(self) -> bytes:
        return self._flatbuffer

    def tflite_model(self) -> bytes:
        return self._flatbuffer

    def _get_interpreter(self):
        if self._interpreter is None:
            try:
                self._interpreter = _interpreter_class()(
                    model_content=self._flatbuffer, num_threads=self._num_threads
                )
            except Exception as exc:
                raise ModelLoadError(f"LiteRT could not load the model: {exc}") from exc
        return self._interpreter

    def signature_names(self) -> list[str]:
        return list(self._get_interpreter().get_signature_list())

    def signature_io(self, signature_name: str = DEFAULT_SIGNATURE_NAME) -> dict[str, list[str]]:
        signatures = self._get_interpreter().get_signature_list()
        if signature_name not in signatures:
            raise KeyError(
                f"no signature '{signature_name}'; the model has {sorted(signatures)}"
            )
        return signatures[signature_name]

    def _runner(self, signature_name: str):
        if signature_name not in self._runners:
            self.signature_io(signature_name)
            self._runners[signature_name] = self._get_interpreter().get_signature_runner(
                signature_name
            )
        return self._runners[signature_name]

    def __call__(self, *args, signature_name: str = DEFAULT_SIGNATURE_NAME, **kwargs):
        runner = self._runner(signature_name)
        details = runner.get_input_details()
        feeds = {}
        for name, value in input_names_and_values(args, kwargs):
            if name not in details:
                raise TypeError(
                    f"signature '{signature_name}' has no input '{name}'; "
                    f"its inputs are {sorted(details)}"
                )
            feeds[name] = _as_numpy(value).astype(details[name]["dtype"], copy=False)
        missing = set(details) - set(feeds)
        if missing:
            raise TypeError(f"missing inputs for signature '{signature_name}': {sorted(missing)}")
        outputs = runner(**feeds)
        return _arrange_outputs(outputs)

    def export(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(self._flatbuffer)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TfLiteModel":
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"no such TFLite file: {path}")
        data = path.read_bytes()
        if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
            raise ModelLoadError(
                f"{path} is not a TFLite flatbuffer (missing the 'TFL3' identifier)"
            )
        model = cls(data)
        model._get_interpreter()  # fail now, typed, on a corrupt file
        return model


def _arrange_outputs(outputs: dict[str, np.ndarray]):
    indexed = {int(m.group(1)): v for k, v in outputs.items() if (m := _OUTPUT_INDEX.match(k))}
    if len(indexed) == len(outputs):
        ordered = [indexed[i] for i in sorted(indexed)]
        return ordered[0] if len(ordered) == 1 else tuple(ordered)
    return dict(outputs)


def load(path: str | os.PathLike) -> TfLiteModel:
    """Load any `.tflite` file as a callable model."""
    return TfLiteModel.load(path)
