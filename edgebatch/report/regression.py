"""The nightly regression report: what got worse first, with what to act on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgebatch.metrics import is_number
from edgebatch.report import fmt
from edgebatch.report.blocks import (
    Block, Code, Document, Fields, Heading, Link, Links, Paragraph, Table, Tone,
)
from edgebatch.report.lookup import dig, report_link, section
from edgebatch.report.write import write_document
from edgebatch.units import megabytes

# Display order: what needs a human first. Unknown statuses sit just above "ok".
_ORDER = {"regressed": 0, "failed": 1, "fixed": 2, "improved": 3, "new": 4, "ok": 6,
          "unchanged": 7}
_TONES: dict[str, Tone] = {"regressed": "bad", "failed": "bad", "fixed": "good",
                           "improved": "good", "new": "info"}


def write_regression_report(comparisons: list[dict], out_dir: Path) -> dict[str, Path]:
    """Write regression.md and regression.html into `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    return write_document(regression_document(comparisons, out_dir), out_dir, stem="regression")


def ordered(comparisons: list[dict]) -> list[dict]:
    """Regressions first, then failures, fixes, improvements, new entries, ok, byte-identical;
    stable."""
    return sorted(comparisons, key=lambda c: _ORDER.get(str(c.get("status")), 5))


def regression_document(comparisons: list[dict], out_dir: Path) -> Document:
    """The report; run and baseline reports are linked relative to `out_dir`."""
    rows = ordered(comparisons)
    counts = Counter(str(c.get("status") or "unknown") for c in rows)
    summary = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: _ORDER.get(s, 5)))
    doc = Document(title="Regression report", subtitle=f"{len(rows)} models: {summary}")
    bad = counts["regressed"] + counts["failed"]
    doc.add(Paragraph(f"{bad} of {len(rows)} models regressed or failed" if bad
                      else "no regressions", tone="bad" if bad else "good", label="Verdict"))
    doc.add(Heading("Models"), _overview(rows, out_dir))
    details = [block for c in rows if c.get("status") not in ("ok", "unchanged")
               for block in _details(c, out_dir)]
    if details:
        doc.add(Heading("Details"), *details)
    return doc


def _version(side, out_dir: Path) -> str:
    """The version, linked to that run's report when it is on disk."""
    if not isinstance(side, dict):
        return fmt.DASH
    return report_link(fmt.value(side.get("version")), side.get("report"), out_dir)


def metric_value(metric: str, value) -> str:
    """A metric with its unit: sizes in MB, latencies in ms."""
    if not is_number(value):
        return fmt.value(value)
    if metric == "size_bytes":
        return megabytes(value)
    if metric.startswith("latency_ms"):
        return f"{value:.3f} ms"
    if metric == "cosine":
        return fmt.cosine(value)
    return fmt.value(value)


def threshold(metric: str, limit) -> str:
    """What the check allows, in the metric's terms."""
    if not is_number(limit):
        return fmt.value(limit)
    if metric == "size_bytes" or metric.startswith("latency_ms"):
        return f"+{limit:.0%}"
    if metric == "rel_error":
        return f"×{limit:g}"
    if metric == "cosine":
        return f"−{limit:g}"
    return f"+{limit:g}"


def _what_changed(comparison: dict) -> str:
    if comparison.get("status") == "failed":
        error = section(comparison, "error")
        return fmt.one_line(f"{error.get('class') or 'error'}: {error.get('message') or ''}", 120)
    changed = [c for c in comparison.get("checks") or [] if isinstance(c, dict) and c.get("regressed")]
    return "; ".join(f"{c.get('metric')} {_change(c)}" for c in changed)


def _change(check: dict) -> str:
    metric = str(check.get("metric"))
    moved = f"{metric_value(metric, check.get('baseline'))} → {metric_value(metric, check.get('current'))}"
    if check.get("relative") is not None:
        return f"{moved} ({fmt.percent(check['relative'])})"
    return moved


def _overview(rows: list[dict], out_dir: Path) -> Table:
    table_rows = [[str(c.get("name") or fmt.DASH),
                   str(c.get("status") or "unknown") + (" (not run)" if c.get("not_run") else ""),
                   _version(c.get("baseline"), out_dir), _version(c.get("current"), out_dir),
                   _what_changed(c),
                   fmt.value(dig(c, "error", "signature")), fmt.value(c.get("last_good_version")),
                   fmt.value(c.get("failing_since"))] for c in rows]
    return Table(["model", "status", "baseline", "current", "what changed", "error signature",
                  "last good version", "failing since"],
                 table_rows, [_TONES.get(str(c.get("status"))) for c in rows])


def _details(comparison: dict, out_dir: Path) -> list[Block]:
    status = str(comparison.get("status") or "unknown")
    blocks: list[Block] = [Heading(f"{comparison.get('name') or 'unnamed'}: {status}", level=3)]
    links = [report_link(f"{side} (version {fmt.value(dig(comparison, side, 'version'))})",
                         dig(comparison, side, "report"), out_dir) for side in ("baseline", "current")]
    links = [link for link in links if isinstance(link, Link)]
    if links:
        blocks.append(Links("Reports", links))
    error = section(comparison, "error")
    if error:
        blocks.append(Fields([("stage", fmt.value(error.get("stage"))),
                              ("error class", fmt.value(error.get("class"))),
                              ("signature", fmt.value(error.get("signature"))),
                              ("last good version", fmt.value(comparison.get("last_good_version"))),
                              ("failing since", fmt.value(comparison.get("failing_since")))]))
        if error.get("message"):
            blocks.append(Code(str(error["message"])))
    checks = [c for c in comparison.get("checks") or [] if isinstance(c, dict)]
    if checks:
        blocks.append(Table(
            ["metric", "baseline", "current", "delta", "relative", "threshold", "regressed"],
            [[str(c.get("metric")), metric_value(str(c.get("metric")), c.get("baseline")),
              metric_value(str(c.get("metric")), c.get("current")),
              _delta(str(c.get("metric")), c.get("delta")), fmt.percent(c.get("relative")),
              threshold(str(c.get("metric")), c.get("threshold")),
              fmt.value(c.get("regressed"))] for c in checks],
            ["bad" if c.get("regressed") else None for c in checks]))
    for key, title in (("recipe_changes", "Recipe vs baseline"),
                       ("tool_version_changes", "Tool versions vs baseline")):
        changes = comparison.get(key)
        if isinstance(changes, dict) and changes:
            blocks.append(Table([title, "baseline", "current"],
                                [[path, fmt.value(d.get("a")), fmt.value(d.get("b"))]
                                 for path, d in changes.items()]))
        elif isinstance(changes, dict):
            blocks.append(Paragraph("no changes", label=title))
    return blocks if len(blocks) > 1 else []


def _delta(metric: str, delta) -> str:
    if not is_number(delta):
        return fmt.value(delta)
    shown = metric_value(metric, abs(delta))
    return ("+" if delta >= 0 else "−") + shown
