"""The report section on how the model runs on XNNPACK: the ops the delegate leaves to
LiteRT's kernels, its partitions, and a quantized model's latency against its float model
(result.json's `delegate` and `benchmark`)."""

from __future__ import annotations

from edgebatch.report import fmt, lookup
from edgebatch.report.blocks import Block, Fields, Heading, Paragraph, Table
from edgebatch.report.lookup import section


def delegate_section(result: dict) -> list[Block]:
    coverage = section(result, "delegate")
    against_float = {threads: stats for threads, stats in lookup.thread_latencies(result).items()
                     if stats.get("ratio_to_float") is not None}
    if not coverage and not against_float:
        return []
    blocks: list[Block] = [Heading("XNNPACK delegate")]
    if coverage:
        partitions = coverage.get("partitions")
        blocks.append(Fields(
            [("partitions", fmt.value(partitions)),
             ("ops XNNPACK runs", fmt.value(coverage.get("delegated_ops")))],
            [None if partitions == 1 else "warn", None]))
        left = coverage.get("not_delegated") or []
        if left:
            blocks.append(Table(["op left to LiteRT's kernels", "form", "count"],
                                [[str(n.get("op")), str(n.get("form")), fmt.value(n.get("count"))]
                                 for n in left], ["warn"] * len(left)))
    if against_float:
        rows = [[threads, fmt.decimal(stats.get("median_ms"), 3),
                 fmt.decimal(stats.get("float_median_ms"), 3),
                 f"{stats['ratio_to_float']:.2f}×"] for threads, stats in against_float.items()]
        blocks.append(Table(["threads", "quantized ms", "float ms", "ratio"], rows))
    for warning in section(result, "benchmark").get("warnings") or []:
        blocks.append(Paragraph(str(warning), tone="warn", label="Slower than float"))
    return blocks
