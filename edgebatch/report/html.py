"""Render a `Document` as one self-contained HTML page: inline CSS, PNGs as data URIs,
no scripts and no external assets, so the file can be mailed or archived alone."""

from __future__ import annotations

import base64
from html import escape

from edgebatch.report.blocks import Block, Code, Document, Fields, Figure, Heading, Paragraph, Table

_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;
  margin:0;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px 32px;background:#fff;min-height:100vh}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;
  border-bottom:1px solid #d0d7de}h3{font-size:15px;margin:20px 0 6px}
.subtitle{color:#59636e;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top;white-space:pre-line}
thead th{background:#f6f8fa}table.fields th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
tbody tr.good,p.good{background:#dafbe1}tbody tr.bad,p.bad{background:#ffebe9}
tbody tr.warn,p.warn{background:#fff8c5}tbody tr.info,p.info{background:#ddf4ff}
p.good,p.bad,p.warn,p.info{padding:6px 10px;border-radius:6px}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px;overflow:auto;
  font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap}
figure{margin:8px 0 16px}figure img{max-width:100%;border:1px solid #d0d7de}
figcaption{color:#59636e;font-size:12px}
"""


_NUM = ' class="num"'


def _attr_class(tone: str | None) -> str:
    return f' class="{tone}"' if tone else ""


def _table(block: Table) -> str:
    numeric = block.numeric_columns()
    tones = block.tones or [None] * len(block.rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
    body = "".join(
        f"<tr{_attr_class(tone)}>"
        + "".join(f"<td{_NUM if right else ''}>{escape(cell)}</td>" for cell, right in zip(row, numeric))
        + "</tr>"
        for row, tone in zip(block.rows, tones)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fields(block: Fields) -> str:
    tones = block.tones or [None] * len(block.rows)
    rows = "".join(
        f"<tr{_attr_class(tone)}><th>{escape(key)}</th><td>{escape(val)}</td></tr>"
        for (key, val), tone in zip(block.rows, tones)
    )
    return f'<table class="fields"><tbody>{rows}</tbody></table>'


def _figure(block: Figure) -> str:
    data = base64.b64encode(block.png).decode("ascii")
    caption = escape(block.caption)
    return (f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        label = f"<strong>{escape(block.label)}:</strong> " if block.label else ""
        return f"<p{_attr_class(block.tone)}>{label}{escape(block.text)}</p>"
    if isinstance(block, Fields):
        return _fields(block)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Code):
        return f"<pre><code>{escape(block.text.rstrip())}</code></pre>"
    if isinstance(block, Figure):
        return _figure(block)
    raise TypeError(f"unknown report block {type(block).__name__}")


def render(doc: Document) -> str:
    subtitle = f'<p class="subtitle">{escape(doc.subtitle)}</p>' if doc.subtitle else ""
    body = "\n".join(_block(block) for block in doc.blocks)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(doc.title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>\n<h1>{escape(doc.title)}</h1>{subtitle}\n{body}\n</main></body></html>\n"
    )
