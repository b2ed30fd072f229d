"""Where in the user's code an FX node came from, read from its stack trace."""

from __future__ import annotations

import re

import torch

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)\n\s*(?P<code>.*)')


def user_source_line(node: torch.fx.Node) -> str | None:
    """`file:line (code)` of the innermost user frame that produced `node`, if recorded."""
    trace = node.meta.get("stack_trace")
    if not trace:
        return None
    frames = list(_FRAME.finditer(trace))
    if not frames:
        return None
    last = frames[-1]
    return f"{last['file']}:{last['line']} ({last['code'].strip()})"
