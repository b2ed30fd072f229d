from edgebatch._imports import ensure_torch_before_tensorflow

# Test modules import tensorflow freely; torch (and torch._dynamo) must come first.
ensure_torch_before_tensorflow()
