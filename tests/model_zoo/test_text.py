"""all-MiniLM-L6-v2 with its real weights (the `hf` extra): the PyTorch wrapper is what
sentence-transformers computes, and the converted model embeds real sentences alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgebatch

pytest.importorskip("transformers", reason="the `hf` extra is not installed")
from model_zoo import text  # noqa: E402


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def test_sentence_batches_cover_every_sentence_in_three_sizes_and_three_lengths():
    sets = text.sentence_batches()
    assert [ids.shape[0] for ids, _ in sets] == [1, 3, 8, 8, 8, 8]
    assert [ids.shape[1] for ids, _ in sets[3:]] == [16, 32, 64]
    assert all(ids.dtype == mask.dtype == torch.int32 for ids, mask in sets)
    assert sum(ids.shape[0] for ids, _ in sets) == len(text.sentences()) == 36


def test_the_wrapper_embeds_like_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    sentences = text.sentences()[:6]
    expected = SentenceTransformer(str(text.model_dir()), device="cpu").encode(sentences)
    with torch.no_grad():
        actual = text.build_minilm()(*text.tokenize(sentences)).numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)


@pytest.mark.slow
def test_minilm_converts_with_dynamic_batch_and_length_at_cosine_0_9999():
    encoder = text.build_minilm()
    dims = {0: torch.export.Dim("batch", max=64), 1: torch.export.Dim("seq", min=2, max=256)}
    model = edgebatch.convert(encoder, text.tokenize(text.sentences()[:2]),
                              dynamic_shapes=(dims, dims))
    for ids, mask in text.sentence_batches():
        with torch.no_grad():
            expected = encoder(ids, mask).numpy()
        assert row_cosines(model(ids, mask), expected).min() >= 0.9999, tuple(ids.shape)
