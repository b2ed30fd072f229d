"""The report document model.

Job, sweep and regression reports are built as a `Document` of a few block types;
`markdown.py` and `html.py` render the same document. Every text and cell is a plain
string (a `Link` is a string with a target): escaping is the renderers' job, so builders
never think about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Union

from edgebatch.report.fmt import DASH

Tone = Literal["good", "bad", "warn", "info"] | None

_NUMERIC = re.compile(r"^[+-]?(\d[\d,]*\.?\d*|\.\d+)(e[+-]?\d+)?\s*(%|ms|s|MB|B)?$", re.IGNORECASE)


def is_numeric(cell: str) -> bool:
    """True for cells that read as a number ("12", "2.4e-06", "+3.1%", "11.69 MB")."""
    return bool(_NUMERIC.match(cell.strip()))


class Link(str):
    """A cell or list item that links to `href` (a path relative to the report's directory)."""

    href: str

    def __new__(cls, text: str, href: str) -> "Link":
        link = super().__new__(cls, text)
        link.href = href
        return link


@dataclass(frozen=True)
class Links:
    """A labelled line of links, e.g. "Reports: baseline · current"."""

    label: str
    links: list[Link]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Tone = None
    label: str | None = None  # rendered bold in front of the text


@dataclass(frozen=True)
class Fields:
    """Key/value pairs, one per line; `tones` (optional) colours rows."""

    rows: list[tuple[str, str]]
    tones: list[Tone] | None = None


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    tones: list[Tone] | None = None

    def numeric_columns(self) -> list[bool]:
        """A column is right-aligned when every filled cell in it is a number."""
        flags = []
        for i in range(len(self.columns)):
            cells = [row[i] for row in self.rows if row[i] not in ("", DASH)]
            flags.append(bool(cells) and all(is_numeric(cell) for cell in cells))
        return flags


@dataclass(frozen=True)
class Code:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG: written next to the Markdown file as `<stem>_<name>.png`, inlined in the HTML."""

    name: str
    png: bytes
    caption: str


Block = Union[Heading, Paragraph, Fields, Table, Code, Figure, Links]


@dataclass
class Document:
    title: str
    subtitle: str = ""
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    @property
    def figures(self) -> list[Figure]:
        return [block for block in self.blocks if isinstance(block, Figure)]
