"""The converted model: a TFLite flatbuffer with a LiteRT interpreter behind `__call__`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from edgebatch._convert.signature import DEFAULT_SIGNATURE_NAME
from edgebatch.call_inputs import signature_feeds
from edgebatch.errors import InferenceError, ModelLoadError, UnknownSignatureError
from edgebatch.verify import prepare_without_delegates, verify_model

_OUTPUT_INDEX = re.compile(r"^output_(\d+)$")


def _interpreter_class():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def _message(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


class TfLiteModel:
    """A converted (or loaded) model. Call it like the PyTorch module it came from."""

    def __init__(self, flatbuffer: bytes, *, num_threads: int | None = None):
        self._flatbuffer = bytes(flatbuffer)
        self._num_threads = num_threads
        self._interpreter = None
        self._interpreter_builder = None
        self._runners: dict[str, Any] = {}
        self.report: dict = {}

    @property
    def flatbuffer(self) -> bytes:
        return self._flatbuffer

    def tflite_model(self) -> bytes:
        return self._flatbuffer

    model_content = tflite_model  # litert_torch's name

    def set_interpreter_builder(self, builder) -> None:
        """Run the model with `builder()`'s interpreter (e.g. one with delegates)."""
        self._interpreter_builder = builder
        self._interpreter, self._runners = None, {}

    def use_interpreter_runtime(self) -> "TfLiteModel":
        return self  # the LiteRT Interpreter is the only runtime here

    def use_compiled_runtime(self, *args, **kwargs) -> "TfLiteModel":
        raise NotImplementedError(
            "edgebatch runs models with the LiteRT Interpreter; for LiteRT's CompiledModel "
            "use ai_edge_litert.compiled_model.CompiledModel.from_buffer(model.model_content())"
        )

    def _get_interpreter(self):
        if self._interpreter is None:
            try:
                interpreter = self._interpreter_builder() if self._interpreter_builder else \
                    _interpreter_class()(model_content=self._flatbuffer,
                                         num_threads=self._num_threads)
                interpreter.allocate_tensors()
            except Exception as exc:  # LiteRT raises ValueError, RuntimeError, ...
                raise ModelLoadError(
                    f"LiteRT could not load the model: {_message(exc)}. The model is damaged, "
                    "or needs ops or schema features this LiteRT version lacks."
                ) from exc
            self._interpreter = interpreter
        return self._interpreter

    def signature_names(self) -> list[str]:
        return list(self._get_interpreter().get_signature_list())

    def default_signature(self) -> str:
        """`serving_default`, or the model's only signature; else UnknownSignatureError."""
        names = self.signature_names()
        if DEFAULT_SIGNATURE_NAME in names:
            return DEFAULT_SIGNATURE_NAME
        if len(names) == 1:
            return names[0]
        raise UnknownSignatureError(
            f"the model has no '{DEFAULT_SIGNATURE_NAME}' signature but {sorted(names)}; "
            "pass signature_name= one of them"
        )

    def signature_io(self, signature_name: str | None = None) -> dict[str, list[str]]:
        signature_name = signature_name or self.default_signature()
        signatures = self._get_interpreter().get_signature_list()
        if signature_name not in signatures:
            raise UnknownSignatureError(
                f"no signature '{signature_name}'; the model has {sorted(signatures)}"
            )
        return signatures[signature_name]

    def _runner(self, signature_name: str):
        if signature_name not in self._runners:
            self.signature_io(signature_name)
            try:
                runner = self._get_interpreter().get_signature_runner(signature_name)
            except Exception as exc:
                raise ModelLoadError(
                    f"LiteRT could not set up signature '{signature_name}': {_message(exc)}"
                ) from exc
            self._runners[signature_name] = runner
        return self._runners[signature_name]

    def _prepare(self) -> None:
        """Set up the interpreter and every signature now, so a bad model fails typed."""
        interpreter = self._get_interpreter()
        try:
            names = list(interpreter.get_signature_list())
        except Exception as exc:
            raise ModelLoadError(f"LiteRT could not read the signatures: {_message(exc)}") from exc
        for name in names:
            self._runner(name)

    def __call__(self, *args, signature_name: str | None = None, **kwargs):
        signature_name = signature_name or self.default_signature()
        runner = self._runner(signature_name)
        feeds = signature_feeds(signature_name, runner.get_input_details(), args, kwargs)
        try:
            outputs = _run_signature(runner, feeds)
        except Exception as exc:  # the inputs passed the checks: the model is at fault
            raise InferenceError(
                f"LiteRT failed to run signature '{signature_name}': {_message(exc)}. "
                "The inputs match the signature; if the model came from edgebatch.convert, "
                "edgebatch.debug.find_culprits(module, args) finds the op that fails."
            ) from exc
        return _arrange_outputs(outputs)

    def xnnpack_partitions(self) -> int:
        """How many parts of the graph XNNPACK takes, as this machine's LiteRT delegates
        them: 1 is the fast case; each extra one is a round trip through LiteRT's kernels."""
        details = self._get_interpreter()._get_ops_details()
        return sum(op["op_name"] == "DELEGATE" for op in details)

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
        verify_model(data, str(path))  # LiteRT would crash on some damaged files
        prepare_without_delegates(data, str(path))
        model = cls(data)
        model._prepare()
        return model


def _run_signature(runner, feeds: dict) -> dict[str, np.ndarray]:
    """runner(**feeds), but an output without elements comes back as an empty array.

    LiteRT's SignatureRunner reads every output with GetTensor, which rejects a tensor
    with no data ("Invalid tensor size"); such an output needs only its shape and dtype.
    """
    details = runner.get_output_details()
    if all(0 not in d["shape_signature"] for d in details.values()):
        return runner(**feeds)
    # The runner's own steps, minus reading the empty outputs.
    wrapper, subgraph = runner._interpreter_wrapper, runner._subgraph_index
    inputs = runner.get_input_details()
    for name, value in feeds.items():
        wrapper.ResizeInputTensor(inputs[name]["index"], np.array(value.shape, np.int32),
                                  False, subgraph)
    wrapper.AllocateTensors(subgraph)
    for name, value in feeds.items():
        wrapper.SetTensor(inputs[name]["index"], value, subgraph)
    wrapper.Invoke(subgraph)
    return {
        name: np.zeros(d["shape"], d["dtype"]) if 0 in d["shape_signature"]
        else wrapper.GetTensor(d["index"], subgraph)
        for name, d in runner.get_output_details().items()
    }


def _arrange_outputs(outputs: dict[str, np.ndarray]):
    indexed = {int(m.group(1)): v for k, v in outputs.items() if (m := _OUTPUT_INDEX.match(k))}
    if len(indexed) == len(outputs):
        ordered = [indexed[i] for i in sorted(indexed)]
        return ordered[0] if len(ordered) == 1 else tuple(ordered)
    return dict(outputs)


Model = LiteRTModel = TfLiteModel  # litert_torch's names


def load(path: str | os.PathLike) -> TfLiteModel:
    """Load any `.tflite` file as a callable model."""
    return TfLiteModel.load(path)
