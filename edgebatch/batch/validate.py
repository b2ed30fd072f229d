"""Compare converted outputs with PyTorch's on seeded inputs.

Metrics per output (all inputs together): max and mean absolute error, relative error
(max abs error / max |reference|), rmse and cosine similarity. An output passes when
max_abs <= atol + rtol * max|reference| and, if set, cosine >= min_cosine. The job's
summary is the worst output: largest max_abs and rel_error, smallest cosine.

A reference that is constant or ~0, or that does not change with the input, makes
every converter "pass": that is a RecipeError, not a pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edgebatch.errors import RecipeError, ValidationError
from edgebatch.metrics import error_metrics

Outputs = dict[str, np.ndarray]  # output name -> array, for one call


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    min_cosine: float | None = None


def reference_outputs(value) -> Outputs:
    """A PyTorch module's outputs named as the converter names them: the flattened paths
    of a dict output joined by '_', else `output_i` over the tensor leaves (None dropped)."""
    import torch
    from torch.utils import _pytree as pytree

    leaves = pytree.tree_flatten_with_path(value)[0]
    arrays = [(path, leaf) for path, leaf in leaves if isinstance(leaf, torch.Tensor)]
    if isinstance(value, dict):
        from edgebatch._convert.signature import _path_name

        return {_path_name(path): _float(leaf) for path, leaf in arrays}
    return {f"output_{i}": _float(leaf) for i, (_, leaf) in enumerate(arrays)}


def converted_outputs(value) -> Outputs:
    """A converted model's outputs: an array, a tuple of arrays or a dict of them."""
    if isinstance(value, dict):
        return {str(k): _float(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return {f"output_{i}": _float(v) for i, v in enumerate(value)}
    return {"output_0": _float(value)}


def _float(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value).astype(np.float64)


def output_metrics(reference: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> dict:
    """Error metrics of one output over all inputs (arrays paired by input)."""
    return {k: v for k, v in error_metrics(reference, actual).items() if k != "snr_db"}


def passes(m: dict, tol: Tolerance) -> bool:
    ok = m["max_abs"] <= tol.atol + tol.rtol * m["max_ref"]
    if tol.min_cosine is not None:
        ok = ok and m["cosine"] >= tol.min_cosine
    return bool(ok)


def check_reference(name: str, arrays: Sequence[np.ndarray], min_std: float) -> None:
    """RecipeError if the reference output `name` is degenerate over the inputs."""
    if not all(np.isfinite(a).all() for a in arrays):
        raise RecipeError(f"degenerate reference: PyTorch output '{name}' is not finite (NaN/inf)")
    stds = [float(np.std(a)) if a.size > 1 else float(np.abs(a).max(initial=0.0)) for a in arrays]
    if max(stds, default=0.0) < min_std:
        raise RecipeError(
            f"degenerate reference: PyTorch output '{name}' is constant or ~0 (std "
            f"{max(stds, default=0.0):.3g} < validation.degenerate_std={min_std:g}); any "
            "converter would match it. Use a meaningful init (model_zoo's builders), real "
            "weights (model.weights_path) or other inputs."
        )
    if len(arrays) > 1 and all(np.array_equal(arrays[0], a) for a in arrays[1:]):
        raise RecipeError(
            f"degenerate reference: PyTorch output '{name}' is the same for all "
            f"{len(arrays)} validation inputs, so it tests nothing about the conversion"
        )


def summarize(per_output: dict[str, dict], tol: Tolerance) -> dict:
    """The worst output's figures plus the verdict; per-output details kept under `outputs`."""
    for m in per_output.values():
        m["passed"] = passes(m, tol)
    values = list(per_output.values())
    return {
        "max_abs": max(m["max_abs"] for m in values),
        "mean_abs": float(np.mean([m["mean_abs"] for m in values])),
        "rel_error": max(m["rel_error"] for m in values),
        "rmse": max(m["rmse"] for m in values),
        "cosine": min(m["cosine"] for m in values),
        "passed": all(m["passed"] for m in values),
        "atol": tol.atol,
        "rtol": tol.rtol,
        "min_cosine": tol.min_cosine,
        "outputs": per_output,
    }


def compare(
    signatures: Sequence[tuple[str, Callable, Callable]],
    input_sets: Sequence[Sequence[tuple[tuple, dict]]],
    tol: Tolerance,
    *,
    min_std: float | None = None,
) -> dict:
    """Run reference and candidate on each signature's inputs and compare output by output.

    `signatures`: (name, reference, candidate) triples; each callable takes a signature's
    (*args, **kwargs) and returns its outputs by name (see reference_outputs,
    converted_outputs);
    `input_sets[i]`: the (args, kwargs) inputs of signature i. With `min_std`, the
    reference outputs are first checked for degeneracy.
    """
    per_output: dict[str, dict] = {}
    for (name, reference, candidate), inputs in zip(signatures, input_sets):
        refs = [reference(*a, **k) for a, k in inputs]
        gots = [candidate(*a, **k) for a, k in inputs]
        for key in refs[0]:
            label = key if len(signatures) == 1 else f"{name}/{key}"
            ref_arrays = [r[key] for r in refs]
            if min_std is not None:
                check_reference(label, ref_arrays, min_std)
            missing = [i for i, g in enumerate(gots) if key not in g]
            if missing:
                raise ValidationError(
                    f"signature '{name}': the converted model has no output '{key}' "
                    f"(it has {sorted(gots[missing[0]])})"
                )
            shapes = {(r[key].shape, g[key].shape) for r, g in zip(refs, gots)}
            for ref_shape, got_shape in shapes:
                if ref_shape != got_shape:
                    raise ValidationError(
                        f"signature '{name}', output '{key}': shape {got_shape} differs "
                        f"from PyTorch's {ref_shape}"
                    )
            per_output[label] = output_metrics(ref_arrays, [g[key] for g in gots])
    return {**summarize(per_output, tol), "n_inputs": len(input_sets[0]) if input_sets else 0}
