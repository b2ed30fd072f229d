"""Checks of a .tflite file before LiteRT runs it: the flatbuffer and TFLite's rules in
Python (no TensorFlow import), then LiteRT's kernels without delegates."""

from edgebatch.verify.model import verify_model
from edgebatch.verify.prepare import prepare_without_delegates

__all__ = ["prepare_without_delegates", "verify_model"]
