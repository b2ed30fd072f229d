"""Write a `Document` as `<stem>.md`, `<stem>.html` and one `<stem>_<figure>.png` per figure."""

from __future__ import annotations

from pathlib import Path

from edgebatch.report import html, markdown
from edgebatch.report.blocks import Document, Figure


def write_document(doc: Document, out_dir: Path, stem: str) -> dict[str, Path]:
    """Return {"markdown": path, "html": path, "<figure>_plot": path, ...}."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def figure_file(figure: Figure) -> str:
        return f"{stem}_{figure.name}.png"

    paths: dict[str, Path] = {}
    for figure in doc.figures:
        path = out_dir / figure_file(figure)
        path.write_bytes(figure.png)
        paths[f"{figure.name}_plot"] = path
    paths["markdown"] = out_dir / f"{stem}.md"
    paths["markdown"].write_text(markdown.render(doc, figure_file), encoding="utf-8")
    paths["html"] = out_dir / f"{stem}.html"
    paths["html"].write_text(html.render(doc), encoding="utf-8")
    return paths
