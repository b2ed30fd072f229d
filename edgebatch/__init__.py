"""edgebatch: PyTorch → LiteRT/TFLite, with the API of Google's ai_edge_torch.

Importing edgebatch is light, so that the command-line tools start fast: torch,
tensorflow and the converter load on first use of a public name, torch (with
torch._dynamo) always first (see edgebatch/_imports.py). A tensorflow imported before
edgebatch is guarded against at once.
"""

from __future__ import annotations

import sys

from edgebatch._imports import ensure_torch_before_tensorflow
from edgebatch._lazy import lazy_exports

if "tensorflow" in sys.modules:
    ensure_torch_before_tensorflow()

__version__ = "0.1.0"

_EXPORTS = {
    "Converter": "edgebatch._convert.converter",
    "convert": "edgebatch._convert.converter",
    "signature": "edgebatch._convert.converter",
    "TfLiteModel": "edgebatch.model",
    "Model": "edgebatch.model",
    "model": "edgebatch.model",
    "load": "edgebatch.model",
    "to_channel_last_io": "edgebatch.layout",
    "debug": "edgebatch.debug",
    "quantize": "edgebatch.quantize",
    # litert_torch's remaining names (see litert_compat.py)
    "config": "edgebatch.litert_compat",
    "converter_v2": "edgebatch.converter_v2",
    "experimental_add_compilation_backend": "edgebatch.litert_compat",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(
    "edgebatch", globals(), _EXPORTS, before_import=ensure_torch_before_tensorflow
)
