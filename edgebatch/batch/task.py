"""Task accuracy: how often PyTorch and the converted model get labelled samples right.

Error metrics on random inputs say how close two models are; a task metric says what the
difference costs. The data comes from a `.npz` with arrays `inputs` and `labels`, or from a
`dataset` callable returning the two tensors (see recipe.schema.TaskConfig).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgebatch.errors import RecipeError

Predict = Callable[[Any], np.ndarray]  # a batch of inputs -> the first output's scores


def load_labelled(task: dict, path: str = "validation.task") -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) as numpy arrays, with one sample per row."""
    if (task.get("file") is None) == (task.get("dataset") is None):
        raise RecipeError(f"{path}: give exactly one of `file` (.npz with arrays inputs and "
                          "labels) or `dataset` (a `_target_` returning (inputs, labels))")
    if task.get("file") is not None:
        inputs, labels = _load_npz(Path(task["file"]), path)
    else:
        from hydra.utils import instantiate

        inputs, labels = instantiate(task["dataset"], _convert_="all")
    inputs, labels = _numpy(inputs), _numpy(labels).reshape(-1)
    if len(inputs) != len(labels) or not len(labels):
        raise RecipeError(f"{path}: {len(inputs)} inputs and {len(labels)} labels; expected "
                          "the same number, at least one")
    return inputs, labels.astype(np.int64)


def _load_npz(file: Path, path: str) -> tuple[np.ndarray, np.ndarray]:
    if not file.is_file():
        raise RecipeError(f"{path}.file: no such file {file}")
    with np.load(file) as data:
        missing = {"inputs", "labels"} - set(data.files)
        if missing:
            raise RecipeError(f"{path}.file: {file} has no array {sorted(missing)[0]!r} "
                              f"(it has {data.files})")
        return data["inputs"], data["labels"]


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def top1(predict: Predict, inputs: np.ndarray, labels: np.ndarray, batch_size: int) -> float:
    """Share of samples whose highest-scoring class is the label."""
    correct = 0
    for start in range(0, len(labels), batch_size):
        scores = np.asarray(predict(inputs[start:start + batch_size]))
        correct += int((scores.reshape(len(scores), -1).argmax(-1)
                        == labels[start:start + batch_size]).sum())
    return correct / len(labels)
