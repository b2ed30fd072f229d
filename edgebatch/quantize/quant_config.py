"""QuantConfig: what `edgebatch.convert(..., quant_config=...)` takes.

Two kinds, one at a time:

- `QuantConfig(pt2e_quantizer=quantizer)`: the module was quantized in PyTorch with
  torchao's PT2E flow; its quantize/dequantize ops lower to TF fake-quant ops
  (edgebatch/_convert/lowerings/quantized.py) and these flags make TF's converter emit
  real int8 kernels with the PT2E scales (static) or hybrid kernels (dynamic).
- `QuantConfig(preset=...)` / `QuantConfig.from_preset(...)`: TFLite converter-side
  quantization of a float module: `fp16`, `drq`, `int8` (full integer, calibrated on a
  representative dataset) or `weight_only_int8`.

The converter asks the config for its flags (`converter_flags`) before conversion and
hands it the flatbuffer afterwards (`postprocess`); flags the user passes through
`_ai_edge_converter_flags` win over the config's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from edgebatch.quantize import presets

PT2E_MODES = ("static", "dynamic")
HYBRID_POLICIES = ("auto", "all", "none")


@dataclass
class QuantConfig:
    """How to quantize during conversion.

    pt2e_quantizer: the quantizer the module was PT2E-quantized with (its global config
        tells static from dynamic); `mode` overrides that ("static" / "dynamic").
    preset: "fp16", "drq", "int8" or "weight_only_int8" (converter-side).
    representative_dataset: for `int8`: a TFLite representative-dataset callable yielding
        {input name: array}, (signature, {input name: array}) or [arrays].
    calibration_data: for `int8`, instead of `representative_dataset`: an iterable of
        sample-args tuples (or (args, kwargs) pairs) for the default signature.
    int8_io: int8 model inputs/outputs instead of float (`int8` preset, PT2E static).
    allow_float: `int8` preset: ops without an int8 kernel stay float instead of failing.
    hybrid_kernels: `drq` / PT2E dynamic: which ops keep their hybrid kernel (int8 weights,
        float activations): "auto" where XNNPACK runs it faster than a float kernel on the
        dequantized weight (edgebatch/quantize/hybrid_kernels.py), "all" (the form before
        that choice existed), "none".
    float_fallback: `int8` preset / PT2E static: int8 ops that XNNPACK does not run become
        float ops between DEQUANTIZE and QUANTIZE (edgebatch/quantize/float_fallback.py);
        False keeps them int8.
    keep_float: `int8` preset: what stays float - TFLite op types ("HARD_SWISH"), module
        names ("features.0.0") and/or "auto:K" (the K layers whose quantization alone hurts
        the output most, ranked on `calibration_data`); a list, or one comma-separated
        string (edgebatch/quantize/keep_float.py). After conversion `kept_float` lists
        what stayed float (op types, then module names) and `keep_float_auto` the
        (layer, error) pairs auto:K chose.
    generative_recipe: litert_torch's Generative API recipe; not supported here.
    """

    pt2e_quantizer: Any = None
    preset: Optional[str] = None
    mode: Optional[str] = None
    representative_dataset: Optional[Callable[[], Iterable]] = None
    calibration_data: Optional[Iterable] = None
    int8_io: bool = False
    allow_float: bool = True
    hybrid_kernels: str = "auto"
    float_fallback: bool = True
    keep_float: Any = ()
    generative_recipe: Any = None
    kept_float: Optional[list] = field(default=None, init=False, repr=False)
    keep_float_auto: Optional[list] = field(default=None, init=False, repr=False)
    _keep: Any = field(default=None, init=False, repr=False)
    _kept_nodes: dict = field(default_factory=dict, init=False, repr=False)
    _output_nodes: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if self.generative_recipe is not None:
            raise NotImplementedError(
                "edgebatch has no Generative API quantization recipes; quantize with "
                "QuantConfig(preset='int8' | 'drq' | 'fp16' | 'weight_only_int8') or "
                "PT2E (QuantConfig(pt2e_quantizer=...))"
            )
        if self.preset is not None:
            self.preset = getattr(self.preset, "value", self.preset)
            if self.preset not in presets.PRESETS:
                raise ValueError(
                    f"unknown quantization preset {self.preset!r}; "
                    f"choose one of {sorted(presets.PRESETS)}"
                )
            if self.pt2e_quantizer is not None:
                raise ValueError(
                    "give either pt2e_quantizer (a module quantized in PyTorch) or a "
                    "converter-side preset, not both"
                )
        if self.hybrid_kernels not in HYBRID_POLICIES:
            raise ValueError(f"hybrid_kernels must be one of {HYBRID_POLICIES}, "
                             f"got {self.hybrid_kernels!r}")
        if self.keep_float:
            from edgebatch.quantize.keep_float import parse_keep_float

            parse_keep_float(self.keep_float)  # ValueError for a malformed entry
            if self.preset != "int8":
                raise ValueError(
                    "keep_float works with the int8 preset (TF's quantizer leaves the named "
                    f"ops float), not {self.preset or 'PT2E'}: with PT2E static TF's "
                    "converter quantizes a float op between quantized ones anyway")
        if self.mode is not None and self.mode not in PT2E_MODES:
            raise ValueError(f"mode must be one of {PT2E_MODES}, got {self.mode!r}")
        if self.preset is None and self.pt2e_quantizer is None and self.mode is None:
            raise ValueError(
                "QuantConfig needs pt2e_quantizer=... (for a PT2E-quantized module) or "
                "preset=... ('fp16', 'drq', 'int8', 'weight_only_int8')"
            )

    @classmethod
    def from_preset(cls, preset: str, *, representative_dataset=None, calibration_data=None,
                    int8_io: bool = False, allow_float: bool = True,
                    hybrid_kernels: str = "auto", float_fallback: bool = True,
                    keep_float=()) -> "QuantConfig":
        return cls(preset=preset, representative_dataset=representative_dataset,
                   calibration_data=calibration_data, int8_io=int8_io, allow_float=allow_float,
                   hybrid_kernels=hybrid_kernels, float_fallback=float_fallback,
                   keep_float=keep_float)

    # --- what it is -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "preset" if self.preset is not None else "pt2e"

    @property
    def pt2e_mode(self) -> Optional[str]:
        """'static' or 'dynamic' for PT2E configs, None for presets."""
        if self.kind != "pt2e":
            return None
        if self.mode is not None:
            return self.mode
        global_config = getattr(self.pt2e_quantizer, "global_config", None)
        act = getattr(global_config, "input_activation", None)
        return "dynamic" if getattr(act, "is_dynamic", False) else "static"

    @property
    def name(self) -> str:
        return self.preset if self.kind == "preset" else f"pt2e_{self.pt2e_mode}"

    # --- the converter's hooks --------------------------------------------------------
    def converter_flags(self, flags: Optional[dict] = None) -> dict:
        """TFLiteConverter attributes for this config, with `flags` (the user's) on top."""
        if self.kind == "pt2e":
            own = presets.pt2e_flags(self.pt2e_mode, int8_io=self.int8_io)
        else:
            own = presets.preset_flags(
                self.preset,
                representative_dataset=self._representative_dataset(),
                int8_io=self.int8_io,
                allow_float=self.allow_float,
            )
        return presets.merge_flags(own, flags or {})

    def postprocess(self, flatbuffer: bytes) -> bytes:
        """Rewrite the converted flatbuffer: weight_only_int8 stores its weights as int8
        here; int8 modes run the int8 ops XNNPACK lacks in float and share their all-zero
        per-channel zero-point vectors."""
        if self.preset == "weight_only_int8":
            from edgebatch.quantize.weight_only import quantize_weights_only

            return quantize_weights_only(flatbuffer)
        if self.preset == "fp16":
            return flatbuffer
        if self.preset == "int8":
            from edgebatch.quantize.calibration import quantize_calibrated

            ops, nodes = self._denylist(flatbuffer)
            flatbuffer = quantize_calibrated(flatbuffer, self._representative_dataset(),
                                             int8_io=self.int8_io, denylisted_ops=ops,
                                             denylisted_nodes=nodes)
        if self.float_fallback and (self.preset == "int8" or self.pt2e_mode == "static"):
            from edgebatch.quantize.float_fallback import float_fallback

            flatbuffer, _ = float_fallback(flatbuffer)
        from edgebatch.quantize.flatbuffer import compact

        return compact(flatbuffer)  # per-channel zero points written once per length

    # --- keep_float ---------------------------------------------------------------------
    def resolve_keep_float(self, module) -> None:
        """Check keep_float's module names against `module` and rank its layers for
        auto:K (called by the converter with the first signature's module)."""
        self._keep, self.kept_float, self.keep_float_auto = None, None, None
        if not self.keep_float:
            return
        from edgebatch.quantize.keep_float import resolve

        self._keep, chosen = resolve(module, self.keep_float, self.calibration_data or ())
        self.keep_float_auto = chosen

    def record_lowering(self, lowered) -> None:
        """Which FX nodes of the lowered signatures the kept modules computed."""
        if self._keep is None:
            return
        from edgebatch.quantize.keep_float import module_scopes

        self._kept_nodes, self._output_nodes = {}, {}
        for sig in lowered:
            self._kept_nodes.update(module_scopes(sig.node_modules, self._keep.module_names))
            self._output_nodes[sig.name] = dict(sig.output_nodes)

    def _denylist(self, calibrated: bytes) -> tuple[list[str], list[str]]:
        """(op types, op output names) TF's quantizer leaves float."""
        if self._keep is None:
            return [], []
        from edgebatch.quantize.keep_float import denylisted_nodes

        found = denylisted_nodes(calibrated, self._kept_nodes, self._output_nodes)
        kept_modules = sorted({m for modules in found.values() for m in modules},
                              key=self._keep.module_names.index)
        self.kept_float = [*self._keep.op_types, *kept_modules]
        return list(self._keep.op_types), sorted(found)

    def _representative_dataset(self):
        if self.representative_dataset is not None:
            return self.representative_dataset
        if self.calibration_data is not None:
            return presets.dataset_from_samples(self.calibration_data)
        return None
