"""Child process of the load fuzz test: load and call mutants of small .tflite models.

    python -m tests.verify.load_fuzz_worker MODELS_DIR SEED FIRST LAST

MODELS_DIR holds model_<k>.tflite and model_<k>.json ({"signature", "inputs": {name:
[shape, dtype]}}). Mutant i is `mutate(model_<i mod k>, Random(f"{SEED}:{i}"))`, so a
restarted worker rebuilds the same mutants. One JSON line per mutant goes to stdout,
flushed at once: a worker killed by a signal has reported every mutant before the one
that crashed it.
"""

from __future__ import annotations

import faulthandler
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

import edgebatch
from edgebatch.errors import EdgeBatchError
from edgebatch.verify import verify_model

_BOUNDARY_WORDS = (0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                   0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random corruption of `data`, and what it was."""
    out = bytearray(data)
    kind = rng.choice(("bytes", "word", "word", "truncate"))
    if kind == "bytes":
        positions = [rng.randrange(len(out)) for _ in range(rng.randint(1, 4))]
        for p in positions:
            out[p] = rng.randrange(256)
        return bytes(out), f"bytes at {positions}"
    if kind == "word":
        p = rng.randrange(len(out) - 4) & ~3
        value = rng.choice(_BOUNDARY_WORDS + (len(data), len(data) - 4, len(data) + 4,
                                              rng.randrange(64), rng.getrandbits(32)))
        out[p:p + 4] = value.to_bytes(4, "little")
        return bytes(out), f"word {value:#x} at {p}"
    cut = rng.randrange(len(out))
    return bytes(out[:cut]), f"truncated to {cut}"


def _inputs(spec: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    arrays = {}
    for name, (shape, dtype) in spec["inputs"].items():
        if np.dtype(dtype).kind == "f":
            arrays[name] = rng.standard_normal(shape).astype(dtype)
        else:
            arrays[name] = rng.integers(-8, 8, shape).astype(dtype)
    return arrays


def _outcome(mutant_path: Path, spec: dict, inputs: dict) -> tuple[str, str]:
    """'verifier', 'load' (LiteRT refused it), 'call' (typed error), 'ran' or 'untyped'."""
    try:
        verify_model(mutant_path.read_bytes())
    except EdgeBatchError as exc:
        return "verifier", f"{type(exc).__name__}: {exc}"
    except BaseException as exc:
        return "untyped", f"verifier: {type(exc).__name__}: {exc}"
    try:
        model = edgebatch.load(mutant_path)
    except EdgeBatchError as exc:
        return "load", f"{type(exc).__name__}: {exc}"
    except BaseException as exc:
        return "untyped", f"load: {type(exc).__name__}: {exc}"
    try:
        model(signature_name=spec["signature"], **inputs)
    except EdgeBatchError as exc:
        return "call", f"{type(exc).__name__}: {exc}"
    except BaseException as exc:
        return "untyped", f"call: {type(exc).__name__}: {exc}"
    return "ran", ""


def main(models_dir: str, seed: str, first: str, last: str) -> None:
    faulthandler.enable()
    models = sorted(Path(models_dir).glob("model_*.tflite"))
    specs = [json.loads(p.with_suffix(".json").read_text()) for p in models]
    datas = [p.read_bytes() for p in models]
    mutant_path = Path(models_dir) / f"mutant_{first}.tflite"
    for i in range(int(first), int(last)):
        rng = random.Random(f"{seed}:{i}")
        k = i % len(models)
        mutant, mutation = mutate(datas[k], rng)
        mutant_path.write_bytes(mutant)
        inputs = _inputs(specs[k], np.random.default_rng(i))
        start = time.perf_counter()
        outcome, error = _outcome(mutant_path, specs[k], inputs)
        print(json.dumps({"i": i, "model": models[k].stem, "mutation": mutation,
                          "outcome": outcome, "error": error.splitlines()[0] if error else "",
                          "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
