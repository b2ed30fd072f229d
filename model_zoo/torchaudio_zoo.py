"""torchaudio models that build offline, with the inputs each expects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torchaudio.models as tam
import torchaudio.transforms as tat
from torch import nn

from model_zoo.errors import UnknownModelError
from model_zoo.init import initialize, seeded
from model_zoo.inputs import make_input
from model_zoo.wrappers import SelectOutput


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., nn.Module]
    input_shape: tuple[int, ...]
    output_index: int | None = None  # the tensor to keep when the model returns a tuple
    takes_lengths: bool = False  # a second input: each sequence's valid length (int64)


_SECOND = 16000  # one second at 16 kHz
_MODELS = {
    # waveform (batch, 1, time) -> logits (batch, classes, frames)
    "wav2letter": _Entry(tam.Wav2Letter, (1, 1, _SECOND)),
    # waveform (batch, 1, time) -> separated sources (batch, sources, time)
    "conv_tasnet_base": _Entry(tam.conv_tasnet_base, (1, 1, _SECOND)),
    # features (batch, channel, time, n_feature) -> logits (batch, time, classes)
    "deepspeech": _Entry(partial(tam.DeepSpeech, n_feature=80), (1, 1, 200, 80)),
    # waveform (batch, time) -> (features, lengths=None); the wrapper keeps the features
    "wav2vec2_base": _Entry(tam.wav2vec2_base, (1, _SECOND), output_index=0),
    "hubert_base": _Entry(tam.hubert_base, (1, _SECOND), output_index=0),
    "wavlm_base": _Entry(tam.wavlm_base, (1, _SECOND), output_index=0),
    # stereo waveform (batch, 2, time) at 44.1 kHz -> (batch, sources, 2, time); uses STFT
    "hdemucs_low": _Entry(
        partial(tam.hdemucs_low, sources=["drums", "bass", "other", "vocals"]), (1, 2, 44100)
    ),
    # features (batch, time, n_feature), lengths (batch,) -> (output, lengths); keep output
    "conformer": _Entry(
        partial(tam.Conformer, input_dim=80, num_heads=4, ffn_dim=256, num_layers=4,
                depthwise_conv_kernel_size=31), (1, 200, 80), output_index=0, takes_lengths=True),
    # streaming transformer: time = 12 segments of 16 frames + 4 frames of right context
    "emformer": _Entry(
        partial(tam.Emformer, input_dim=80, num_heads=4, ffn_dim=256, num_layers=4,
                segment_length=16, right_context_length=4), (1, 196, 80), output_index=0,
        takes_lengths=True),
    # front ends: waveform (batch, time) -> (batch, [n_mfcc | n_mels | freq], frames)
    "spectrogram": _Entry(partial(tat.Spectrogram, n_fft=400), (1, _SECOND)),
    "mel_spectrogram": _Entry(partial(tat.MelSpectrogram, n_fft=400, n_mels=64), (1, _SECOND)),
    "mfcc": _Entry(partial(tat.MFCC, n_mfcc=40, melkwargs={"n_fft": 400, "n_mels": 64}),
                   (1, _SECOND)),
}
_CALIBRATION_BATCH = 4


def list_models() -> list[str]:
    """Names this zoo builds."""
    return sorted(_MODELS)


def default_input_shape(name: str) -> tuple[int, ...]:
    """Shape of one sample input (batch 1)."""
    return _entry(name).input_shape


def sample_inputs(name: str, *, seed: int = 1234, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """A standard-normal input of the model's default shape (with `batch` samples), and
    for models that take lengths, every sequence at full length."""
    _, *rest = default_input_shape(name)
    features = make_input((batch, *rest), seed=seed)
    if not _entry(name).takes_lengths:
        return (features,)
    return features, torch.full((batch,), features.shape[1], dtype=torch.int64)


def build_torchaudio(
    name: str,
    *,
    weights_path: str | Path | None = None,
    seed: int = 0,
    meaningful: bool = True,
    raw: bool = False,
    **kwargs,
) -> nn.Module:
    """Build a torchaudio model in eval mode (no download: these builders have no weights).

    weights_path: a local state_dict of the unwrapped model. Without it and with
        `meaningful`, the seeded random init gets `make_numerically_meaningful`.
    raw: return models with tuple outputs (wav2vec2, hubert, wavlm: `(features, None)`)
        as they are, instead of wrapped in `SelectOutput(model, 0)`.
    kwargs: passed to torchaudio's builder (e.g. `num_sources`, `n_hidden`, `aux_num_out`).
    """
    entry = _entry(name)
    model = seeded(entry.factory, seed, **kwargs)
    model = initialize(
        model,
        lambda s: sample_inputs(name, seed=s, batch=_CALIBRATION_BATCH),
        seed=seed,
        weights_path=weights_path,
        meaningful=meaningful,
    )
    if entry.output_index is not None and not raw:
        model = SelectOutput(model, entry.output_index).eval()
    return model


def _entry(name: str) -> _Entry:
    try:
        return _MODELS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown torchaudio model {name!r}; choose from {list_models()}"
        ) from None
