"""What "self-contained HTML" means for the report tests."""

from __future__ import annotations

import re


def assert_self_contained(html: str) -> None:
    """No scripts, no external stylesheets or images, every image an inline PNG."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", lowered)
    assert "@import" not in lowered and "url(" not in lowered
    for source in re.findall(r"""<img[^>]*\ssrc="([^"]*)\"""", html):
        assert source.startswith("data:image/png;base64,"), source[:60]
