"""Channels: unit power, the SNR each channel delivers, equalisation, the capacity reference."""

from __future__ import annotations

import math

import pytest
import torch

from infomm.compression.channels import (
    AWGN,
    RayleighBlock,
    capacity_bits,
    capacity_bpp,
    finite_blocklength_bits,
    normalize_power,
)
from infomm.interface import InputError


def test_power_normalization_gives_unit_power_per_item():
    z = normalize_power(torch.randn(3, 4, 8, 8) * torch.tensor([0.1, 1.0, 30.0]).view(3, 1, 1, 1))
    assert torch.allclose(z.pow(2).flatten(1).mean(1), torch.ones(3), atol=1e-5)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_awgn_delivers_the_nominal_snr(snr_db):
    g = torch.Generator().manual_seed(0)
    x = normalize_power(torch.randn(4, 50_000, generator=g))
    y = AWGN()(x, snr_db, generator=g)
    measured = 10 * math.log10(float(x.pow(2).mean() / (y - x).pow(2).mean()))
    assert abs(measured - snr_db) < 0.05


def test_awgn_takes_one_snr_per_item():
    g = torch.Generator().manual_seed(1)
    x = normalize_power(torch.randn(2, 40_000, generator=g))
    y = AWGN()(x, torch.tensor([0.0, 20.0]), generator=g)
    noise = (y - x).pow(2).mean(1)
    assert torch.allclose(noise, torch.tensor([1.0, 0.01]), rtol=0.03)


def test_rayleigh_with_csi_equalises_to_the_mmse_estimate():
    """With CSI, the output is (|h|^2 / (|h|^2 + 1/SNR)) x + noise: at high SNR, x itself; the error
    power averaged over fades matches E[1 / (|h|^2 SNR + 1)] (the MMSE of each block)."""
    g = torch.Generator().manual_seed(2)
    x = normalize_power(torch.randn(2000, 256, generator=g))
    y = RayleighBlock(csi=True)(x, 30.0, generator=g)
    err = (y - x).pow(2).mean(1)
    assert float(err.median()) < 0.01  # most fades are well above the noise at 30 dB
    # without CSI the phase is unknown: the output is uncorrelated with x on average
    y_blind = RayleighBlock(csi=False)(x, 30.0, generator=g)
    corr = (y_blind * x).mean(1) / y_blind.pow(2).mean(1).sqrt()
    assert abs(float(corr.mean())) < 0.05
    # received power without CSI: E|h|^2 = 1 per block, plus the noise
    assert abs(float(y_blind.pow(2).mean()) - (1 + 10**-3)) < 0.1


def test_rayleigh_needs_pairs():
    with pytest.raises(InputError, match="even"):
        RayleighBlock()(torch.zeros(1, 3), 10.0)


def test_capacity_reference():
    assert capacity_bits(0.0, 100) == pytest.approx(100.0)  # log2(1 + 1) = 1 bit per use
    assert capacity_bpp(20.0, 1 / 6) == pytest.approx(3 / 6 * math.log2(101))
    assert capacity_bpp(20.0, 1 / 6, samples_per_pixel=4) == pytest.approx(4 / 6 * math.log2(101))
    with pytest.raises(InputError, match="bandwidth_ratio"):
        capacity_bpp(10.0, 0.0)


def test_finite_blocklength_rate():
    """The normal approximation: below capacity at short blocks, tending to it per use, exact at eps = 1/2."""
    for snr in (-5.0, 0.0, 5.0, 20.0):
        short = finite_blocklength_bits(snr, 128)
        assert 0 < short < capacity_bits(snr, 128)
        per_use = [finite_blocklength_bits(snr, n) / capacity_bits(snr, n) for n in (1e2, 1e4, 1e6, 1e8)]
        assert per_use == sorted(per_use) and per_use[-1] == pytest.approx(1.0, abs=1e-3)
        # Q^-1(1/2) = 0: only the third-order term (1/2) log2(2 n) over capacity remains
        assert finite_blocklength_bits(snr, 128, 0.5) == pytest.approx(capacity_bits(snr, 128) + 4.0)
        assert finite_blocklength_bits(snr, 128, 1e-5) < short < finite_blocklength_bits(snr, 128, 1e-1)
    # AWGN dispersion at 0 dB: V = 1 * 3 / (2 * 4) log2(e)^2 per real use
    v = 3 / 8 * math.log2(math.e) ** 2
    expected = 256 * 0.5 - math.sqrt(256 * v) * 3.090232306167813 + 4.0
    assert finite_blocklength_bits(0.0, 128, 1e-3) == pytest.approx(expected)
    assert finite_blocklength_bits(-10.0, 10) == 0.0  # nothing fits: clipped at 0 bits
    with pytest.raises(InputError, match="error_rate"):
        finite_blocklength_bits(0.0, 128, 0.0)
    with pytest.raises(InputError, match="channel_uses"):
        finite_blocklength_bits(0.0, 0)
    with pytest.raises(InputError, match="snr_db"):  # never a silent NaN
        finite_blocklength_bits(float("nan"), 128)
    with pytest.raises(InputError, match="snr_db='10'"):  # never a TypeError from math
        finite_blocklength_bits("10", 128)  # type: ignore[arg-type]
