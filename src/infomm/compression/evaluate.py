"""Held-out evaluation of a codec with real bitstreams: rate, quality, operational MI.

Per frame: the file from :meth:`DepthVideoCodec.compress` (actual bits, per stream and in all),
the eval-mode estimate, the decoded frame (checked against the eval-mode forward bit for bit),
PSNR of the RGB as written to an 8-bit PNG, and the depth RMSE in mm on valid pixels as written
to a 16-bit PNG. For a joint codec, the operational MI: the bits its conditional models save on
the private latents against marginal models fitted to the same latents (VQ: the indices' marginal
pmf; :func:`~infomm.compression.operational.operational_mi`).

Example:
    >>> import torch
    >>> from infomm.compression.model import CodecConfig, DepthVideoCodec
    >>> model = DepthVideoCodec(CodecConfig(channels=8, shared=4, private=2)).eval()
    >>> model.update()
    >>> m = evaluate_codec(model, torch.rand(2, 3, 32, 32), 1 + torch.rand(2, 1, 32, 32), mi_steps=20)
    >>> m["bit_exact"], m["frames"]
    (True, 2)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.compression.bitstream import unpack
from infomm.compression.context_codecs import ContextLatentCodec, VectorQuantizedGiven
from infomm.compression.latent_codecs import (
    SHARED,
    ConditionalLatentCodec,
    SeparateLatentCodec,
    SharedPrivateCodec,
)
from infomm.compression.model import DepthVideoCodec, pad_frames
from infomm.compression.operational import operational_mi
from infomm.functional.rate import bits as rate_bits
from infomm.functional.rate import total_bits


def psnr_uint8(rgb_hat: Tensor, rgb: Tensor) -> float:
    """PSNR (dB) of two [0, 1] images after rounding both to 8 bits (what a PNG stores)."""
    a, b = torch.round(rgb_hat * 255.0), torch.round(rgb * 255.0)
    mse = float(torch.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def depth_rmse_mm(depth_hat: Tensor, depth: Tensor) -> float:
    """RMSE (mm) over valid pixels (``depth > 0``) after rounding both to whole mm (a 16-bit PNG)."""
    valid = depth > 0
    a, b = torch.round(depth_hat * 1000.0), torch.round(depth * 1000.0)
    return float(torch.sqrt(torch.mean((a - b)[valid] ** 2))) if valid.any() else 0.0


def fit_marginals(
    codec: ConditionalLatentCodec, latents: dict[str, Tensor], steps: int = 300
) -> SeparateLatentCodec:
    """A separate codec for the same latents: the joint codec's shared model, and a factorized
    density per private latent fitted to these latents (Adam, ``steps`` steps, noise proxy)."""
    separate = SeparateLatentCodec(
        codec.shared_channels, codec.private_channels, shared_model=copy.deepcopy(codec.shared)
    )
    models = list(separate.marginals.values())
    params = [p for m in models for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    n = sum(latents[k].numel() for k in codec.private_channels)
    for model in models:
        model.train()
    for _ in range(steps):
        loss = sum(
            (total_bits(separate.marginals[k](latents[k])[1]) for k in codec.private_channels),
            torch.zeros(()),
        )
        opt.zero_grad()
        (loss / n).backward()
        opt.step()
    separate.update()
    return separate.eval()


@torch.no_grad()
def fit_vq_marginals(codec: ContextLatentCodec, latents: dict[str, Tensor]) -> ContextLatentCodec:
    """A separate codec for the same VQ indices: the joint codec's shared model and codebooks, and
    for each private latent the marginal pmf of these latents' indices (counts + 1/2, the
    Krichevsky-Trofimov estimate: no training, and in-sample, so the marginal is if anything
    favoured and the saving it reports is conservative)."""
    separate = ContextLatentCodec(
        codec.shared_channels,
        codec.private_channels,
        conditional=False,
        quantizer="vq",
        codebook_size=codec.codebook_size,
    )
    separate.shared = copy.deepcopy(codec.shared)
    separate.share_codebooks(codec)
    for name, model in separate.models.items():
        assert isinstance(model, VectorQuantizedGiven) and model.marginal_logits is not None
        idx = model.indices(latents[name]).reshape(-1)
        counts = torch.bincount(idx, minlength=codec.codebook_size).double() + 0.5
        model.marginal_logits.data = torch.log(counts / counts.sum()).float()
    return separate.eval()


@torch.no_grad()
def _frame(model: DepthVideoCodec, rgb: Tensor, depth: Tensor) -> dict[str, Any]:
    """One frame (1, C, H, W) or one clip (1, T, C, H, W): its file, rates and qualities."""
    h, w = rgb.shape[-2:]
    frames = rgb.shape[1] if rgb.dim() == 5 else 1
    out = model(*pad_frames(rgb, depth))
    out_rgb, out_depth = out.rgb[..., :h, :w], out.depth[..., :h, :w]
    data = model.compress(rgb, depth)
    frame = model.decompress(data)
    pixels = h * w * frames
    lengths = _stream_lengths(data)
    names = model.latent_codec.names
    actual = {k: 8.0 * sum(lengths[i :: len(names)]) / pixels for i, k in enumerate(names)}
    est = {k: float(v.sum()) / pixels for k, v in out.bits.items()}
    extra: dict[str, Any] = {}
    if model.config.independent:  # each modality's own codec: its half of s and its private latent
        shared_bits = rate_bits(out.likelihoods[SHARED])
        extra["bpp_side"] = {  # channels are dim -3 of frame and of clip latents
            m: (float(shared_bits[..., sl, :, :].sum()) + est[m] * pixels) / pixels
            for m, sl in model.slices.items()
        }
    if frames > 1:  # a clip: the bits of each frame (the intra frame 0, then the predicted ones)
        per = [8.0 * sum(lengths[t * len(names) : (t + 1) * len(names)]) / (h * w) for t in range(frames)]
        extra["bpp_by_frame"] = per
    return extra | {
        "bytes": len(data),
        "bpp_actual": {
            "shared": actual[SHARED],
            "rgb": actual["rgb"],
            "depth": actual["depth"],
            "total": 8.0 * len(data) / pixels,
        },
        "bpp_estimated": {
            "shared": est[SHARED],
            "rgb": est["rgb"],
            "depth": est["depth"],
            "total": sum(est.values()),
        },
        "psnr_rgb": psnr_uint8(frame["rgb"], rgb),
        "depth_rmse_mm": depth_rmse_mm(frame["depth"], depth),
        "bit_exact": bool(torch.equal(frame["rgb"], out_rgb) and torch.equal(frame["depth"], out_depth)),
    }


def _stream_lengths(data: bytes) -> tuple[int, ...]:
    return unpack(data)[0].stream_lengths


def evaluate_codec(
    model: DepthVideoCodec, rgb: Tensor, depth: Tensor, *, mi_steps: int = 300
) -> dict[str, Any]:
    """Mean per-frame metrics over a set of frames (B, C, H, W) or clips (B, T, C, H, W) (see the
    module docstring), plus per-frame (per-clip) rows; a clip's bits per pixel count its T frames."""
    model.eval()
    rows = [_frame(model, rgb[i : i + 1], depth[i : i + 1]) for i in range(rgb.shape[0])]

    def mean(key: str) -> Any:
        if isinstance(rows[0][key], dict):
            return {k: float(np.mean([r[key][k] for r in rows])) for k in rows[0][key]}
        return float(np.mean([r[key] for r in rows]))

    metrics: dict[str, Any] = {
        "frames": len(rows),
        "size": [int(rgb.shape[-2]), int(rgb.shape[-1])],
        "bpp_actual": mean("bpp_actual"),
        "bpp_estimated": mean("bpp_estimated"),
        "psnr_rgb": mean("psnr_rgb"),
        "depth_rmse_mm": mean("depth_rmse_mm"),
        "bit_exact": all(r["bit_exact"] for r in rows),
        "max_rate_error": max(abs(r["bpp_actual"]["total"] / r["bpp_estimated"]["total"] - 1) for r in rows),
        "per_frame": rows,
    }
    if "bpp_side" in rows[0]:
        metrics["bpp_side"] = mean("bpp_side")
    if "bpp_by_frame" in rows[0]:  # clips: the mean stream bits of each frame position
        metrics["clips"], metrics["clip_length"] = len(rows), int(rgb.shape[1])
        metrics["frames"] = len(rows) * int(rgb.shape[1])
        metrics["bpp_by_frame"] = [float(v) for v in np.mean([r["bpp_by_frame"] for r in rows], axis=0)]
    codec = model.latent_codec
    vq_joint = isinstance(codec, ContextLatentCodec) and codec.quantizer == "vq" and codec.conditional
    # an independent codec's s is two modalities' parts, not one shared latent, and a coupled
    # codec's cross-modal saving is its BD-rate against the independent codec: no operational MI
    cross = not model.config.independent
    if (
        (isinstance(codec, ConditionalLatentCodec) or vq_joint)
        and cross
        and rgb.dim() == 4
        and rgb.shape[0] >= 2
    ):
        with torch.no_grad():
            latents = model.encode_latents(*pad_frames(rgb, depth))
        if isinstance(codec, ContextLatentCodec):
            separate: SharedPrivateCodec = fit_vq_marginals(codec, latents)
        else:
            assert isinstance(codec, ConditionalLatentCodec)
            separate = fit_marginals(codec, latents, steps=mi_steps)
        result = operational_mi(codec, separate, latents)
        pixels = rgb.shape[2] * rgb.shape[3]
        metrics["operational_mi"] = {
            "bits_per_frame": {k: v * latents[k][0].numel() for k, v in result.per_element.items()},
            "bpp": {k: v * latents[k][0].numel() / pixels for k, v in result.per_element.items()},
            "interval_bpp": {
                k: [lo * latents[k][0].numel() / pixels, hi * latents[k][0].numel() / pixels]
                for k, (lo, hi) in result.interval.items()
            },
            "saved_fraction": result.saved_fraction,
        }
    return metrics
