"""The converter: torch.export → passes → lowerings → TFLite.

Its modules import torch at the top; loading this package runs the import-order guard
first, so a tensorflow imported before edgebatch cannot crash triton later."""

from edgebatch._imports import ensure_torch_before_tensorflow

ensure_torch_before_tensorflow()
