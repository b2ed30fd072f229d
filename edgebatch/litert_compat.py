"""What code written for Google's `litert_torch` 0.10 passes that edgebatch has no use for.

Each of its options and settings either describes what edgebatch does anyway at one
value (`enable_x64=False`: int64 becomes int32), which is then accepted, or asks for
something edgebatch does not do, which raises NotImplementedError saying what to do
instead. A name edgebatch has never heard of stays a TypeError/AttributeError.
"""

from __future__ import annotations

from typing import Any

_NO_EQUIVALENT = object()  # no value of the setting describes edgebatch

# convert()/Converter.convert() keyword → (the value that describes edgebatch, the alternative)
CONVERT_OPTIONS: dict[str, tuple[Any, str]] = {
    "lightweight_conversion": (False, "edgebatch keeps weights as tf.Variables, which already "
                               "keeps TF's converter lean on large models"),
    "enable_x64": (False, "edgebatch keeps int64/float64 out of the flatbuffer (int32/float32)"),
    "runtime_constant_folding": (None, "TF's converter folds constants during conversion"),
    "use_v2": (False, "edgebatch has one conversion pipeline"),
    "export_dir": (None, "pass output_file_path=, or call model.export(path)"),
    "delete_in_memory_params": (False, "free the module after conversion yourself"),
    "fold_fp16_resource_casts": (True, "use QuantConfig(preset='fp16') for float16 weights"),
    "allow_reuse_intermediates": (False, "edgebatch writes no intermediate files"),
    "weights_loader": (None, "load the weights into the module before converting"),
    "enable_debug": (False, "use edgebatch.debug.find_culprits / find_accuracy_culprits"),
    "debug_dir": (None, "use edgebatch.debug.find_culprits / find_accuracy_culprits"),
    "enable_timing": (False, "model.report holds 'conversion_seconds' and each pass's seconds"),
    "print_ir_before": (None, "edgebatch has no MLIR passes to print"),
    "print_ir_after": (None, "edgebatch has no MLIR passes to print"),
    "elide_elementsattrs_if_larger": (None, "edgebatch has no MLIR passes to print"),
}

# litert_torch.config setting → (the value that describes edgebatch, the alternative)
CONFIG_SETTINGS: dict[str, tuple[Any, str]] = {
    "in_oss": (True, "it is read-only"),
    "show_progress": (False, "edgebatch shows no progress bar"),
    "silence_torch_logs": (False, "edgebatch leaves torch's logging alone; use TORCH_LOGS or "
                           "torch._logging.set_logs"),
    "enable_group_norm_composite": (False, "group norm lowers to TFLite built-in ops"),
    "layout_optimize_partitioner": ("DEFAULT", "edgebatch's layout pass places transposes "
                                    "itself; use to_channel_last_io for channels-last I/O"),
    "resource_constant_numel_threshold": (_NO_EQUIVALENT, "it applies to lightweight "
                                          "conversion, which edgebatch does not have"),
}

COMPILATION_BACKEND = (
    "edgebatch does not compile for NPUs ahead of time. Export the model "
    "(model.export(path)) and compile that .tflite with ai_edge_litert.aot.aot_compile."
)


def check_convert_options(options: dict[str, Any]) -> None:
    """Accept litert_torch's convert options at the value that describes edgebatch."""
    for name, value in options.items():
        if name not in CONVERT_OPTIONS:
            raise TypeError(f"convert() got an unexpected keyword argument '{name}'")
        described, alternative = CONVERT_OPTIONS[name]
        if value != described:
            raise NotImplementedError(
                f"litert_torch's convert option {name}={value!r} has no edgebatch "
                f"equivalent: {alternative}.")


def experimental_add_compilation_backend(*args, **kwargs):
    """litert_torch's AOT compilation hook (for NPUs): not in edgebatch."""
    raise NotImplementedError(COMPILATION_BACKEND)


class LiteRTConfig:
    """litert_torch.config: each setting reads as what edgebatch does, and can be set to
    that; any other value raises NotImplementedError naming the alternative."""

    def __getattr__(self, name: str):
        if name not in CONFIG_SETTINGS:
            raise AttributeError(f"litert_torch.config has no setting '{name}'")
        described, alternative = CONFIG_SETTINGS[name]
        if described is _NO_EQUIVALENT:
            raise NotImplementedError(f"config.{name} has no edgebatch equivalent: {alternative}.")
        return described

    def __setattr__(self, name: str, value) -> None:
        if getattr(self, name) != value:
            raise NotImplementedError(
                f"config.{name} = {value!r} has no edgebatch equivalent: "
                f"{CONFIG_SETTINGS[name][1]}.")


config = LiteRTConfig()
