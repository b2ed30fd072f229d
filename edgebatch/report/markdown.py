"""Render a `Document` as GitHub-flavoured Markdown; figures are linked PNG files."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from edgebatch.report.blocks import (
    Block, Code, Document, Fields, Figure, Heading, Link, Links, Paragraph, Table,
)

# Backslash-escaping these keeps user text (error messages, names) literal: no emphasis,
# no links, no raw HTML such as <script>, no broken table cells. An underscore inside a
# word (resnet18_nhwc) cannot start emphasis and stays as it is, for readable plain text.
_SPECIAL = re.compile(r"([\\`*\[\]<>|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    shown = "<br>".join(escape(line) for line in text.splitlines()) if text else ""
    return _link(shown, text.href) if isinstance(text, Link) else shown


def _link(shown: str, href: str) -> str:
    return f"[{shown}](<{href}>)"


def _table(columns: list[str], rows: list[list[str]], numeric: list[bool]) -> str:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "| " + " | ".join("---:" if right else "---" for right in numeric) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(block: Code) -> str:
    longest = max((len(run) for run in re.findall(r"`+", block.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{block.language}\n{block.text.rstrip()}\n{fence}"


def _block(block: Block, figure_file) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + escape(block.text)
    if isinstance(block, Paragraph):
        label = f"**{escape(block.label)}:** " if block.label else ""
        return label + escape(block.text)
    if isinstance(block, Fields):
        return "\n".join(f"- **{escape(key)}:** {_cell(val)}" for key, val in block.rows)
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.numeric_columns())
    if isinstance(block, Code):
        return _code(block)
    if isinstance(block, Figure):
        return f"![{escape(block.caption)}]({figure_file(block)})"
    if isinstance(block, Links):
        return f"**{escape(block.label)}:** " + " · ".join(_cell(link) for link in block.links)
    raise TypeError(f"unknown report block {type(block).__name__}")


def render(doc: Document, figure_file) -> str:
    """Markdown text; `figure_file(figure)` gives the relative file name a figure is saved under."""
    parts = ["# " + escape(doc.title)]
    if doc.subtitle:
        parts.append(escape(doc.subtitle))
    parts += [_block(block, figure_file) for block in doc.blocks]
    return "\n\n".join(parts) + "\n"


def replace_section(text: str, start: str, end: str, body: str) -> str:
    """`text` with what lies between the marker lines `start` and `end` (e.g. HTML comments
    in a README) replaced by `body`; the markers stay. ValueError if either is missing."""
    if start not in text or end not in text.split(start, 1)[1]:
        raise ValueError(f"no {start} ... {end} section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def rewrite_section(path, start: str, end: str, body: str) -> bool:
    """Replace the marked section of the file at `path` (see replace_section); False, with
    one line on stderr, if the markers are missing."""
    try:
        text = replace_section(Path(path).read_text(), start, end, body)
    except ValueError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return False
    Path(path).write_text(text)
    return True
