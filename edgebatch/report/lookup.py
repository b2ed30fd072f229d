"""Reading the runner's result dicts (result.json) without trusting their shape.

Any section may be missing, None, or of an unexpected type; these helpers return
None or an empty dict instead of raising, so a report always renders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgebatch.report.blocks import Link

_LABEL_KEYS = ("name", "_name_", "preset", "mode", "method", "kind", "type")


def section(mapping: Any, *path: str) -> dict:
    """The dict at `path`, or {} when anything on the way is missing or not a dict."""
    found = dig(mapping, *path)
    return found if isinstance(found, dict) else {}


def dig(mapping: Any, *path: str) -> Any:
    """The value at `path` (keys into nested dicts), or None."""
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def label(value: Any) -> str | None:
    """A short name for a config node: a string as is, a dict by its name-like key or `_target_`."""
    if value is None:
        return None
    if isinstance(value, dict):
        for key in _LABEL_KEYS:
            if isinstance(value.get(key), str):
                return value[key]
        target = value.get("_target_")
        if isinstance(target, str):
            return target.rsplit(".", 1)[-1]
        return ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (dict, list))) or None
    return str(value)


def quant(result: dict) -> str | None:
    """The quant config's name, with keep_float when set (it tells sweep points apart)."""
    name = label(dig(result, "config", "quant"))
    keep_float = dig(result, "config", "quant", "keep_float")
    if not keep_float:
        return name
    spec = keep_float if isinstance(keep_float, str) else ",".join(map(str, keep_float))
    return f"{name} keep_float={spec}"


def layout(result: dict) -> str | None:
    return label(dig(result, "config", "layout"))


def model(result: dict) -> str | None:
    return label(dig(result, "config", "model"))


def signatures(result: dict) -> list[str]:
    """Signature names: from the flatbuffer when the job got that far, else from the config."""
    names = dig(result, "model", "signatures")
    if isinstance(names, list) and names:
        return [str(name) for name in names]
    configured = dig(result, "config", "signatures")
    if isinstance(configured, dict):
        return [str(name) for name in configured]
    if isinstance(configured, list):
        return [label(item) or f"#{i}" for i, item in enumerate(configured)]
    return []


def thread_latencies(result: dict) -> dict[str, dict]:
    """{threads: {"median_ms", "p90_ms", "runs"}} sorted by thread count."""
    threads = section(result, "benchmark", "threads")
    return dict(sorted(((str(k), v) for k, v in threads.items() if isinstance(v, dict)), key=_thread_order))


def _thread_order(item: tuple[str, Any]) -> tuple[int, str]:
    key = item[0]
    return (int(key), key) if key.isdigit() else (1 << 30, key)


def median_ms(result: dict, threads: str) -> Any:
    return dig(thread_latencies(result), threads, "median_ms")


def is_ok(result: dict) -> bool:
    return result.get("status") == "ok"


def artifact_ref(result: dict) -> str | None:
    artifact = section(result, "artifact")
    if not artifact:
        return None
    name, version = artifact.get("name"), artifact.get("version")
    return f"{name}@{version}" if version is not None else (str(name) if name else None)


def report_link(text: str, report_path: Any, out_dir: Path) -> str:
    """`text` linking to a report file, relative to `out_dir`; plain text if there is none."""
    if not report_path or not Path(report_path).is_file():
        return text
    return Link(text, os.path.relpath(Path(report_path).resolve(), Path(out_dir).resolve()))
