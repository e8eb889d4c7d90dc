"""Noisy channels for joint source-channel coding (JSCC), and the digital reference.

Two settings, never mixed in one number:

- **analog symbols** (deep JSCC): the encoder's real outputs, ``k`` per item, are paired into
  ``k / 2`` complex channel uses, scaled to unit average power (:func:`normalize_power`) and sent
  through :class:`AWGN` or :class:`RayleighBlock`; the bandwidth ratio is channel uses per source
  sample, ``(k / 2) / n``.
- **digital bits**: a separate source codec's bits through an ideal capacity-achieving channel
  code: at most ``(k / 2) log2(1 + SNR)`` bits per item (:func:`capacity_bits`), i.e.
  :func:`capacity_bpp` bits per pixel. The project's own separate codec at that rate is the
  *digital separation reference* every JSCC curve is drawn beside. A code of finite length
  carries less: :func:`finite_blocklength_bits` (one codeword per frame, a block error rate).

References:
    Bourtsoulatze, Kurka, Gunduz (2019), "Deep Joint Source-Channel Coding for Wireless Image
    Transmission", IEEE TCCN: Sec. II (power constraint ``(1/k) ||z||^2 <= P``, AWGN and slow
    Rayleigh fading ``y = h z + n``, bandwidth ratio ``k / n``), Sec. IV (the capacity reference).
    Xu, Ai, Chen, Wang, Chen, Yang (2021), "Wireless Image Transmission Using Deep Source Channel
    Coding With Attention Modules" (ADJSCC), IEEE TCSVT: one model for a range of SNRs, with the SNR
    as an input (:mod:`infomm.compression.jscc`).
    Polyanskiy, Poor, Verdu (2010), "Channel Coding Rate in the Finite Blocklength Regime", IEEE
    Trans. Inf. Theory 56(5): the normal approximation and the dispersion of the AWGN channel
    (:func:`finite_blocklength_bits`); Tan, Tomamichel (2015), "The Third-Order Term in the Normal
    Approximation for the AWGN Channel", IEEE Trans. Inf. Theory 61(5): its ``(1/2) log n`` term.

Example:
    >>> import torch
    >>> z = normalize_power(torch.randn(2, 64) * 5)
    >>> [round(float(p), 4) for p in z.pow(2).mean(1)]
    [1.0, 1.0]
    >>> round(capacity_bpp(10.0, 1 / 12), 4)  # 3 (k/n) log2(1 + 10) for an RGB image
    0.8649
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from infomm.interface import InputError


def snr_linear(snr_db: float | Tensor) -> float | Tensor:
    """``10^(snr_db / 10)``."""
    return 10.0 ** (snr_db / 10.0)


def normalize_power(z: Tensor) -> Tensor:
    """Scale each item (row of the flattened tensor) to unit average power per real symbol.

    With real symbols paired into complex ones this is unit power per complex channel use split
    evenly: ``E|x|^2 = 2`` per complex use would double-count, so the pair (a, b) carries
    ``(a^2 + b^2) / 2 = 1`` on average, the convention of Bourtsoulatze et al. Sec. II.
    """
    flat = z.flatten(1)
    power = flat.pow(2).mean(1, keepdim=True).clamp_min(1e-12)
    return (flat / power.sqrt()).view_as(z)


def _check_even(z: Tensor) -> None:
    if z.flatten(1).shape[1] % 2:
        raise InputError(
            f"channel input of {z.flatten(1).shape[1]} real symbols per item; pair them: use an even count"
        )


def _noise_std(snr_db: float | Tensor, z: Tensor) -> Tensor:
    snr = torch.as_tensor(snr_db, dtype=z.dtype, device=z.device)
    snr = snr.view(-1, *([1] * (z.dim() - 1))) if snr.dim() else snr
    return torch.sqrt(10.0 ** (-snr / 10.0))  # per real symbol: signal power 1, noise power 1 / SNR


class AWGN:
    """``y = x + n``, ``n ~ N(0, 1 / SNR)`` per real symbol (unit-power input).

    ``snr_db`` is a float or a (B,) tensor (one SNR per item: SNR-conditioned training).
    """

    def __call__(self, z: Tensor, snr_db: float | Tensor, generator: torch.Generator | None = None) -> Tensor:
        noise = torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)
        return z + _noise_std(snr_db, z) * noise


class RayleighBlock:
    """Block (slow) Rayleigh fading: one ``h ~ CN(0, 1)`` per item, ``y = h x + n`` on complex pairs.

    Args:
        csi: the receiver knows ``h`` and equalises with the MMSE weight
            ``conj(h) / (|h|^2 + 1 / SNR)``; without it the decoder gets ``y`` as received and must
            cope with the unknown gain and phase itself.
    """

    def __init__(self, csi: bool = True):
        self.csi = csi

    def __call__(self, z: Tensor, snr_db: float | Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check_even(z)
        b = z.shape[0]
        flat = z.flatten(1)
        x = torch.complex(flat[:, 0::2], flat[:, 1::2])
        g = torch.randn(b, 4, generator=generator, dtype=z.dtype, device=z.device) / math.sqrt(2.0)
        h = torch.complex(g[:, 0], g[:, 1])[:, None]
        std = _noise_std(snr_db, flat)
        std = std.view(-1, 1) if std.dim() else std
        n = torch.complex(
            torch.randn(x.shape, generator=generator, dtype=z.dtype, device=z.device),
            torch.randn(x.shape, generator=generator, dtype=z.dtype, device=z.device),
        )
        y = h * x + std * n  # real and imaginary parts each carry noise power 1 / SNR
        if self.csi:
            y = y * h.conj() / (h.abs() ** 2 + std**2)
        out = torch.stack([y.real, y.imag], dim=2).flatten(1)
        return out.view_as(z)


def capacity_bits(snr_db: float, channel_uses: float) -> float:
    """Shannon capacity of ``channel_uses`` complex AWGN uses at unit power: ``uses * log2(1 + SNR)``."""
    return channel_uses * math.log2(1.0 + float(snr_linear(snr_db)))


def capacity_bpp(snr_db: float, bandwidth_ratio: float, samples_per_pixel: int = 3) -> float:
    """Bits per pixel an ideal channel code carries: ``samples_per_pixel * (k/n) * log2(1 + SNR)``,
    with ``k/n`` complex channel uses per source sample (3 samples per RGB pixel, 4 per RGB-D)."""
    if not bandwidth_ratio > 0:
        raise InputError(
            f"bandwidth_ratio={bandwidth_ratio}: must be positive (channel uses per source sample)"
        )
    return samples_per_pixel * bandwidth_ratio * math.log2(1.0 + float(snr_linear(snr_db)))


def finite_blocklength_bits(snr_db: float, channel_uses: float, error_rate: float = 1e-3) -> float:
    """Bits the best code of ``channel_uses`` complex AWGN uses carries at block error rate ``error_rate``.

    The normal approximation (Polyanskiy, Poor, Verdu 2010; the third-order term of Tan, Tomamichel
    2015, module docstring), on ``m = 2 * channel_uses`` real uses at SNR ``P``::

        log2 M* ~= m C - sqrt(m V) Q^-1(error_rate) + (1/2) log2 m
        C = (1/2) log2(1 + P),   V = P (P + 2) / (2 (P + 1)^2) * log2(e)^2   (per real use)

    clipped at 0 (no message fits). It tends to :func:`capacity_bits` per use as the block grows;
    one frame per codeword at 128 complex uses and -5 dB carries about 22 of the 51 capacity bits.

    >>> round(finite_blocklength_bits(-5.0, 128), 1), round(capacity_bits(-5.0, 128), 1)
    (21.9, 50.7)
    """
    if not (isinstance(snr_db, (int, float)) and math.isfinite(snr_db)):
        raise InputError(f"snr_db={snr_db!r}: must be a finite number (dB)")
    if not (isinstance(channel_uses, (int, float)) and channel_uses > 0):
        raise InputError(f"channel_uses={channel_uses}: must be positive (complex channel uses per codeword)")
    if not (isinstance(error_rate, (int, float)) and 0.0 < error_rate < 1.0):
        raise InputError(f"error_rate={error_rate}: must be in (0, 1), e.g. 1e-3 (block error rate)")
    from scipy.stats import norm

    p = float(snr_linear(snr_db))
    m = 2.0 * float(channel_uses)
    c = 0.5 * math.log2(1.0 + p)
    v = p * (p + 2.0) / (2.0 * (p + 1.0) ** 2) * math.log2(math.e) ** 2
    bits = m * c - math.sqrt(m * v) * float(norm.isf(error_rate)) + 0.5 * math.log2(m)
    return max(bits, 0.0)
