"""Evaluate a :class:`DepthVideoJSCC` per channel and SNR; the digital separation reference beside it.

::

    frames -> for channel in (AWGN, the model's own channel), for SNR in snrs_db:
                model(rgb, depth, SNR, generator seeded with `seed`) -> mean per-frame PSNR-RGB, depth RMSE
    digital codec RD points (bpp, PSNR-RGB, depth RMSE) -> at R = capacity_bpp(SNR, k/n, 4):
                quality on the RD curve (monotone envelope, linear in log-rate) or "outage"

Example:
    >>> import torch
    >>> from infomm.compression.jscc import DepthVideoJSCC, JSCCConfig
    >>> model = DepthVideoJSCC(JSCCConfig(channels=8, channel="rayleigh"))
    >>> m = evaluate_jscc(model, torch.rand(2, 3, 32, 32), 1 + torch.rand(2, 1, 32, 32), [0, 20])
    >>> sorted(m["channels"]), [row["snr_db"] for row in m["channels"]["rayleigh"]]
    (['awgn', 'rayleigh'], [0.0, 20.0])
    >>> ref = digital_reference([(0.1, 25.0, 100.0), (0.4, 31.0, 40.0)], [0.0, 10.0], 1 / 64)
    >>> ref[0]["status"], ref[1]["status"], round(ref[1]["psnr_rgb"], 2)
    ('outage', 'interpolated', 28.34)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.compression.channels import AWGN, capacity_bpp, finite_blocklength_bits
from infomm.compression.evaluate import depth_rmse_mm, psnr_uint8
from infomm.compression.jscc import SAMPLES_PER_PIXEL, DepthVideoJSCC
from infomm.compression.latent_codecs import eval_mode
from infomm.compression.model import check_frames
from infomm.interface import InputError
from infomm.validation import check_int_range


def check_snrs(snrs_db: Any, name: str) -> tuple[float, ...]:
    """``snrs_db`` as a non-empty tuple of finite floats (dB); otherwise an :class:`InputError` naming ``name``."""
    try:
        out = tuple(float(s) for s in snrs_db)
    except (TypeError, ValueError):
        out = ()
    if not out or not all(math.isfinite(s) for s in out):
        raise InputError(
            f"{name}={snrs_db!r} must be a non-empty list of finite SNRs in dB, e.g. [0, 10, 20]."
        )
    return out


def evaluate_jscc(
    model: DepthVideoJSCC,
    rgb: Tensor,
    depth: Tensor,
    snrs_db: Sequence[float],
    seed: int = 0,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Mean per-frame PSNR-RGB (8-bit, :func:`psnr_uint8`) and depth RMSE (mm, :func:`depth_rmse_mm`)
    per channel and SNR, in eval mode.

    The channels are AWGN and, for a model trained on another channel (Rayleigh), that one too.
    Every (channel, SNR) pair draws its noise from a fresh ``torch.Generator`` seeded with
    ``seed``: the result is a function of its arguments, and all SNRs see the same noise pattern
    (scaled), which keeps the curve free of draw-to-draw jitter.

    Returns:
        ``{"frames", "size", "bandwidth_ratio", "seed", "channels": {name: [{"snr_db", "psnr_rgb",
        "depth_rmse_mm"}, ...]}}``.
    """
    check_frames(rgb, depth)
    snrs = check_snrs(snrs_db, "snrs_db")
    check_int_range(batch_size, "batch_size", 1)
    channels = {"awgn": AWGN(), model.config.channel: model.channel}
    result: dict[str, list[dict[str, float]]] = {}
    with eval_mode(model):
        for name, channel in channels.items():
            rows = []
            for snr in snrs:
                g = torch.Generator().manual_seed(seed)
                psnr, rmse = [], []
                for i in range(0, rgb.shape[0], batch_size):
                    r, d = rgb[i : i + batch_size], depth[i : i + batch_size]
                    out = model(r, d, snr, generator=g, channel=channel)
                    psnr += [psnr_uint8(out.rgb[j], r[j]) for j in range(r.shape[0])]
                    rmse += [depth_rmse_mm(out.depth[j], d[j]) for j in range(r.shape[0])]
                rows.append(
                    {"snr_db": snr, "psnr_rgb": float(np.mean(psnr)), "depth_rmse_mm": float(np.mean(rmse))}
                )
            result[name] = rows
    return {
        "frames": int(rgb.shape[0]),
        "size": [int(rgb.shape[2]), int(rgb.shape[3])],
        "bandwidth_ratio": model.config.bandwidth_ratio,
        "seed": seed,
        "channels": result,
    }


def _rd_points(points: Sequence[Any]) -> list[tuple[float, float, float]]:
    rows = []
    for p in points:
        try:
            row = (p["bpp"], p["psnr_rgb"], p["depth_rmse_mm"]) if isinstance(p, Mapping) else tuple(p)
            bpp, psnr, rmse = (float(v) for v in row)
        except (TypeError, ValueError, KeyError):
            bpp = psnr = rmse = math.nan
        if not (bpp > 0 and math.isfinite(bpp) and math.isfinite(psnr) and math.isfinite(rmse)):
            raise InputError(
                f"codec_rd_points: {p!r} is not (bpp_total > 0, psnr_rgb, depth_rmse_mm) with finite values"
            )
        rows.append((bpp, psnr, rmse))
    if not rows:
        raise InputError(
            "codec_rd_points is empty; pass the RD points of a digital codec (e.g. an rd_sweep)."
        )
    return sorted(rows)


def _envelope(rates: list[float], q: list[float], best: Any) -> tuple[np.ndarray, np.ndarray]:
    """The best quality at or below each rate (running ``best``), one value per distinct rate."""
    env: dict[float, float] = {}
    for r, v in zip(rates, itertools.accumulate(q, best), strict=True):
        env[r] = v  # rates ascending: the last value at a rate is the envelope there
    return np.log(np.array(list(env))), np.array(list(env.values()))


def digital_reference(
    codec_rd_points: Sequence[Any],
    snrs_db: Sequence[float],
    bandwidth_ratio: float,
    *,
    frame_pixels: int | None = None,
    error_rate: float = 1e-3,
) -> list[dict[str, Any]]:
    """The separation-theorem reference: a digital codec behind an ideal channel code, per SNR.

    At each SNR an ideal capacity-achieving channel code delivers
    ``R = 4 (k/n) log2(1 + SNR)`` bits per RGB-D pixel (:func:`~.channels.capacity_bpp` with 4
    samples per pixel; Shannon's separation theorem: source coding at R then channel coding is
    optimal for infinitely long blocks). The digital codec's quality at R is read off its RD curve:
    the points are sorted by rate, made monotone (the best PSNR / lowest depth RMSE at or below
    each rate: a system may always use a cheaper operating point), and interpolated piecewise
    linearly in ``log(bpp)``:
    ``q(R) = q_i + (q_{i+1} - q_i) (ln R - ln R_i) / (ln R_{i+1} - ln R_i)``.

    This is an upper bound for any real digital system at finite block length: no channel code
    loss, no cliff effect (below capacity the bits arrive error-free; the real system breaks down
    abruptly when the SNR falls under its design point, which is not modelled).

    With ``frame_pixels`` the channel code is instead one codeword per frame of
    ``4 (k/n) frame_pixels`` complex uses at block error rate ``error_rate``, and R is its
    normal-approximation rate (:func:`~.channels.finite_blocklength_bits`) per pixel: what a
    best digital system of the JSCC model's latency reaches (the lost frames, a fraction
    ``error_rate``, are not charged).

    Args:
        codec_rd_points: ``[(bpp_total, psnr_rgb, depth_rmse_mm), ...]`` (or dicts with keys
            ``bpp``, ``psnr_rgb``, ``depth_rmse_mm``, as in an RD sweep's points).
        snrs_db: channel SNRs (dB). bandwidth_ratio: k/n, complex channel uses per source sample.
        frame_pixels, error_rate: a finite code, one codeword per frame of this many pixels
            (``None``: the ideal capacity code).

    Returns:
        per SNR ``{"snr_db", "bpp" (= R), "psnr_rgb", "depth_rmse_mm", "status"}``, ``status``
        ``"interpolated"``; ``"saturated"`` above the highest-rate point (its quality: the codec
        cannot spend more bits); ``"outage"`` below the lowest-rate point (qualities ``None``: the
        codec has no operating point that fits).
    """
    pts = _rd_points(codec_rd_points)
    snrs = check_snrs(snrs_db, "snrs_db")
    rates = [p[0] for p in pts]
    lr_psnr, psnr = _envelope(rates, [p[1] for p in pts], max)
    lr_rmse, rmse = _envelope(rates, [p[2] for p in pts], min)
    out = []
    if frame_pixels is not None:
        check_int_range(frame_pixels, "frame_pixels", 1)
    for snr in snrs:
        bpp = capacity_bpp(snr, bandwidth_ratio, samples_per_pixel=SAMPLES_PER_PIXEL)
        if frame_pixels is not None:
            uses = SAMPLES_PER_PIXEL * bandwidth_ratio * frame_pixels
            bpp = finite_blocklength_bits(snr, uses, error_rate) / frame_pixels
        row: dict[str, Any] = {"snr_db": snr, "bpp": bpp}
        if bpp < rates[0]:
            row.update(psnr_rgb=None, depth_rmse_mm=None, status="outage")
        else:
            x = math.log(bpp)
            row.update(
                psnr_rgb=float(np.interp(x, lr_psnr, psnr)),
                depth_rmse_mm=float(np.interp(x, lr_rmse, rmse)),
                status="saturated" if bpp > rates[-1] else "interpolated",
            )
        out.append(row)
    return out
