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
