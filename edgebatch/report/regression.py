"""The nightly regression report: what got worse first, with what to act on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgebatch.report import fmt
from edgebatch.report.blocks import Block, Code, Document, Fields, Heading, Paragraph, Table, Tone
from edgebatch.report.lookup import dig, section
from edgebatch.report.write import write_document

# Display order: what needs a human first. Unknown statuses sit just above "ok".
_ORDER = {"regressed": 0, "failed": 1, "fixed": 2, "improved": 3, "new": 4, "ok": 6,
          "unchanged": 7}
_TONES: dict[str, Tone] = {"regressed": "bad", "failed": "bad", "fixed": "good",
                           "improved": "good", "new": "info"}


def write_regression_report(comparisons: list[dict], out_dir: Path) -> dict[str, Path]:
    """Write regression.md and regression.html into `out_dir`; return their paths."""
    return write_document(regression_document(comparisons), Path(out_dir), stem="regression")


def ordered(comparisons: list[dict]) -> list[dict]:
    """Regressions first, then failures, fixes, improvements, new entries, ok, byte-identical;
    stable."""
    return sorted(comparisons, key=lambda c: _ORDER.get(str(c.get("status")), 5))


def regression_document(comparisons: list[dict]) -> Document:
    rows = ordered(comparisons)
    counts = Counter(str(c.get("status") or "unknown") for c in rows)
    summary = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: _ORDER.get(s, 5)))
    doc = Document(title="Regression report", subtitle=f"{len(rows)} models: {summary}")
    bad = counts["regressed"] + counts["failed"]
    doc.add(Paragraph(f"{bad} of {len(rows)} models regressed or failed" if bad
                      else "no regressions", tone="bad" if bad else "good", label="Verdict"))
    doc.add(Heading("Models"), _overview(rows))
    details = [block for c in rows if c.get("status") not in ("ok", "unchanged")
               for block in _details(c)]
    if details:
        doc.add(Heading("Details"), *details)
    return doc


def _version(side) -> str:
    return fmt.value(side.get("version")) if isinstance(side, dict) else fmt.DASH


def _what_changed(comparison: dict) -> str:
    if comparison.get("status") == "failed":
        error = section(comparison, "error")
        return fmt.one_line(f"{error.get('class') or 'error'}: {error.get('message') or ''}", 120)
    changed = [c for c in comparison.get("checks") or [] if isinstance(c, dict) and c.get("regressed")]
    return "; ".join(f"{c.get('metric')} {_change(c)}" for c in changed)


def _change(check: dict) -> str:
    if check.get("relative") is not None:
        return fmt.percent(check["relative"])
    return f"{fmt.value(check.get('baseline'))} → {fmt.value(check.get('current'))}"


def _overview(rows: list[dict]) -> Table:
    table_rows = [[str(c.get("name") or fmt.DASH), str(c.get("status") or "unknown"),
                   _version(c.get("baseline")), _version(c.get("current")), _what_changed(c),
                   fmt.value(dig(c, "error", "signature")), fmt.value(c.get("last_good_version")),
                   fmt.value(c.get("failing_since"))] for c in rows]
    return Table(["model", "status", "baseline", "current", "what changed", "error signature",
                  "last good version", "failing since"],
                 table_rows, [_TONES.get(str(c.get("status"))) for c in rows])


def _details(comparison: dict) -> list[Block]:
    status = str(comparison.get("status") or "unknown")
    blocks: list[Block] = [Heading(f"{comparison.get('name') or 'unnamed'}: {status}", level=3)]
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
            [[str(c.get("metric")), fmt.value(c.get("baseline")), fmt.value(c.get("current")),
              fmt.value(c.get("delta")), fmt.percent(c.get("relative")), fmt.value(c.get("threshold")),
              fmt.value(c.get("regressed"))] for c in checks],
            ["bad" if c.get("regressed") else None for c in checks]))
    return blocks if len(blocks) > 1 else []
