"""One conversion in a fresh process, for benchmarks/conversion_cost.py; one JSON line out.

    PYTHONPATH=REPO python benchmarks/_convert_child.py edgebatch|litert_torch MODEL

Imports nothing of edgebatch unless asked to, so Google's venv (which has no edgebatch
dependencies, no TensorFlow) runs it too; model_zoo builds the same seeded model in both.
"Imports" are torch, model_zoo (torchvision, torchaudio) and the converter's `convert`
(for edgebatch that loads TensorFlow); `convert_s` is the convert(...) call alone.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from importlib import metadata

CONVERTERS = {"edgebatch": "edgebatch", "litert_torch": "litert-torch"}  # module: distribution


def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MiB; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def convert_once(converter: str, model: str) -> dict:
    start = time.perf_counter()
    import torch

    import model_zoo

    if converter == "edgebatch":
        import edgebatch

        convert = edgebatch.convert  # resolves the lazy export: torch, then TensorFlow
    else:
        import litert_torch

        convert = litert_torch.convert
    import_s = time.perf_counter() - start
    imports_rss = _status_mb("VmRSS")
    module, inputs = model_zoo.build(f"torchvision/{model}")
    start = time.perf_counter()
    converted = convert(module, inputs)
    convert_s = time.perf_counter() - start
    row = {
        "converter": converter, "version": metadata.version(CONVERTERS[converter]),
        "torch": torch.__version__, "model": model, "convert_s": convert_s,
        "import_s": import_s, "imports_rss_mb": imports_rss, "peak_rss_mb": _status_mb("VmHWM"),
        "edgebatch_loaded": "edgebatch" in sys.modules,
        "tensorflow_loaded": "tensorflow" in sys.modules,
    }
    if converter == "edgebatch":
        row["source"] = sys.modules["edgebatch"].__file__  # the checkout that was measured
    report = getattr(converted, "report", None)
    if isinstance(report, dict) and report.get("stages"):
        row["stages"] = report["stages"]
    return row


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in CONVERTERS:
        print(__doc__, file=sys.stderr)
        return 2
    row = convert_once(*argv)
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
