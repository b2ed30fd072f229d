"""FFTs, STFT and torchaudio's spectrograms through convert → LiteRT, with built-in ops only.

Tolerance: these sum hundreds of products (a DFT coefficient per bin and frame), so the
float32 error scales with the output's magnitude; the check is max error ≤ 1e-4 ×
max|reference| (the issue's bound), which also holds for the dB and DCT outputs of MFCC.
"""

import numpy as np
import pytest
import torch
import torchaudio

import edgebatch
from edgebatch.errors import UnsupportedOpError
from tests.convert.checks import op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)


def assert_matches_at_scale(module, args, rel=1e-4):
    """Convert and compare, each output at rel × its largest magnitude. Returns the model."""
    module = module.eval()
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    model = edgebatch.convert(module, args)
    actual = model(*args)
    actual = actual if isinstance(actual, tuple) else (actual,)
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        e = e.numpy()
        assert a.shape == e.shape, f"output {i}: {a.shape} != {e.shape}"
        assert np.abs(a - e).max() <= rel * np.abs(e).max(), f"output {i}"
    return model


def _stft(n_fft, **kwargs):
    window = torch.hann_window(n_fft)

    def spectra(x):
        s = torch.stft(x, n_fft, hop_length=n_fft // 4, window=window, return_complex=True,
                       **kwargs)
        return s.abs(), torch.view_as_real(s)

    return Fn(spectra)


def test_stft_power_of_two_is_rfft2d():
    ops = op_counts(assert_matches_at_scale(_stft(64), (torch.randn(2, 400),)))
    assert ops["RFFT2D"] == 1


@pytest.mark.parametrize("kwargs", [{}, {"normalized": True, "center": False},
                                    {"onesided": False}])
def test_stft_other_lengths_are_one_matmul(kwargs):
    ops = op_counts(assert_matches_at_scale(_stft(50, **kwargs), (torch.randn(2, 300),)))
    assert ops["FULLY_CONNECTED"] == 1 and "RFFT2D" not in ops


def test_fft_over_a_middle_dim_and_its_inverses():
    window = torch.hann_window(32)

    def transforms(x, spectrum):
        s = torch.stft(x, 32, hop_length=8, window=window, return_complex=True)
        return (
            torch.fft.rfft(x.reshape(2, 10, 20), dim=1).abs(),
            torch.fft.irfft(torch.fft.rfft(x), n=50),
            torch.fft.irfft(torch.view_as_complex(spectrum), norm="ortho"),
            torch.istft(s, 32, hop_length=8, window=window, length=200),
        )

    assert_matches_at_scale(Fn(transforms), (torch.randn(2, 200), torch.randn(3, 9, 2)))


@pytest.mark.parametrize("transform", [
    torchaudio.transforms.Spectrogram(),
    torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, n_mels=40),
    torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=13),
], ids=["Spectrogram", "MelSpectrogram", "MFCC"])
def test_torchaudio_features(transform):
    assert_matches_at_scale(transform, (torch.randn(1, 8000),))


class ComplexProduct(torch.nn.Module):
    def forward(self, x, y):
        return torch.fft.irfft(torch.fft.rfft(x) * torch.fft.rfft(y), n=x.shape[-1])


def test_other_ops_on_complex_values_are_refused_not_computed_on_the_real_view():
    x, y = torch.randn(1, 16), torch.randn(1, 16)
    with pytest.raises(UnsupportedOpError, match="aten.mul.Tensor on complex input"):
        edgebatch.convert(ComplexProduct(), (x, y))
