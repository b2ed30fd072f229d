"""The report of one job: what ran, whether it worked, and what came out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from edgebatch.report import fmt, lookup, plots
from edgebatch.report.blocks import (
    Block, Code, Document, Fields, Figure, Heading, Link, Links, Paragraph, Table, Tone,
)
from edgebatch.report.lookup import dig, report_link, section
from edgebatch.report.delegate import delegate_section
from edgebatch.report.write import write_document

_METRIC_COLUMNS = ("max_abs", "mean_abs", "rel_error", "rmse", "cosine")
_METRIC_NAMES = {"max_abs": "max abs error", "mean_abs": "mean abs error",
                 "rel_error": "relative error", "rmse": "rmse", "cosine": "cosine similarity"}
# What each comparison of a quantized job isolates (USERS.md: keep conversion error and
# quantization error apart).
_QUANT_COMPARISONS = {
    "float_vs_quantized": "float PyTorch vs quantized PyTorch (what quantization changed)",
    "quantized_pytorch_vs_tflite": "quantized PyTorch vs TFLite (what conversion changed)",
    "float_vs_tflite": "float PyTorch vs TFLite (end to end)",
}


def write_job_report(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.md, report.html and the op-histogram PNG into `out_dir`; return their paths."""
    return write_document(job_document(result, Path(out_dir)), Path(out_dir), stem="report")


# Files of the job directory the report links to, when they exist.
_JOB_FILES = ("result.json", "config.yaml", "job.log", "model.tflite")


def job_document(result: dict, out_dir: Path) -> Document:
    """The job's report; everything shown comes from `result` (result.json), and the files
    it links are looked up in `out_dir`, the job's directory."""
    doc = Document(title=str(result.get("name") or "unnamed job"), subtitle=_subtitle(result))
    doc.add(*_files(result, out_dir))
    for part in (_status, _diagnosis, _configuration, _validation, _quantization, _model, _signatures,
                 _op_histogram, _latency, delegate_section, _conversion, _artifact, _tool_versions,
                 _resolved_config):
        doc.add(*part(result))
    return doc


def _files(result: dict, out_dir: Path) -> list[Block]:
    candidates = [(name, out_dir / name) for name in _JOB_FILES]
    candidates.append(("artifact .tflite", dig(result, "artifact", "path")))
    links = [report_link(text, path, out_dir) for text, path in candidates]
    unique = {link.href: link for link in reversed(links) if isinstance(link, Link)}
    return [Links("Files", list(reversed(unique.values())))] if unique else []


def _subtitle(result: dict) -> str:
    parts = [f"recipe {result['recipe']}" if result.get("recipe") else None,
             f"started {result['started_at']}" if result.get("started_at") else None,
             f"finished {result['finished_at']}" if result.get("finished_at") else None]
    return " · ".join(p for p in parts if p)


def _status(result: dict) -> list[Block]:
    status = str(result.get("status") or "unknown")
    if status == "ok":
        return [Paragraph("ok", tone="good", label="Status")]
    blocks: list[Block] = [Paragraph(
        f"{status} at stage {result.get('stage') or 'unknown'}", tone="bad", label="Status")]
    error = section(result, "error")
    if error:
        blocks.append(Fields([("stage", fmt.value(result.get("stage"))),
                              ("error class", fmt.value(error.get("class"))),
                              ("signature", fmt.value(error.get("signature")))]))
        if error.get("message"):
            blocks.append(Code(str(error["message"])))
    return blocks


def _diagnosis(result: dict) -> list[Block]:
    """What the failed job found out: repros of the parts that fail to convert, or the ops
    where the error against PyTorch jumps."""
    diagnosis = section(result, "diagnosis")
    if not diagnosis:
        return []
    found = len(diagnosis.get("culprits") or []) + len(diagnosis.get("accuracy_culprits") or [])
    note = f"{found} found in {fmt.value(diagnosis.get('seconds'))} s"
    if diagnosis.get("timed_out"):
        note += " (diagnosis.timeout_s ran out: there may be more)"
    if diagnosis.get("error"):
        note = f"the diagnosis failed: {diagnosis['error']}"
    blocks: list[Block] = [Heading("Diagnosis"), Paragraph(note, label=str(diagnosis.get("kind")))]
    for i, culprit in enumerate(diagnosis.get("culprits") or [], 1):
        blocks += [Heading(f"Culprit {i}: {culprit.get('op') or 'a region'}", level=3),
                   Fields([("signature", fmt.value(culprit.get("signature"))),
                           ("source", fmt.value(culprit.get("source"))),
                           ("error", fmt.value(culprit.get("error")))]),
                   Code(str(culprit.get("repro") or ""), language="python")]
    rows = [[c.get("op"), fmt.value(c.get("source")), c.get("cause"),
             fmt.value(c.get("error_before")), fmt.value(c.get("error_after")),
             fmt.value(c.get("tolerance"))] for c in diagnosis.get("accuracy_culprits") or []]
    if rows:
        blocks.append(Table(["op", "source", "cause", "error before", "error after",
                             "tolerance"], rows))
    if diagnosis.get("layer_errors"):
        blocks.append(Figure("layer_errors", plots.layer_errors(diagnosis["layer_errors"]),
                             "Error of each op over its tolerance, in graph order"))
    return blocks


def _configuration(result: dict) -> list[Block]:
    rows = [("model", lookup.model(result)), ("quantization", lookup.quant(result)),
            ("layout", lookup.layout(result)),
            ("signatures", ", ".join(lookup.signatures(result)) or None)]
    rows = [(key, val) for key, val in rows if val]
    return [Heading("Configuration"), Fields(rows)] if rows else []


def _metrics_cells(metrics: dict) -> list[str]:
    return [fmt.cosine(metrics.get(key)) if key == "cosine" else fmt.value(metrics.get(key))
            for key in _METRIC_COLUMNS]


def _validation(result: dict) -> list[Block]:
    validation = section(result, "validation")
    if not validation:
        return []
    rows = [(_METRIC_NAMES[key], cell) for key, cell in zip(_METRIC_COLUMNS, _metrics_cells(validation))]
    rows += [("tolerance", f"atol {fmt.value(validation.get('atol'))}, rtol {fmt.value(validation.get('rtol'))}"),
             ("inputs compared", fmt.value(validation.get("n_inputs"))),
             ("verdict", fmt.verdict(validation.get("passed")))]
    tones = [None] * (len(rows) - 1) + [_pass_tone(validation.get("passed"))]
    return [Heading("Validation against PyTorch"), Fields(rows, tones)]


def _pass_tone(passed: Any) -> Tone:
    return None if passed is None else ("good" if passed else "bad")


def _quantization(result: dict) -> list[Block]:
    quant = section(result, "quantization")
    if not quant:
        return []
    comparisons = {k: v for k, v in quant.items() if isinstance(v, dict)}
    auto = quant.get("keep_float_auto") or []
    settings = [(str(k), _setting(v)) for k, v in quant.items()
                if not isinstance(v, dict) and k != "keep_float_auto"]
    blocks: list[Block] = [Heading("Quantization")]
    if settings:
        blocks.append(Fields(settings))
    if auto:
        blocks.append(Table(["layer kept float by auto", "output error quantized alone (1 - cosine)"],
                            [[a.get("layer"), fmt.value(a.get("error"))] for a in auto]))
    if comparisons:
        rows = [[_QUANT_COMPARISONS.get(k, k), *_metrics_cells(v), fmt.verdict(v.get("passed"))]
                for k, v in comparisons.items()]
        blocks.append(Table(["comparison", *(_METRIC_NAMES[k] for k in _METRIC_COLUMNS), "verdict"],
                            rows, [_pass_tone(v.get("passed")) for v in comparisons.values()]))
    return blocks


def _setting(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "nothing"
    return fmt.value(value)


def _model(result: dict) -> list[Block]:
    model = section(result, "model")
    if not model:
        return []
    rows = [("size", fmt.size(model.get("size_bytes"))),
            ("ops", fmt.value(model.get("num_ops"))),
            ("TRANSPOSE ops", fmt.value(model.get("transposes"))),
            ("GATHER_ND ops", fmt.value(model.get("gather_nd"))),
            ("int8 weight tensors", fmt.value(model.get("int8_weights"))),
            ("Flex ops (SELECT_TF_OPS)", fmt.value(model.get("uses_flex"))),
            ("weight dtypes", _counts(model.get("weight_dtypes"))),
            ("activation dtypes", _counts(model.get("activation_dtypes")))]
    blocks: list[Block] = [Heading("Model"), Fields(rows)]
    if model.get("uses_flex"):
        blocks.append(Paragraph("this model needs the Flex delegate (TensorFlow ops) at run time.",
                                tone="warn", label="Flex"))
    folded = model.get("ops_on_constants")
    if folded:
        blocks.append(Paragraph(", ".join(map(str, folded)), tone="warn",
                                label="Ops computed from constants only (not folded)"))
    return blocks


def _counts(counts: Any) -> str:
    """{"int8": 21, "float32": 2} as 'float32 2, int8 21'."""
    if not isinstance(counts, dict):
        return fmt.value(counts)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))


def _op_histogram(result: dict) -> list[Block]:
    ops = {str(k): v for k, v in section(result, "model", "ops").items()
           if isinstance(v, int) and not isinstance(v, bool)}
    if not ops:
        return []
    total = sum(ops.values()) or 1
    ranked = sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))
    table = Table(["op", "count", "share"],
                  [[op, str(n), f"{100 * n / total:.1f}%"] for op, n in ranked])
    figure = Figure("ops", plots.op_histogram(ops), f"Op histogram of {result.get('name') or 'the model'}")
    return [Heading("Op histogram"), figure, table]


def _latency(result: dict) -> list[Block]:
    latencies = lookup.thread_latencies(result)
    if not latencies:
        return []
    rows = [[threads, fmt.decimal(stats.get("median_ms"), 3), fmt.decimal(stats.get("p90_ms"), 3),
             fmt.value(stats.get("runs"))] for threads, stats in latencies.items()]
    blocks: list[Block] = [Heading("Latency (LiteRT interpreter)"),
                           Table(["threads", "median ms", "p90 ms", "runs"], rows)]
    host = section(result, "benchmark", "host")
    if host:
        cores = f"{fmt.value(host.get('physical_cores'))} physical / {fmt.value(host.get('logical_cores'))} logical cores"
        blocks.append(Paragraph(f"{fmt.value(host.get('cpu'))}, {cores}, "
                                f"{fmt.value(host.get('machine'))}, {fmt.value(host.get('system'))}",
                                label="Measured on"))
    return blocks


def _signatures(result: dict) -> list[Block]:
    """Each signature's inputs and outputs: name, shape and dtype, as callers feed them."""
    io = section(result, "model", "signature_io")
    if not io:
        return []
    blocks: list[Block] = [Heading("Signatures")]
    for name, sides in io.items():
        rows = [[side, str(tensor.get("name")), _shape(tensor.get("shape")), fmt.value(tensor.get("dtype"))]
                for side in ("inputs", "outputs") for tensor in (section(sides).get(side) or [])
                if isinstance(tensor, dict)]
        blocks += [Heading(str(name), level=3), Table(["", "name", "shape", "dtype"], rows)]
    return blocks


def _shape(shape: Any) -> str:
    if not isinstance(shape, list):
        return fmt.value(shape)
    return "[" + ", ".join("?" if d == -1 else str(d) for d in shape) + "]"


def _conversion(result: dict) -> list[Block]:
    conversion, timings = section(result, "conversion"), section(result, "timings")
    blocks: list[Block] = []
    if conversion:
        blocks.append(Fields([("conversion time", f"{fmt.decimal(conversion.get('seconds'))} s"),
                              ("peak memory (RSS)", f"{fmt.decimal(conversion.get('peak_rss_mb'), 0)} MB")]))
    if timings:
        blocks.append(Table(["stage", "seconds"], [[str(k), fmt.decimal(v)] for k, v in timings.items()]))
    return [Heading("Conversion and timings"), *blocks] if blocks else []


def _artifact(result: dict) -> list[Block]:
    artifact = section(result, "artifact")
    if not artifact:
        return []
    rows = [("artifact", fmt.value(lookup.artifact_ref(result))),
            ("sha256", fmt.value(artifact.get("sha256"))),
            ("path", fmt.value(artifact.get("path")))]
    return [Heading("Registry artifact"), Fields(rows)]


def _tool_versions(result: dict) -> list[Block]:
    versions = section(result, "tool_versions")
    if not versions:
        return []
    return [Heading("Tool versions"), Fields([(str(k), fmt.value(v)) for k, v in versions.items()])]


def _resolved_config(result: dict) -> list[Block]:
    config = result.get("config")
    if not config:
        return []
    return [Heading("Resolved config"), Code(config_text(config), "yaml")]


def config_text(config: Any) -> str:
    """The config as YAML in its own key order; anything YAML cannot hold becomes a string."""
    plain = json.loads(json.dumps(config, default=_plain))
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)
