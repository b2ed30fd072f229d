"""The job result: one typed schema for `result.json`, written by the job, read by the
sweep summary, the nightly regression and the reports.

`JobResult.json_schema()` is the JSON Schema of the file (docs/result.schema.json, kept
in step by a test). Floats may be inf or NaN (a relative error against an all-zero
reference): they are written as JSON's Infinity/NaN constants, which Python reads back.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

RESULT_FILE = "result.json"
Status = Literal["ok", "failed", "running"]  # running: written as each stage starts


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              ser_json_inf_nan="constants")


class ErrorRecord(_Record):
    """Why a job failed: the error class, its message and a signature stable across runs."""

    error_class: str = Field(alias="class")
    message: str
    signature: str
    log_tail: Optional[list[str]] = None  # a job whose process died: its last lines


class ConversionStage(_Record):
    """One stage of the conversion (edgebatch._convert.cost): export, passes, lower, tflite,
    postprocess."""

    stage: str
    seconds: float
    peak_rss_mb: float


class Conversion(_Record):
    seconds: float
    peak_rss_mb: float
    stages: list[ConversionStage] = Field(default_factory=list)


class TensorSpec(_Record):
    name: str
    shape: list[int]  # -1 for a dynamic dimension
    dtype: str


class SignatureIO(_Record):
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]


class ModelSummary(_Record):
    """What the flatbuffer holds (edgebatch.flatbuffer_summary.summarize)."""

    size_bytes: int
    num_ops: int
    transposes: int
    gather_nd: int
    int8_weights: int
    uses_flex: bool
    ops: dict[str, int]
    weight_dtypes: dict[str, int]
    activation_dtypes: dict[str, int]
    ops_on_constants: list[str]
    signatures: list[str]
    signature_io: dict[str, SignatureIO] = Field(default_factory=dict)  # by signature name


class Errors(_Record):
    """Error of one comparison (worst output); see edgebatch.metrics."""

    max_abs: float
    mean_abs: float
    rel_error: float
    rmse: float
    cosine: float
    passed: bool


class OutputErrors(Errors):
    max_ref: float


class Validation(Errors):
    """Converted model vs PyTorch over `n_inputs` seeded inputs, with the tolerance used."""

    atol: float
    rtol: float
    min_cosine: Optional[float]
    n_inputs: int
    outputs: dict[str, OutputErrors]


class TaskAccuracy(_Record):
    """Task accuracy on labelled data (recipe `validation.task`), PyTorch vs converted."""

    metric: str
    n_samples: int
    pytorch: float  # the float PyTorch model
    pytorch_quantized: Optional[float] = None  # the PyTorch model after PT2E quantization
    tflite: float
    max_drop: Optional[float] = None
    passed: bool

    @property
    def drop(self) -> float:
        return self.pytorch - self.tflite


class SensitiveLayer(_Record):
    layer: str
    error: float  # 1 - cosine of the output against float with only this layer quantized


class Quantization(_Record):
    """How the model was quantized, and where the error comes from."""

    name: str
    kind: str
    preset: Optional[str] = None
    calibration_batches: Optional[int] = None
    int8_io: Optional[bool] = None
    per_channel: Optional[bool] = None
    dynamic: Optional[bool] = None
    op_kinds: Optional[str] = None  # "int8 40, hybrid 3, float 2"
    hybrid_kernels: Optional[str] = None  # dynamic-range modes: the policy (auto, all, none)
    keep_float: Optional[list[str]] = None  # int8 preset: what the recipe asked to keep float
    kept_float: Optional[list[str]] = None  # the op types and modules that stayed float
    keep_float_auto: Optional[list[SensitiveLayer]] = None  # auto:K's choice, worst first
    float_vs_tflite: Optional[Errors] = None
    float_vs_quantized: Optional[Errors] = None  # quantization's share of the error
    quantized_pytorch_vs_tflite: Optional[Errors] = None  # conversion's share


class ThreadTiming(_Record):
    median_ms: float
    p90_ms: float
    runs: int
    float_median_ms: Optional[float] = None  # quantized models: the float model, interleaved
    ratio_to_float: Optional[float] = None


class Host(_Record):
    """The machine a latency was measured on."""

    cpu: str
    logical_cores: int
    physical_cores: Optional[int] = None
    machine: str  # e.g. x86_64
    system: str  # e.g. Linux 6.1


class Benchmark(_Record):
    signature: str
    delegate: str
    threads: dict[str, ThreadTiming]  # keyed by thread count
    host: Optional[Host] = None
    warnings: list[str] = Field(default_factory=list)  # e.g. quantized slower than float


class NotDelegatedOp(_Record):
    op: str
    form: str  # what the flatbuffer shows: "hybrid (int8 weights, float32 activations)", ...
    count: int


class DelegateCoverage(_Record):
    """What XNNPACK takes of the first signature (edgebatch.delegate_coverage)."""

    partitions: int
    delegated_ops: int
    not_delegated: list[NotDelegatedOp]


class ArtifactRecord(_Record):
    """Where the .tflite went: a registry version (or the job directory)."""

    name: str
    version: Optional[int]
    sha256: str
    path: str
    unchanged: bool = False  # the registry's latest version had these bytes: no new version


class CulpritRecord(_Record):
    """A minimal part of the model that fails to convert, as a standalone program."""

    signature: str
    op: Optional[str]
    source: Optional[str]  # the user's line that produced it
    error: str
    repro: str  # Python that reproduces the failure


class AccuracyCulpritRecord(_Record):
    """An op where the converted model's error against PyTorch jumps."""

    signature: str
    node: str
    op: str
    source: Optional[str]
    cause: Literal["quantization", "conversion"]
    error_before: float  # the largest error of its inputs
    error_after: float  # its own
    tolerance: float


class LayerError(_Record):
    """One op's error over its tolerance (above 1: out of tolerance), per cause."""

    node: str
    op: str
    conversion: Optional[float] = None  # .tflite vs PyTorch (None: fused, nothing to compare)
    quantization: Optional[float] = None  # quantized vs float PyTorch (PT2E models)


class Diagnosis(_Record):
    """What a job that failed to convert or validate found out (edgebatch.debug)."""

    kind: Literal["conversion", "accuracy"]
    seconds: float = 0.0
    timed_out: bool = False  # diagnosis.timeout_s ran out: what was found by then
    error: Optional[str] = None  # the diagnosis itself failed
    culprits: list[CulpritRecord] = Field(default_factory=list)
    accuracy_culprits: list[AccuracyCulpritRecord] = Field(default_factory=list)
    layer_errors: list[LayerError] = Field(default_factory=list)  # first signature, graph order


class ProcessRecord(_Record):
    """How the job's child process ended (runner.isolation=process), or how the job ended
    on a warm worker (pool: returncode 0 while the worker lives on)."""

    isolation: str
    returncode: int
    signal: Optional[str]
    limit_hit: Optional[Literal["timeout", "memory"]]
    seconds: float  # pool: the worker's start-up included for its first job
    peak_rss_mb: float
    timeout_s: Optional[float]
    memory_mb: Optional[float]
    worker_pid: Optional[int] = None  # pool: the warm worker's process id
    worker_job: Optional[int] = None  # pool: 1 for the worker's first job, 2 for its second, ...
    worker_rss_mb: Optional[float] = None  # pool: the worker's resident memory after the job


class UnchangedRecord(_Record):
    """skip_unchanged: the job was not run; the registry's latest successful run of the same
    name had the same job key, and this is what it produced."""

    run_id: str
    version: Optional[int]  # the artifact version that run registered
    finished_at: Optional[str]


class JobResult(_Record):
    name: Optional[str] = None  # the artifact name, once the recipe resolved
    recipe: Optional[str] = None
    status: Status = "failed"
    stage: Optional[str] = None  # the stage running (status running) or that failed
    error: Optional[ErrorRecord] = None
    job_key: Optional[str] = None  # edgebatch.batch.job_key
    config: Optional[dict[str, Any]] = None  # the resolved recipe
    conversion: Optional[Conversion] = None
    model: Optional[ModelSummary] = None
    delegate: Optional[DelegateCoverage] = None
    validation: Optional[Validation] = None
    task: Optional[TaskAccuracy] = None
    quantization: Optional[Quantization] = None
    benchmark: Optional[Benchmark] = None
    artifact: Optional[ArtifactRecord] = None
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per stage
    tool_versions: dict[str, Optional[str]] = Field(default_factory=dict)
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    run_id: Optional[str] = None  # the registry's run record
    report: Optional[dict[str, str]] = None  # report files by kind
    process: Optional[ProcessRecord] = None
    diagnosis: Optional[Diagnosis] = None
    unchanged: Optional[UnchangedRecord] = None  # skip_unchanged: not run, see the record

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def ensure_run_id(self) -> str:
        """The id of this run's record in the registry, made on first use."""
        if self.run_id is None:
            self.run_id = f"{self.name or 'job'}-{uuid.uuid4().hex[:12]}"
        return self.run_id

    def flat_metrics(self) -> dict[str, float | int | str | None]:
        """The scalar metrics stored with an artifact and compared by the nightly regression."""
        model, validation, conversion = self.model, self.validation, self.conversion
        metrics: dict[str, Any] = {
            key: getattr(model, key) if model else None
            for key in ("size_bytes", "num_ops", "transposes", "gather_nd", "int8_weights")
        }
        metrics |= {key: getattr(validation, key) if validation else None
                    for key in ("max_abs", "mean_abs", "rel_error", "rmse", "cosine")}
        metrics["task_accuracy"] = self.task.tflite if self.task else None
        metrics["conversion_seconds"] = conversion.seconds if conversion else None
        metrics["peak_rss_mb"] = conversion.peak_rss_mb if conversion else None
        for threads, stats in (self.benchmark.threads if self.benchmark else {}).items():
            metrics[f"latency_ms_{threads}t"] = stats.median_ms
        return metrics

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as in result.json ("class" for the error class)."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)

    def write(self, out_dir: Path) -> Path:
        """Write result.json atomically (a reader never sees half a file)."""
        path = Path(out_dir) / RESULT_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, out_dir: Path) -> "JobResult":
        """The job directory's result.json; ValueError or OSError if absent or malformed."""
        return cls.model_validate_json((Path(out_dir) / RESULT_FILE).read_text())

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return cls.model_json_schema(by_alias=True)

    @classmethod
    def write_json_schema(cls, path: Path) -> None:
        Path(path).write_text(json.dumps(cls.json_schema(), indent=2) + "\n")
