"""The recipe schema: dataclasses registered in Hydra's ConfigStore.

`edgebatch/edgebatch/recipes/edgebatch.yaml` starts its defaults list with `edgebatch_schema`, so every
value the YAML files and the command line set is checked against these types while
Hydra composes the config: an unknown key or a value of the wrong type fails before
any work, naming the full key (e.g. `validation.rtl`).

Free-form parts stay `Any`: a model builder's kwargs (`model.builder`, with
`_target_`), wrapper extra arguments and converter flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

SCHEMA_NAME = "edgebatch_schema"


class Distribution(Enum):
    normal = "normal"
    uniform = "uniform"
    randint = "randint"


class QuantKind(Enum):
    none = "none"  # float model
    preset = "preset"  # TFLite converter-side quantization (fp16, drq, int8, weight_only_int8)
    pt2e = "pt2e"  # PyTorch PT2E: prepare, calibrate, convert, then lower the q/dq graph


class Preset(Enum):
    """Converter-side quantization presets (edgebatch.quantize)."""

    fp16 = "fp16"  # float16 weights
    drq = "drq"  # dynamic-range: int8 weights, float activations
    int8 = "int8"  # full integer, calibrated on a representative dataset
    weight_only_int8 = "weight_only_int8"  # int8 weights dequantized at load


class HybridKernels(Enum):
    """Dynamic-range modes (drq, PT2E dynamic): which ops keep their hybrid kernel."""

    auto = "auto"  # where XNNPACK runs it faster than float (edgebatch.quantize.hybrid_kernels)
    all = "all"  # every op (the form before the measured choice)
    none = "none"  # none: int8 weights + DEQUANTIZE, float kernels


class Isolation(Enum):
    process = "process"  # each job in a fresh child process, under runner's limits
    pool = "pool"  # each job on a warm worker process (imports paid once), same limits
    inline = "inline"  # in the launcher's process: for debugging, no limits


class FailOn(Enum):
    any_failure = "any_failure"  # exit non-zero when any job failed
    regression = "regression"  # exit non-zero only on a regression against the baseline
    never = "never"


@dataclass
class InputSpec:
    """One sample input drawn from a seeded generator (model_zoo.inputs.make_inputs)."""

    shape: List[int] = MISSING
    dtype: str = "float32"
    distribution: Distribution = Distribution.normal
    low: Optional[float] = None  # uniform / randint lower bound
    high: Optional[float] = None  # uniform / randint upper bound (exclusive)
    # Dims whose size may change at run time: dim index -> the name of an `inputs.dims`
    # entry. Inputs naming the same dim share its size (e.g. input_ids and attention_mask).
    # (Keys are typed Any: the job's config reaches worker processes as JSON, with str keys.)
    dynamic: Dict[Any, str] = field(default_factory=dict)


@dataclass
class DimConfig:
    """A dynamic dim: its range in the converted model and the sizes validation tries."""

    min: int = 1
    max: Optional[int] = None  # None: torch.export's own upper bound
    validate: List[int] = field(default_factory=list)  # sizes validated besides the sample's


@dataclass
class InputsConfig:
    """Positional (`args`) and keyword (`kwargs`) sample inputs, or a `.npz`/`.pt` file."""

    args: List[InputSpec] = field(default_factory=list)
    kwargs: Dict[str, InputSpec] = field(default_factory=dict)
    file: Optional[str] = None  # positional inputs stored in a file; replaces `args`
    seed: int = 1234  # seed of the sample input used for export (and of N=0 validation input)
    dims: Dict[str, DimConfig] = field(default_factory=dict)  # named by `args[i].dynamic`
    # Real data besides (validation) or instead of (calibration) the seeded draws: `_target_`
    # of a callable returning a list of input sets, each a tuple of positional tensors.
    validation_data: Any = None
    calibration_data: Any = None


@dataclass
class WrapperConfig:
    """Adapt the module's call to what conversion needs. Applied inside out:
    extra args, then kwargs-to-positional, then output selection."""

    extra_args: List[Any] = field(default_factory=list)  # appended after the inputs
    extra_kwargs: Dict[str, Any] = field(default_factory=dict)  # fixed keyword arguments
    kwargs_to_positional: List[str] = field(default_factory=list)  # input i -> kwarg names[i]
    select_output: Any = None  # keep output[index] or output[key] only


@dataclass
class ModelConfig:
    """A module to convert: `builder._target_` is a zoo builder or any importable
    nn.Module class or factory; the other builder keys are its keyword arguments."""

    name: str = MISSING
    builder: Any = MISSING
    weights_path: Optional[str] = None  # local state_dict; never a download
    wrapper: WrapperConfig = field(default_factory=WrapperConfig)
    inputs: InputsConfig = field(default_factory=InputsConfig)


@dataclass
class SignatureConfig:
    """One signature of the flatbuffer. Unset parts come from the top-level `model`;
    signatures that share the top-level model share its weights in the file."""

    model: Optional[ModelConfig] = None
    wrapper: Optional[WrapperConfig] = None
    inputs: Optional[InputsConfig] = None


@dataclass
class ToleranceConfig:
    """Pass iff, for every output, max|tflite - ref| <= atol + rtol * max|ref|
    (and cosine >= min_cosine when set)."""

    atol: float = 0.0
    rtol: float = 1e-4
    min_cosine: Optional[float] = None


@dataclass
class Pt2eConfig:
    per_channel: bool = True
    dynamic: bool = False  # dynamic: int8 weights, float activations quantized at run time


@dataclass
class CalibrationConfig:
    """Seeded calibration batches drawn from the signature's input specs."""

    batches: int = 8
    seed: int = 100


@dataclass
class QuantSchema:
    name: str = "none"
    kind: QuantKind = QuantKind.none
    preset: Optional[Preset] = None  # kind=preset only
    pt2e: Pt2eConfig = field(default_factory=Pt2eConfig)
    int8_io: bool = False  # preset int8: int8 inputs/outputs instead of float
    hybrid_kernels: HybridKernels = HybridKernels.auto
    # int8 preset / PT2E static: int8 ops XNNPACK does not run become float ops between
    # DEQUANTIZE and QUANTIZE (edgebatch.quantize.float_fallback)
    float_fallback: bool = True
    # int8 preset: what stays float - TFLite op types (HARD_SWISH), module names
    # (features.0.0), auto:K (the K most sensitive layers); one string ("auto:2", also a
    # sweep point) or a list (edgebatch.quantize.keep_float)
    keep_float: Any = field(default_factory=list)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    # Tolerance of the end-to-end check (float PyTorch vs quantized TFLite); replaces
    # `validation`'s tolerance when the model is quantized.
    tolerance: ToleranceConfig = field(
        default_factory=lambda: ToleranceConfig(atol=0.0, rtol=0.1, min_cosine=0.98)
    )


@dataclass
class LayoutConfig:
    """Which positional inputs / outputs are channels-last (edgebatch.to_channel_last_io)."""

    name: str = "nchw"
    inputs: List[int] = field(default_factory=list)
    outputs: List[int] = field(default_factory=list)


@dataclass
class ConvertConfig:
    strict_export: Any = "auto"  # "auto" | true | false
    # TFLite converter attributes (nested dicts set nested attributes); strings
    # "tf.lite.X.Y" name TensorFlow constants, e.g. optimizations: [tf.lite.Optimize.DEFAULT].
    converter_flags: Dict[str, Any] = field(default_factory=dict)


class TaskMetric(Enum):
    top1 = "top1"  # share of samples whose largest output is the label


@dataclass
class TaskConfig:
    """Task accuracy on labelled data: PyTorch's and the converted model's, side by side.

    The data is a `.npz` (`file`) with arrays `inputs` and `labels`, or a `dataset`
    (`_target_` of a callable returning the two tensors). The first signature's first
    output is scored, `batch_size` samples per call.
    """

    metric: TaskMetric = TaskMetric.top1
    file: Optional[str] = None
    dataset: Any = None
    batch_size: int = 1
    # Fail validation when the converted model's accuracy is lower than PyTorch's float
    # model's by more than this (absolute, e.g. 0.01 = one point); None: report only.
    max_drop: Optional[float] = None


@dataclass
class ValidationConfig(ToleranceConfig):
    enabled: bool = True
    n_inputs: int = 3  # seeded inputs compared (input i drawn with seed `seed + i`)
    seed: int = 0
    # A reference output whose std is below this is degenerate (constant or ~0):
    # any converter would "match" it, so the recipe fails instead of passing.
    degenerate_std: float = 1e-6
    task: Optional[TaskConfig] = None


@dataclass
class BenchmarkConfig:
    enabled: bool = True
    threads: List[int] = field(default_factory=lambda: [1, 2])
    warmup: int = 3
    runs: int = 20
    # Parallel jobs (joblib, submitit on one machine) take turns timing: a file lock under
    # paths.root, so one job's benchmark never runs while another's does.
    exclusive: bool = True
    # Quantized models: also convert the float model and time both, interleaved; a
    # quantized model slower than float is a warning in the result and the report.
    compare_float: bool = True


@dataclass
class PoolConfig:
    """When a warm worker (runner.isolation=pool) is replaced by a fresh one, besides after
    a crash or a limit: after `max_jobs` jobs, or when its resident memory after a job is
    above `max_rss_mb` (what jobs leave behind cannot pile up). None: never."""

    max_jobs: Optional[int] = 25
    max_rss_mb: Optional[float] = 3000.0


@dataclass
class RunnerConfig:
    """How each job runs. A crash, a hang past `timeout_s` or a resident set above
    `memory_mb` fails that job only (isolation=process or pool); None means no limit."""

    isolation: Isolation = Isolation.process
    pool: PoolConfig = field(default_factory=PoolConfig)
    timeout_s: Optional[float] = 3600.0  # wall clock of the whole job, imports included
    memory_mb: Optional[float] = None  # resident memory of the job's processes
    # The terminal shows a job's own progress lines; TensorFlow/absl/LiteRT native logs and
    # library warnings go to its job.log only. True (or `edgebatch -v`) shows everything.
    verbose: bool = False


@dataclass
class DiagnosisConfig:
    """A job that fails to convert looks for the culprits (edgebatch.debug.find_culprits);
    one that fails validation, for the ops where the error jumps (find_accuracy_culprits)."""

    enabled: bool = True
    timeout_s: Optional[float] = 120.0  # what was found by then goes into the report
    max_culprits: int = 3


@dataclass
class RegistryConfig:
    enabled: bool = True
    root: str = "${paths.registry}"  # the blobs (on a cluster: a path every node mounts)
    # The index database: None is SQLite in `root`; postgresql://USER@HOST/DATABASE serves
    # jobs on many machines (see docs/batch.md, "Running on a cluster").
    url: Optional[str] = None


@dataclass
class ReportConfig:
    enabled: bool = True


@dataclass
class ThresholdsConfig:
    """Nightly regression thresholds: current vs the baseline artifact's metrics."""

    size_rel: float = 0.02  # file size grew by more than 2%
    latency_rel: float = 0.25  # median latency (fewest threads) grew by more than 25%
    latency_min_ms: float = 0.5  # ...and by more than this many ms (timer noise)
    rel_error_factor: float = 2.0  # relative error grew by more than 2x ...
    rel_error_min: float = 1e-5  # ...and is above this floor
    cosine_drop: float = 1e-3  # cosine fell by more than this
    num_ops: int = 0  # more ops than the baseline by more than this
    transposes: int = 0  # more TRANSPOSE ops than the baseline by more than this


@dataclass
class SuiteConfig:
    name: str = MISSING
    compare_baseline: bool = False
    baseline_alias: str = "baseline"
    # A job with no baseline yet that succeeds becomes the baseline (first nightly).
    init_missing_baseline: bool = True
    fail_on: FailOn = FailOn.any_failure
    thresholds: ThresholdsConfig = field(default_factory=ThresholdsConfig)
    coverage: bool = False  # write coverage.md/.json: the zoo table per task and family


@dataclass
class PathsConfig:
    """Every output location in one place: tests point `paths.root` at a tmp dir."""

    root: str = "outputs"
    registry: str = "${paths.root}/registry"
    runs: str = "${paths.root}/runs"
    sweeps: str = "${paths.root}/multirun"


@dataclass
class EdgeBatchConfig:
    # Base name of the job; the registry name adds the non-default layout and quant.
    name: str = "${model.name}"
    # Free-form labels reports group by, e.g. {task: classification, family: resnet}.
    labels: Dict[str, str] = field(default_factory=dict)
    artifact_name: str = "${eb.artifact_name:${name},${layout.name},${quant.name}}"
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = MISSING
    signatures: Dict[str, SignatureConfig] = field(default_factory=dict)
    quant: QuantSchema = field(default_factory=QuantSchema)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    diagnosis: DiagnosisConfig = field(default_factory=DiagnosisConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    suite: Optional[SuiteConfig] = None
    promote: bool = False  # suites: move the baseline alias to this run's artifacts
    dry_run: bool = False  # list the jobs (resolved name, quant, layout) and run none (--dry-run)
    # Skip jobs whose job directory already holds a finished result with the same job key
    # (resolved recipe, input/weight file contents, tool versions): re-run a sweep into its
    # own directory (hydra.sweep.dir=...) to finish what an interrupted run left.
    resume: bool = False
    # Skip jobs whose job key equals that of the latest successful run of the same artifact
    # name in the registry: the result says `unchanged` and names the version it matched.
    skip_unchanged: bool = False


def register() -> None:
    """Store the schema in Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=EdgeBatchConfig)
