import os

from edgebatch._imports import ensure_torch_before_tensorflow
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

# Test modules import tensorflow freely; torch (and torch._dynamo) must come first.
ensure_torch_before_tensorflow()

# Tests check the graph invariants after every FX pass, so a pass that breaks the graph is
# named at once (passes/manager.py); set EDGEBATCH_CHECK_PASSES=0 to time without them.
os.environ.setdefault("EDGEBATCH_CHECK_PASSES", "1")
