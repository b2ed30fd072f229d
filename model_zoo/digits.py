"""A real task without downloads: a small CNN trained on scikit-learn's bundled digits.

The 1,797 8x8 images ship inside scikit-learn. A seeded split keeps 360 for testing; the
CNN trains on the rest in a few seconds on one thread, the same weights every time, so
quantization modes can be compared on test-set accuracy, not only on output error.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import nn

from model_zoo.init import seeded

NUM_CLASSES = 10
TEST_SAMPLES = 360
INPUT_SHAPE = (1, 1, 8, 8)
_MAX_PIXEL = 16.0


class DigitsCNN(nn.Module):
    """conv-bn-relu ×2 → maxpool → conv-bn-relu → global average → linear (≈20k weights)."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(block(1, 16), block(16, 32), nn.MaxPool2d(2), block(32, 48))
        self.classifier = nn.Linear(48, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


@cache
def _splits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images.astype(np.float32) / _MAX_PIXEL)[:, None]  # N x 1 x 8 x 8 in [0, 1]
    labels = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[:TEST_SAMPLES], order[TEST_SAMPLES:]
    return images[train], labels[train], images[test], labels[test]


def train_set(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(images N x 1 x 8 x 8 in [0, 1], labels) of the 1,437 training samples."""
    images, labels, _, _ = _splits(seed)
    return torch.from_numpy(images), torch.from_numpy(labels)


def test_set(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the 360 held-out samples: a recipe's `validation.task.dataset`."""
    _, _, images, labels = _splits(seed)
    return torch.from_numpy(images), torch.from_numpy(labels)


def calibration_batches(seed: int = 0, batches: int = 8, batch: int = 16) -> list[tuple]:
    """Training images in input sets of `batch`, for calibrating static quantization."""
    images, _ = train_set(seed)
    return [(images[i * batch:(i + 1) * batch],) for i in range(batches)]


def build_digits_cnn(*, seed: int = 0, epochs: int = 12, batch: int = 32) -> nn.Module:
    """DigitsCNN trained on the training split with Adam, on one thread: deterministic."""
    images, labels = train_set(seed)
    model = seeded(DigitsCNN, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in range(epochs):
            for index in torch.randperm(len(labels), generator=order).split(batch):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(images[index]), labels[index]).backward()
                optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def accuracy(model: nn.Module, seed: int = 0) -> float:
    """Top-1 accuracy of a PyTorch model on the test split."""
    images, labels = test_set(seed)
    with torch.no_grad():
        return float((model(images).argmax(-1) == labels).float().mean())
