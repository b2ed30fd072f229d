"""The summary of a sweep or suite: one row per job, the Pareto view, the failures."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from edgebatch.report import fmt, lookup, plots
from edgebatch.report.blocks import Block, Document, Figure, Heading, Paragraph, Table, Tone
from edgebatch.report.pareto import Point, front, placeable
from edgebatch.report.lookup import dig, section
from edgebatch.report.write import write_document

# Which validation metric is "the error" on the plots, in order of preference: relative
# error compares models whose outputs differ in magnitude; max abs is the fallback.
_ERROR_METRICS = (("rel_error", "relative error"), ("max_abs", "max abs error"))
# Which parts of a job tell sweep points apart, tried from the shortest label up.
_LABEL_PARTS = ((1,), (2,), (1, 2), (0,), (0, 1), (0, 2), (0, 1, 2))


def write_sweep_report(results: list[dict], out_dir: Path) -> dict[str, Path]:
    """Write summary.md, summary.html and the Pareto PNG into `out_dir`; return their paths."""
    return write_document(sweep_document(results, Path(out_dir)), Path(out_dir), stem="summary")


def sweep_document(jobs: list[dict], out_dir: Path) -> Document:
    """The summary; each job's name links to its report (relative to `out_dir`)."""
    counts = Counter(_status(job) for job in jobs)
    subtitle = f"{len(jobs)} jobs: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    doc = Document(title="Sweep summary", subtitle=subtitle)
    threads = _thread_counts(jobs)
    doc.add(Heading("Jobs"), _summary_table(jobs, threads, out_dir))
    doc.add(*_pareto(jobs, threads))
    doc.add(*_failures(jobs))
    return doc


def _thread_counts(jobs: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for job in jobs:
        seen.update(dict.fromkeys(lookup.thread_latencies(job)))
    return sorted(seen, key=lambda t: (int(t), t) if t.isdigit() else (1 << 30, t))


def _summary_table(jobs: list[dict], threads: list[str], out_dir: Path) -> Table:
    columns = ["job", "quant", "layout", "status", "size MB", "rel. error", "cosine",
               *(f"latency {t}t ms" for t in threads), "transposes", "artifact"]
    rows, tones = [], []
    for job in jobs:
        validation, model = section(job, "validation"), section(job, "model")
        status = _status(job)
        if status == "unchanged":
            status += f" (not run: as {lookup.artifact_ref(job)})"
        elif status != "ok" and job.get("stage"):
            status += f" ({job['stage']})"
        name = lookup.report_link(str(job.get("name") or fmt.DASH), dig(job, "report", "html"), out_dir)
        rows.append([name, lookup.quant(job) or fmt.DASH,
                     lookup.layout(job) or fmt.DASH, status,
                     fmt.megabytes(model.get("size_bytes")), fmt.value(validation.get("rel_error")),
                     fmt.cosine(validation.get("cosine")),
                     *(fmt.decimal(lookup.median_ms(job, t), 3) for t in threads),
                     fmt.value(model.get("transposes")), fmt.value(lookup.artifact_ref(job))])
        tones.append(_tone(job))
    return Table(columns, rows, tones)


def _status(job: dict) -> str:
    """The job's status; "unchanged" for one skip_unchanged did not run."""
    if job.get("unchanged"):
        return "unchanged"
    return str(job.get("status") or "unknown")


def _tone(job: dict) -> Tone:
    if not lookup.is_ok(job):
        return "bad"
    return "warn" if dig(job, "validation", "passed") is False else None


def _error_metric(jobs: list[dict]) -> tuple[str, str]:
    for key, name in _ERROR_METRICS:
        if sum(placeable(dig(job, "validation", key)) for job in jobs) >= 2:
            return key, name
    return _ERROR_METRICS[0]


def _labels(jobs: list[dict]) -> list[str]:
    """The shortest of quant / layout / name combinations that tells the jobs apart."""
    parts = [(str(job.get("name") or ""), lookup.quant(job) or "", lookup.layout(job) or "")
             for job in jobs]
    for picked in _LABEL_PARTS:
        labels = ["/".join(p[i] for i in picked if p[i]) for p in parts]
        if all(labels) and len(set(labels)) == len(labels):
            return labels
    return [f"{'/'.join(x for x in p if x) or 'job'} #{n}" for n, p in enumerate(parts, 1)]


def _pareto(jobs: list[dict], threads: list[str]) -> list[Block]:
    """One plot per model: a front is only meaningful between variants of one model."""
    by_model: dict[str, list[dict]] = {}
    for job in jobs:
        by_model.setdefault(lookup.model(job) or str(job.get("name") or "model"), []).append(job)
    blocks = [block for model, group in by_model.items()
              for block in _model_pareto(model, group, threads)]
    return [Heading("Size, latency and error"), *blocks] if blocks else []


def _model_pareto(model: str, jobs: list[dict], threads: list[str]) -> list[Block]:
    key, error_name = _error_metric(jobs)
    latency_threads = "1" if "1" in threads else (threads[0] if threads else None)
    costs = [("size", "size (MB, log scale)", True, lambda job: _mb(dig(job, "model", "size_bytes")))]
    if latency_threads:
        plural = "" if latency_threads == "1" else "s"
        costs.append(("latency", f"latency, {latency_threads} thread{plural}, median (ms)", False,
                      lambda job: lookup.median_ms(job, latency_threads)))

    measured = [job for job in jobs if placeable(dig(job, "validation", key))]
    labels = _labels(measured)
    panels, notes = [], []
    for short, axis_label, log_cost, cost_of in costs:
        points = [Point(label, cost_of(job), dig(job, "validation", key),
                        dig(job, "validation", "passed") is not False)
                  for job, label in zip(measured, labels) if placeable(cost_of(job))]
        if len(points) >= 2:
            panels.append((axis_label, points, log_cost))
            best = " → ".join(p.label for p in front(points))
            notes.append(Paragraph(best, label=f"{model}: Pareto front, {short} vs {error_name}"))
    if not panels:
        return []
    figure = Figure(f"pareto_{_file_part(model)}", plots.pareto_panels(panels, error_name, model),
                    f"{model}: cost vs {error_name} per configuration; ringed points are Pareto-optimal")
    return [Heading(model, level=3), figure, *notes]


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "model"


def _mb(size_bytes: object) -> float | None:
    return size_bytes / 1e6 if placeable(size_bytes) else None


def _failures(jobs: list[dict]) -> list[Block]:
    failed = [job for job in jobs if not lookup.is_ok(job)]
    if not failed:
        return []
    rows = [[str(job.get("name") or fmt.DASH), lookup.quant(job) or fmt.DASH,
             fmt.value(job.get("stage")), fmt.value(dig(job, "error", "class")),
             fmt.one_line(dig(job, "error", "message")), fmt.value(dig(job, "error", "signature"))]
            for job in failed]
    return [Heading("Failures"),
            Table(["job", "quant", "stage", "error class", "message", "signature"], rows)]
