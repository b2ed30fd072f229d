"""all-MiniLM-L6-v2 (real weights, `hf` extra): how close each quantization mode's sentence
embeddings stay to PyTorch's float ones, per sentence, on the 36 validation sentences.

    python benchmarks/minilm.py

Prints, per mode, the model size and the min / mean cosine over the sentences (each
embedding against PyTorch's), for batches of 1, 3 and 8 sentences and padded lengths
16, 32 and 64, all from one `.tflite` with a dynamic batch and sequence length.
"""

from __future__ import annotations

import numpy as np
import torch

import edgebatch
from edgebatch.quantize import QuantConfig, pt2e_quantize
from model_zoo import text


def row_cosines(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return (actual * expected).sum(-1) / (
        np.linalg.norm(actual, axis=-1) * np.linalg.norm(expected, axis=-1))


def main() -> None:
    encoder = text.build_minilm()
    sample = text.tokenize(text.sentences()[:2])
    dims = {0: torch.export.Dim("batch", max=64), 1: torch.export.Dim("seq", min=2, max=256)}
    shapes = (dims, dims)
    batches = text.sentence_batches()
    with torch.no_grad():
        expected = [encoder(*batch).numpy() for batch in batches]

    def pt2e_dynamic():
        quantized, config = pt2e_quantize(encoder, sample, is_dynamic=True, dynamic_shapes=shapes)
        return edgebatch.convert(quantized, sample, dynamic_shapes=shapes, quant_config=config)

    modes = {
        "fp32": lambda: edgebatch.convert(encoder, sample, dynamic_shapes=shapes),
        "drq": lambda: edgebatch.convert(encoder, sample, dynamic_shapes=shapes,
                                         quant_config=QuantConfig.from_preset("drq")),
        "pt2e_dynamic": pt2e_dynamic,
    }
    print(f"{'mode':<14}{'MB':>8}{'min cosine':>14}{'mean cosine':>14}  sentences")
    for name, convert in modes.items():
        model = convert()
        cosines = np.concatenate([row_cosines(model(*batch), ref)
                                  for batch, ref in zip(batches, expected)])
        print(f"{name:<14}{len(model.flatbuffer) / 1e6:>8.2f}{cosines.min():>14.6f}"
              f"{cosines.mean():>14.6f}  {len(cosines)}")


if __name__ == "__main__":
    main()
