"""Where in the user's code an FX node came from, read from its stack trace."""

from __future__ import annotations

import os
import re

import torch

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)'
                    r'(?:\n(?!\s*File ")\s*(?P<code>.*))?')
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


def user_source_line(node: torch.fx.Node) -> str | None:
    """`file:line (code)` of the innermost frame that produced `node` outside torch's own
    code (a `self.conv(x)` line, not the nn.Conv2d internals it calls), if recorded."""
    trace = node.meta.get("stack_trace")
    if not trace:
        return None
    frames = list(_FRAME.finditer(trace))
    if not frames:
        return None
    user_frames = [f for f in frames if not f["file"].startswith(_TORCH_DIR)] or frames
    last = user_frames[-1]
    code = f" ({last['code'].strip()})" if last["code"] else ""
    return f"{last['file']}:{last['line']}{code}"
