"""Real-input FFTs and their inverses (torch.stft / istft, torch.fft.rfft / irfft).

Complex values are carried as real tensors with a trailing (real, imag) dim: the
real_spectra pass moves every reader of an FFT's complex result onto its
`view_as_real`, so `_fft_r2c` emits that real view, `_fft_c2r` reads one, and
`view_as_real` / `view_as_complex` are the identity.
A power-of-two length runs as TFLite's RFFT2D; any other (torchaudio's default n_fft
is 400) as one matmul against a constant DFT basis.
"""

from __future__ import annotations

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import tf_rank
from edgebatch._convert.lowerings.registry import lower
from edgebatch.errors import LoweringError

tf = tensorflow()
aten = torch.ops.aten

# torch's fft_norm_mode: 0 no scaling, 1 by 1/sqrt(n), 2 by 1/n
_SCALE = {0: lambda n: 1.0, 1: lambda n: 1.0 / np.sqrt(n), 2: lambda n: 1.0 / n}


def _is_power_of_two(n: int) -> bool:
    return n > 1 and n & (n - 1) == 0


def _rfft_kernel(x, n: int):
    """Onesided spectrum over the last dim via RFFT2D: [..., n] → [..., n//2+1, 2]."""
    spectrum = tf.signal.rfft(x, fft_length=[n])
    return tf.stack([tf.math.real(spectrum), tf.math.imag(spectrum)], axis=-1)


def _dft_matmul(x, n: int, bins: int):
    """The first `bins` DFT coefficients over the last dim as a matmul: [..., n] → [..., bins, 2].

    One [n, 2*bins] basis (cos and −sin columns interleaved) makes real and imaginary parts
    in a single FULLY_CONNECTED; angles are reduced mod n in integers, so the basis is exact
    to float32 rounding for any n.
    """
    k = np.arange(bins)
    t = np.arange(n)
    angle = 2.0 * np.pi * ((np.outer(t, k) % n) / n)
    basis = np.stack([np.cos(angle), -np.sin(angle)], axis=-1).reshape(n, 2 * bins)
    y = tf.tensordot(x, tf.constant(basis.astype(np.float32)), [[tf_rank(x) - 1], [0]])
    return tf.reshape(y, tf.concat([tf.shape(x)[:-1], [bins, 2]], 0))


# _fft_r2c(Tensor self, int[] dim, int normalization, bool onesided) -> Tensor
@lower(aten._fft_r2c.default)
def aten_fft_r2c(ctx, self, dim, normalization, onesided):
    if len(dim) != 1:
        raise LoweringError(f"_fft_r2c over {len(dim)} dims: only 1-D FFTs are lowered")
    axis = dim[0] % tf_rank(self)
    last = tf_rank(self) - 1
    x = self if axis == last else tf.experimental.numpy.moveaxis(self, axis, last)
    n = x.shape[-1]
    bins = n // 2 + 1 if onesided else n
    if onesided and _is_power_of_two(n):
        y = _rfft_kernel(x, n)
    else:
        y = _dft_matmul(x, n, bins)
    scale = _SCALE[normalization](n)
    if scale != 1.0:
        y = y * scale
    # the complex result's dims, then (real, imag): move the transformed dim back
    return y if axis == last else tf.experimental.numpy.moveaxis(y, last, axis)


def _inverse_dft_matmul(spectrum, n: int):
    """Real signal of length n from its onesided spectrum [..., bins, 2] (Hermitian
    symmetry supplies the other half; the imaginary parts of DC and Nyquist drop out, as
    in torch): one matmul against a [2*bins, n] basis."""
    bins = spectrum.shape[-2]
    k = np.arange(bins)
    weight = np.where((k == 0) | ((n % 2 == 0) & (k == n // 2)), 1.0, 2.0)
    angle = 2.0 * np.pi * ((np.outer(k, np.arange(n)) % n) / n)
    basis = np.stack([weight[:, None] * np.cos(angle), -weight[:, None] * np.sin(angle)], axis=1)
    flat = tf.reshape(spectrum, tf.concat([tf.shape(spectrum)[:-2], [2 * bins]], 0))
    basis = tf.constant(basis.reshape(2 * bins, n).astype(np.float32))
    return tf.tensordot(flat, basis, [[tf_rank(flat) - 1], [0]])


# _fft_c2r(Tensor self, int[] dim, int normalization, SymInt last_dim_size) -> Tensor
@lower(aten._fft_c2r.default)
def aten_fft_c2r(ctx, self, dim, normalization, last_dim_size):
    # self is the complex input's real view: [..., bins, 2]
    if len(dim) != 1:
        raise LoweringError(f"_fft_c2r over {len(dim)} dims: only 1-D inverse FFTs are lowered")
    complex_rank = tf_rank(self) - 1
    axis = dim[0] % complex_rank
    last = complex_rank - 1
    x = self if axis == last else tf.experimental.numpy.moveaxis(self, axis, last)
    y = _inverse_dft_matmul(x, last_dim_size)
    scale = _SCALE[normalization](last_dim_size)
    if scale != 1.0:
        y = y * scale
    return y if axis == last else tf.experimental.numpy.moveaxis(y, last, axis)


# view_as_complex(Tensor(a) self) -> Tensor(a)
@lower(aten.view_as_complex.default)
def aten_view_as_complex(ctx, self):
    return self  # the real view is how complex values travel


# view_as_real(Tensor(a) self) -> Tensor(a)
@lower(aten.view_as_real.default)
def aten_view_as_real(ctx, self):
    return self  # complex values already travel as their real view (see module docstring)
