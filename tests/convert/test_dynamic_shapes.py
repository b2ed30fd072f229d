"""convert(..., dynamic_shapes=...) gives a model LiteRT can resize at run time."""

import numpy as np
import pytest
import torch

import edgebatch


class ConvHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 8 * 8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


class SequenceScorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(16, 16)

    def forward(self, tokens):  # [batch, seq, 16]
        scores = torch.softmax(self.proj(tokens).sum(-1), dim=-1)
        return (tokens * scores.unsqueeze(-1)).sum(1), tokens.shape[1] * scores


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_dynamic_batch(batch):
    torch.manual_seed(0)
    module = ConvHead().eval()
    dim = torch.export.Dim("batch", min=1, max=64)
    model = edgebatch.convert(module, (torch.randn(2, 3, 8, 8),), dynamic_shapes=({0: dim},))
    x = torch.randn(batch, 3, 8, 8)
    np.testing.assert_allclose(model(x), module(x).detach().numpy(), atol=1e-5, rtol=1e-5)


def test_dynamic_batch_and_sequence_length():
    torch.manual_seed(0)
    module = SequenceScorer().eval()
    dims = ({0: torch.export.Dim("batch", max=32), 1: torch.export.Dim("seq", max=512)},)
    model = edgebatch.convert(module, (torch.randn(2, 5, 16),), dynamic_shapes=dims)
    for shape in [(1, 3, 16), (4, 11, 16)]:
        x = torch.randn(*shape)
        for actual, expected in zip(model(x), module(x)):
            np.testing.assert_allclose(actual, expected.detach().numpy(), atol=1e-5, rtol=1e-5)



class BertEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from transformers import BertConfig, BertModel

        config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=4, intermediate_size=64,
                            max_position_embeddings=64)
        self.bert = BertModel(config)

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def test_bert_with_dynamic_batch_and_sequence_length():
    # BERT slices a buffer to the sequence length, expands it to the batch and indexes
    # along the dynamic dims: each must lower with symbolic sizes.
    pytest.importorskip("transformers", reason="the `hf` extra is not installed")
    torch.manual_seed(0)
    module = BertEncoder().eval()
    dims = {0: torch.export.Dim("batch", max=16), 1: torch.export.Dim("seq", min=2, max=64)}
    ids = torch.randint(1, 100, (2, 5), dtype=torch.int32)
    model = edgebatch.convert(module, (ids, torch.ones_like(ids)), dynamic_shapes=(dims, dims))
    for batch, seq in [(1, 3), (4, 9), (3, 64)]:
        ids = torch.randint(1, 100, (batch, seq), dtype=torch.int32)
        mask = torch.ones_like(ids)
        mask[0, seq // 2:] = 0  # padding
        np.testing.assert_allclose(model(ids, mask), module(ids, mask).detach().numpy(),
                                   atol=1e-5, rtol=1e-5)
