"""Render a `Document` as one self-contained HTML page with the jinja2 template
templates/report.html.j2: inline CSS, PNGs as data URIs, no scripts and no external assets,
so the file can be mailed or archived alone (links point at files beside it)."""

from __future__ import annotations

import base64
from functools import cache

import jinja2

from edgebatch.report import blocks
from edgebatch.report.blocks import Document

_BLOCK_TYPES = {cls.__name__: cls for cls in (blocks.Heading, blocks.Paragraph, blocks.Links,
                                              blocks.Fields, blocks.Table, blocks.Code,
                                              blocks.Figure)}


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("edgebatch.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.tests["kind"] = lambda block, name: isinstance(block, _BLOCK_TYPES[name])
    env.tests["link"] = lambda value: isinstance(value, blocks.Link)
    env.filters["data_uri"] = lambda png: "data:image/png;base64," + base64.b64encode(png).decode()
    return env


def render(doc: Document) -> str:
    for block in doc.blocks:
        if type(block).__name__ not in _BLOCK_TYPES:
            raise TypeError(f"unknown report block {type(block).__name__}")
    return _environment().get_template("report.html.j2").render(doc=doc)
