"""edgebatch: PyTorch → LiteRT/TFLite, with the API of Google's ai_edge_torch."""

from edgebatch._imports import ensure_torch_before_tensorflow

ensure_torch_before_tensorflow()

from edgebatch._convert.converter import Converter, convert, signature  # noqa: E402
from edgebatch.model import TfLiteModel, load  # noqa: E402
from edgebatch import debug  # noqa: E402

__all__ = ["Converter", "TfLiteModel", "convert", "debug", "load", "signature"]
__version__ = "0.1.0"
