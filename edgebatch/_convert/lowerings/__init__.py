"""Lowerings by op family; importing this package registers all of them."""

from edgebatch._convert.lowerings import (  # noqa: F401
    activations,
    convolution,
    creation,
    elementwise,
    indexing,
    linalg,
    misc,
    normalization,
    pooling,
    quantized,
    recurrent,
    reduction,
    resize,
    sampling,
    shape,
    spectral,
    stochastic,
    symbolic,
)
from edgebatch._convert.lowerings.registry import lookup, lower

__all__ = ["lookup", "lower"]
