"""PNG plots for reports, drawn with matplotlib's Agg canvas.

Figures are built from `matplotlib.figure.Figure` directly, not pyplot: no global figure
registry to leak between the jobs a joblib worker runs, no backend switch, no display.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from edgebatch.report.pareto import Point, front

_BAR = "#4c72b0"
_HOT = "#dd8452"  # ops people hunt for: TRANSPOSE, GATHER_ND
_HOT_OPS = {"TRANSPOSE", "GATHER_ND"}
_FRONT = "#c44e52"
_DPI = 100


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def op_histogram(ops: dict[str, int], limit: int = 30) -> bytes:
    """Horizontal bars, most frequent op on top; past `limit` ops the rest share one bar."""
    ranked = sorted(ops.items(), key=lambda item: (-item[1], item[0]))
    if len(ranked) > limit:
        rest = ranked[limit - 1:]
        ranked = ranked[: limit - 1] + [(f"{len(rest)} other ops", sum(n for _, n in rest))]
    names = [name for name, _ in ranked][::-1]
    counts = [count for _, count in ranked][::-1]

    fig = Figure(figsize=(7, 0.9 + 0.28 * len(names)))
    ax = fig.add_subplot()
    bars = ax.barh(names, counts, color=[_HOT if n in _HOT_OPS else _BAR for n in names])
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_xlabel("ops in the flatbuffer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def pareto_panels(panels: list[tuple[str, list[Point], bool]], error_label: str, title: str) -> bytes:
    """One scatter per (cost label, points, log-scaled cost axis), side by side on a shared
    error axis, under `title` (the model).

    Each point is labelled; the Pareto front (lower cost and lower error) is joined by a
    step line and ringed; points that failed validation are drawn as crosses.
    """
    fig = Figure(figsize=(6.2 * len(panels), 4.6))
    fig.suptitle(title, fontsize=11)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    errors = [p.error for _, points, _ in panels for p in points]
    log = all(e > 0 for e in errors) and max(errors) / min(errors) > 20
    for ax, (cost_label, points, log_cost) in zip(axes, panels):
        _scatter(ax, points)
        ax.set_xlabel(cost_label)
        if log_cost and all(p.cost > 0 for p in points):
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))  # 20, not 2×10¹
            ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
            ax.tick_params(axis="x", which="minor", labelsize=7)
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel(error_label)
    axes[-1].legend(loc="best", fontsize=8, frameon=False)
    return _png(fig)


def _scatter(ax, points: list[Point]) -> None:
    passed = [p for p in points if p.passed]
    failed = [p for p in points if not p.passed]
    best = front(points)
    if passed:
        ax.scatter([p.cost for p in passed], [p.error for p in passed], color=_BAR, zorder=3,
                   label="passed validation")
    if failed:
        ax.scatter([p.cost for p in failed], [p.error for p in failed], color=_FRONT, marker="x",
                   zorder=3, label="failed validation")
    ax.step([p.cost for p in best], [p.error for p in best], where="post", color=_FRONT,
            alpha=0.6, zorder=2)
    ax.scatter([p.cost for p in best], [p.error for p in best], s=160, facecolors="none",
               edgecolors=_FRONT, linewidths=1.5, zorder=4, label="Pareto front")
    # Labels alternate, in order of cost, between above-right and below-left of their
    # points, so that neighbours do not print over each other.
    for n, p in enumerate(sorted(points, key=lambda p: (p.cost, p.error))):
        right = n % 2 == 0
        ax.annotate(p.label, (p.cost, p.error), textcoords="offset points",
                    xytext=(6, 6) if right else (-6, -12), ha="left" if right else "right", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8,
                          "linewidth": 0})
    ax.margins(x=0.15, y=0.12)


def layer_errors(errors: list[dict]) -> bytes:
    """Each compared op's error over its tolerance, in graph order, log scale: above 1 the
    op is out of tolerance; the first step up is where to look."""
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    for cause, color in (("conversion", _BAR), ("quantization", _HOT)):
        points = [(i, e[cause]) for i, e in enumerate(errors) if e.get(cause)]
        if points:
            ax.plot(*zip(*points), marker=".", linewidth=1, color=color, label=cause)
    ax.axhline(1.0, color=_FRONT, linewidth=1, linestyle="--", label="tolerance")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("op (graph order)")
    ax.set_ylabel("error / tolerance")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)

