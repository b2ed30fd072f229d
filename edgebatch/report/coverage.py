"""The zoo's coverage table: per model family, did it convert, how close, how big, how fast.

Written by suites with `suite.coverage: true` (`edgebatch +suite=zoo`) as coverage.md and
coverage.json beside the sweep summary; `scripts/update_readme_coverage.py` puts the
table into the README. A family is green when its job passed every stage; a red one
carries the first line of the reason, e.g. torch.export's message.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from edgebatch.report import fmt

COVERAGE_MD = "coverage.md"
COVERAGE_JSON = "coverage.json"
_REASON_LIMIT = 140

COLUMNS = ("task", "family", "model", "status", "rel. error", "cosine / accuracy", "ops",
           "TRANSPOSE", "size MB", "latency ms (1 thread)", "convert s", "peak RSS MB")


def coverage_rows(results: list[dict]) -> list[dict[str, Any]]:
    """One row per job, ordered by task then family."""
    rows = [_row(r) for r in results]
    return sorted(rows, key=lambda row: (row["task"], row["family"], row["model"]))


def _row(result: dict) -> dict[str, Any]:
    config = result.get("config") or {}
    labels = config.get("labels") or {}
    model_name = (config.get("model") or {}).get("name") or result.get("name")
    validation, model = result.get("validation") or {}, result.get("model") or {}
    conversion, task = result.get("conversion") or {}, result.get("task") or {}
    latency = ((result.get("benchmark") or {}).get("threads") or {}).get("1") or {}
    error = result.get("error") or {}
    return {
        "task": labels.get("task", "—"),
        "family": labels.get("family", model_name),
        "model": result.get("name") or model_name,
        "green": result.get("status") == "ok",
        "reason": None if result.get("status") == "ok" else
        fmt.one_line(f"{result.get('stage')}: {error.get('class')}: {error.get('message')}",
                     _REASON_LIMIT),
        "rel_error": validation.get("rel_error"),
        "cosine": validation.get("cosine"),
        "task_accuracy": task.get("tflite"),
        "validated_inputs": validation.get("n_inputs"),
        "ops": model.get("num_ops"),
        "transposes": model.get("transposes"),
        "size_bytes": model.get("size_bytes"),
        "latency_ms_1t": latency.get("median_ms"),
        "conversion_seconds": conversion.get("seconds"),
        "peak_rss_mb": conversion.get("peak_rss_mb"),
    }


def machine() -> str:
    """The host, as a results table names it: CPU model, cores, memory."""
    import psutil

    from edgebatch.batch.environment import host

    this = host()
    memory = psutil.virtual_memory().total / 2**30
    return f"{this['cpu']}, {this['logical_cores']} cores, {memory:.0f} GiB"


def markdown(rows: list[dict], *, day: str, host: str) -> str:
    green = sum(row["green"] for row in rows)
    lines = [
        f"Zoo coverage ({day}, {host}): **{green} green, {len(rows) - green} red** of "
        f"{len(rows)}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        closeness = fmt.cosine(row["cosine"]) if row["task_accuracy"] is None else \
            f"top-1 {row['task_accuracy']:.4f}"
        status = "green" if row["green"] else f"red: {row['reason']}"
        cells = [row["task"], row["family"], row["model"], status,
                 fmt.value(row["rel_error"]), closeness, fmt.value(row["ops"]),
                 fmt.value(row["transposes"]), fmt.megabytes(row["size_bytes"]),
                 fmt.decimal(row["latency_ms_1t"]), fmt.decimal(row["conversion_seconds"], 1),
                 fmt.decimal(row["peak_rss_mb"], 0)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_coverage(results: list[dict], out_dir: Path) -> dict[str, Path]:
    """coverage.md and coverage.json in `out_dir`; returns their paths."""
    rows = coverage_rows(results)
    day, host = date.today().isoformat(), machine()
    out_dir = Path(out_dir)
    paths = {"markdown": out_dir / COVERAGE_MD, "json": out_dir / COVERAGE_JSON}
    paths["markdown"].write_text(markdown(rows, day=day, host=host))
    paths["json"].write_text(json.dumps({"date": day, "machine": host, "rows": rows}, indent=2))
    return paths
