"""Small converted models for the load tests: float, dynamic, reshape/concat, int8."""

import pytest
import torch

import edgebatch
from edgebatch.quantize.quant_config import QuantConfig


class ReshapeConcat(torch.nn.Module):
    def forward(self, x):
        rows = x.reshape(2, -1)
        return torch.cat([rows, rows.flip(1) * 2], dim=0).transpose(0, 1)


def tiny_cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(4, 2),
    ).eval()


@pytest.fixture(scope="session")
def small_models() -> dict[str, edgebatch.TfLiteModel]:
    torch.manual_seed(0)
    image = torch.randn(1, 3, 8, 8)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 4)).eval()
    batch = torch.export.Dim("batch", min=1, max=16)
    calibration = [(torch.randn(1, 3, 8, 8),) for _ in range(4)]
    return {
        "cnn": edgebatch.convert(tiny_cnn(), (image,)),
        "dynamic_mlp": edgebatch.convert(mlp, (torch.randn(2, 8),), dynamic_shapes=({0: batch},)),
        "reshape_concat": edgebatch.convert(ReshapeConcat(), (torch.randn(4, 6),)),
        "int8_cnn": edgebatch.convert(
            tiny_cnn(), (image,),
            quant_config=QuantConfig(preset="int8", calibration_data=calibration)),
    }
