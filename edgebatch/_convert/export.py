"""torch.export capture and decomposition to core ATen (our table)."""

from __future__ import annotations

import traceback
from typing import Any

import torch

from edgebatch._convert.ir.recurrent_shapes import shape_only_recurrent_ops
from edgebatch.errors import ExportError, first_line

aten = torch.ops.aten

# Ops that core ATen would decompose but TFLite has a better built-in for (or that
# lower to fewer, fusable TF ops when kept whole).
KEEP_WHOLE = [
    aten.hardswish.default,
    aten.hardsigmoid.default,
    aten.silu.default,
    aten.gelu.default,
    aten.elu.default,
    aten.leaky_relu.default,
    aten.softplus.default,
    aten.mish.default,
    aten.log_sigmoid_forward.default,
    aten._safe_softmax.default,
    aten._softmax.default,
    aten._log_softmax.default,
    aten.native_layer_norm.default,
    aten.native_group_norm.default,
    aten.upsample_bilinear2d.vec,
    aten.upsample_bilinear2d.default,
    aten.upsample_nearest2d.vec,
    aten.upsample_nearest2d.default,
    aten.pixel_shuffle.default,
    aten.pixel_unshuffle.default,
    aten.linear.default,
    aten.matmul.default,
    aten.hardtanh.default,
    aten.relu6.default,
    aten.adaptive_avg_pool2d.default,
    aten._adaptive_avg_pool2d.default,
    aten.avg_pool2d.default,
    aten.max_pool2d_with_indices.default,
    aten.im2col.default,
    aten.pad.default,
    aten.constant_pad_nd.default,
    aten.sort.default,
    aten.topk.default,
    aten.cumsum.default,
    aten.roll.default,
    aten.flip.default,
    aten.clamp_min.default,
    aten.clamp_max.default,
    aten.std.correction,
    aten.var.correction,
    aten.norm.ScalarOpt_dim,
    aten.linalg_vector_norm.default,
    aten.addmm.default,
    aten.baddbmm.default,
    aten.lstm.input,  # → TFLite's sequence LSTM kernel (recurrent.py), not 1 cell per step
    aten.gru.input,  # → one WHILE loop
]


def decomposition_table() -> dict:
    """core ATen's decompositions minus the ops we lower whole."""
    table = torch.export.default_decompositions()
    for op in KEEP_WHOLE:
        table.pop(op, None)
    return table


def _reason(exc: BaseException) -> str:
    """The first line of exc's message, capped so that a failure stays a one-line reason."""
    return first_line(exc)[:400]


def export_module(
    module: torch.nn.Module,
    args: tuple,
    kwargs: dict | None = None,
    *,
    dynamic_shapes: Any = None,
    strict_export: bool | str = "auto",
) -> torch.export.ExportedProgram:
    """Capture `module` with torch.export and decompose it to our op set.

    strict_export="auto" tries non-strict first and strict as a fallback;
    True/False force one mode.
    """
    if strict_export not in ("auto", True, False):
        raise ValueError(f"strict_export must be 'auto', True or False, got {strict_export!r}")
    modes = [False, True] if strict_export == "auto" else [bool(strict_export)]
    failures: list[tuple[str, BaseException]] = []
    for strict in modes:
        try:
            with shape_only_recurrent_ops():
                program = torch.export.export(
                    module, tuple(args), kwargs or {}, dynamic_shapes=dynamic_shapes,
                    strict=strict,
                )
            break
        except Exception as exc:  # torch.export raises many unrelated types
            failures.append(("strict" if strict else "non-strict", exc))
    else:
        reasons = "; ".join(f"{mode}: {type(e).__name__}: {_reason(e)}" for mode, e in failures)
        detail = "".join(traceback.format_exception(failures[-1][1], limit=-3))
        raise ExportError(
            f"torch.export could not capture {type(module).__name__} ({reasons}). "
            "Make the forward torch.export-compatible (see torch.export's reason above), "
            "or wrap the model so the untraceable part stays outside.\n" + detail
        ) from failures[-1][1]
    try:
        with shape_only_recurrent_ops():
            return program.run_decompositions(decomposition_table())
    except Exception as exc:
        raise ExportError(f"decomposing the exported graph failed: {_reason(exc)}") from exc
