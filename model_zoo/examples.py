"""Small user modules with patterns that are tricky to convert, each with seeded inputs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.errors import UnknownModelError
from model_zoo.init import initialize, seeded
from model_zoo.inputs import make_inputs


class Example(nn.Module):
    """Base of the examples: `input_specs` describes each positional input for make_inputs,
    with the shape given without its batch dimension."""

    input_specs: ClassVar[tuple[Mapping[str, Any], ...]]

    @classmethod
    def sample_inputs(cls, seed: int = 0, batch: int = 1) -> tuple[torch.Tensor, ...]:
        """Seeded positional inputs with `batch` samples."""
        specs = [{**spec, "shape": (batch, *spec["shape"])} for spec in cls.input_specs]
        return make_inputs(specs, seed=seed)


class TinyCNN(Example):
    """conv → batchnorm → relu → maxpool → flatten → linear."""

    input_specs = ({"shape": (3, 32, 32)},)

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 16 * 16, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class ChannelShuffleNet(Example):
    """Grouped convolutions with a ShuffleNet channel shuffle (view/transpose/reshape)."""

    input_specs = ({"shape": (8, 16, 16)},)

    def __init__(self, groups: int = 4):
        super().__init__()
        self.groups = groups
        self.conv1 = nn.Conv2d(8, 16, 1, groups=groups)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, groups=groups)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        x = F.relu(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))


class LSTMTagger(Example):
    """Token ids (int64) → embedding → batch-first LSTM → per-token tag scores."""

    input_specs = ({"shape": (12,), "dtype": "int64", "distribution": "randint", "high": 100},)

    def __init__(self, vocab: int = 100, embed: int = 16, hidden: int = 32, tags: int = 7):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, tags)

    def forward(self, tokens):
        out, _ = self.lstm(self.embedding(tokens))
        return F.log_softmax(self.head(out), dim=-1)


class GRUNet(Example):
    """Two-layer batch-first GRU over a feature sequence; classifies from the last step."""

    input_specs = ({"shape": (10, 8)},)

    def __init__(self, features: int = 8, hidden: int = 16, classes: int = 4):
        super().__init__()
        self.gru = nn.GRU(features, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1])


class SequenceAndHidden(nn.Module):
    """A recurrent layer as most models read it: the output sequence and the last hidden
    state (not an LSTM's cell state)."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, state = self.rnn(x)
        return out, state[0] if isinstance(state, tuple) else state


class TinyAttention(Example):
    """Single-head attention written out: q/k/v projections, scaled scores, softmax."""

    input_specs = ({"shape": (6, 16)},)

    def __init__(self, dim: int = 16):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.scale = dim**-0.5

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        weights = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)
        return self.out(weights @ v)


class TinyTransformerEncoder(Example):
    """Two nn.TransformerEncoderLayer blocks (batch_first, no dropout) and mean pooling."""

    input_specs = ({"shape": (8, 32)},)

    def __init__(self, dim: int = 32, heads: int = 4, layers: int = 2):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


class MultiInputOutput(Example):
    """Two positional inputs, an optional keyword tensor `scale`, and a dict output."""

    input_specs = ({"shape": (4, 8, 8)}, {"shape": (16,)})

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 16, 3, padding=1)
        self.fc = nn.Linear(16, 16)

    @classmethod
    def sample_kwargs(cls, seed: int = 0, batch: int = 1) -> dict[str, torch.Tensor]:
        """Seeded keyword inputs: `scale`, shape (batch, 1), uniform in [0.5, 1.5)."""
        (scale,) = make_inputs(
            [{"shape": (batch, 1), "distribution": "uniform", "low": 0.5, "high": 1.5}],
            seed=seed + 1,
        )
        return {"scale": scale}

    def forward(self, image, vector, scale=None):
        pooled = self.conv(image).mean(dim=(2, 3))
        mixed = self.fc(vector) + pooled
        if scale is not None:
            mixed = mixed * scale
        return {"mixed": mixed, "pooled": pooled, "max": mixed.amax(dim=-1)}


class Upsampler(Example):
    """conv → bilinear ×2 upsampling → conv → nearest resize to a fixed size."""

    input_specs = ({"shape": (3, 16, 16)},)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return F.interpolate(self.conv2(x), size=(40, 40), mode="nearest")


class ConvTransposeDecoder(Example):
    """ConvTasNet's encoder/decoder: Conv1d and ConvTranspose1d with kernel 16, stride 8,
    padding 8 (padding that crops the transposed output)."""

    input_specs = ({"shape": (1, 800)},)

    def __init__(self, features: int = 32, kernel: int = 16):
        super().__init__()
        stride = kernel // 2
        self.encoder = nn.Conv1d(1, features, kernel, stride=stride, padding=stride, bias=False)
        self.decoder = nn.ConvTranspose1d(
            features, 1, kernel, stride=stride, padding=stride, bias=False
        )

    def forward(self, waveform):
        return self.decoder(F.relu(self.encoder(waveform)))


EXAMPLES: dict[str, type[Example]] = {
    cls.__name__: cls
    for cls in (
        TinyCNN,
        ChannelShuffleNet,
        LSTMTagger,
        GRUNet,
        TinyAttention,
        TinyTransformerEncoder,
        MultiInputOutput,
        Upsampler,
        ConvTransposeDecoder,
    )
}
_CALIBRATION_BATCH = 4


def list_models() -> list[str]:
    """Names of the example modules."""
    return sorted(EXAMPLES)


def sample_inputs(name: str, *, seed: int = 1234, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Seeded positional inputs of the named example."""
    return _example(name).sample_inputs(seed=seed, batch=batch)


def build_example(
    name: str,
    *,
    weights_path: str | Path | None = None,
    seed: int = 0,
    meaningful: bool = True,
    **kwargs,
) -> nn.Module:
    """Build an example module in eval mode, seeded; `kwargs` go to its constructor."""
    cls = _example(name)
    return initialize(
        seeded(cls, seed, **kwargs),
        lambda s: cls.sample_inputs(seed=s, batch=_CALIBRATION_BATCH),
        seed=seed,
        weights_path=weights_path,
        meaningful=meaningful,
    )


def _example(name: str) -> type[Example]:
    try:
        return EXAMPLES[name]
    except KeyError:
        raise UnknownModelError(f"unknown example {name!r}; choose from {list_models()}") from None
