"""``DepthVideoJSCC``: deep joint source-channel coding (analog) of RGB and depth, one model for a range of SNRs.

::

    rgb (B,3,H,W) ---g_a^rgb--> y_v (C/2) --+
                                            |--> AF_enc(. , SNR) --> fusion (1x1, 2C wide) --> z (B,C,H/16,W/16)
    depth (B,2,H,W) --g_a^d---> y_d (C/2) --+                                                 |
    (depth / depth_max - 0.5, valid mask)                                    normalize_power (1 per real symbol)
                                                                                             |
                                                      channel: AWGN / block Rayleigh at SNR  (k/2 complex uses)
                                                                                             |
    rgb_hat  <-- g_s^rgb <-- demapper^rgb(., SNR) <-- AF_dec^rgb(. , SNR) --+----------------- z_hat
    depth_hat <-- g_s^d  <-- demapper^d(., SNR)   <-- AF_dec^d(. , SNR)   --+   (depth_hat in metres)

No quantisation and no entropy model: the encoder's real outputs *are* the channel symbols
(Bourtsoulatze, Kurka, Gunduz 2019, "Deep Joint Source-Channel Coding for Wireless Image
Transmission", IEEE TCCN, Sec. II-III: power constraint ``(1/k) ||z||^2 <= 1``, trained end to end
through the noisy channel with an MSE loss). The transforms are the codec's (:mod:`.model`: four
stride-2 convolutions with GDN, 16x downsampling, ``channels`` wide). Both modalities' latents are
fused into ONE symbol tensor by two 1x1 convolutions; the shared / private split of the digital
codec is not kept (every symbol serves both decoders, and the loss decides how the channel uses
are shared).

**Width at the channel.** Each analysis ends in ``C/2`` channels and the fusion is ``2C`` wide, so
the ``C`` symbols at a position can carry ``C`` independent values (tested: over many frames they
have rank C). An earlier version (format ``infomm-jscc-1``) ended the analyses and the fusion's
hidden layer in ``channels`` = N: with N = 16 and C = 64, as in the benchmark, the symbols at a
position spanned a 16-dimensional subspace, so 3/4 of the channel uses repeated the others.

**Demapper.** Before its synthesis transform each decoder refines the received symbols with
``demapper_blocks`` residual blocks of 1x1 convolutions, ``u <- u + W_2 gelu(W_1 [u, snr_db / 10])``
(2C wide): the best estimate of what was sent depends on the noise level (for a Gaussian symbol
the MMSE estimate scales the received value by ``SNR / (1 + SNR)``), and the demapper forms it at
the symbols' full width, before the synthesis transform's first layer narrows them to N. With
``snr_conditioned=False`` the SNR input is 0 (the model ignores the SNR, as the AF modules'
absence says).

**Bandwidth ratio.** A frame of H x W pixels has ``n = 4 H W`` source samples (3 colours + depth).
The encoder emits ``k = C (H/16)(W/16)`` real symbols, i.e. ``k/2`` complex channel uses, so the
ratio of channel uses to source samples is ``(C/2) / (16 * 16 * 4)`` and ``C = 2048 * ratio``: the
valid ratios are ``j / 1024`` for a positive integer ``j`` (C = 2 j).

**SNR conditioning** (Xu, Ai, Chen, Wang, Chen, Yang 2021, "Wireless Image Transmission Using Deep
Source Channel Coding With Attention Modules", IEEE TCSVT; the attention feature (AF) module):
``x' = x * sigmoid(W_2 relu(W_1 [GAP(x), snr_db / 10]))``, per channel, once in the encoder (on the
concatenated latents) and once per decoder (on the received symbols). With ``snr_conditioned=False``
the AF modules are absent and the SNR is only the channel's. Training draws one SNR per item,
uniformly from ``snr_range_db``, so one model serves the whole range.

Example:
    >>> import torch
    >>> model = DepthVideoJSCC(JSCCConfig(channels=8, bandwidth_ratio=1 / 64)).eval()
    >>> rgb, depth = torch.rand(2, 3, 32, 32), 1 + torch.rand(2, 1, 32, 32)
    >>> with torch.no_grad():
    ...     out = model(rgb, depth, 10.0, generator=torch.Generator().manual_seed(0))
    >>> tuple(out.symbols.shape), tuple(out.rgb.shape), tuple(out.depth.shape)  # C = 2048 / 64
    ((2, 32, 2, 2), (2, 3, 32, 32), (2, 1, 32, 32))
    >>> [round(float(p), 4) for p in out.symbols.pow(2).flatten(1).mean(1)]  # unit power per item
    [1.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from infomm.compression.channels import AWGN, RayleighBlock, normalize_power
from infomm.compression.model import (
    DOWNSAMPLING,
    MODALITIES,
    _analysis,
    _mlp,
    _synthesis,
    check_frames,
    normalized_inputs,
)
from infomm.interface import InputError
from infomm.validation import check_int_range

#: source samples per pixel of an RGB-D frame (3 colours + 1 depth)
SAMPLES_PER_PIXEL = 4
#: the SNR enters the AF modules as snr_db / SNR_SCALE_DB (order 1 over 0-20 dB)
SNR_SCALE_DB = 10.0


class Channel(Protocol):
    """``channel(z, snr_db, generator) -> z_hat``, same shape (:mod:`.channels`)."""

    def __call__(
        self, z: Tensor, snr_db: float | Tensor, generator: torch.Generator | None = None
    ) -> Tensor: ...


#: channel name -> factory taking ``csi`` (AWGN ignores it)
CHANNELS: dict[str, Callable[[bool], Channel]] = {
    "awgn": lambda csi: AWGN(),
    "rayleigh": lambda csi: RayleighBlock(csi=csi),
}


def latent_channels(bandwidth_ratio: float) -> int:
    """Symbol channels C for a bandwidth ratio: ``C = 2 * 16 * 16 * 4 * ratio`` (module docstring).

    >>> latent_channels(1 / 64), latent_channels(3 / 1024)
    (32, 6)
    """
    per = 2 * DOWNSAMPLING * DOWNSAMPLING * SAMPLES_PER_PIXEL
    c = float(bandwidth_ratio) * per if isinstance(bandwidth_ratio, (int, float)) else math.nan
    if not (math.isfinite(c) and c > 0 and abs(c - round(c)) < 1e-6 and round(c) % 2 == 0):
        raise InputError(
            f"bandwidth_ratio={bandwidth_ratio!r} gives C = {per} * ratio = {c:.4g} symbol channels; it must "
            f"be a positive even integer: use ratio = j / {per // 2} for a positive integer j "
            f"(1/1024, 1/512, ..., 1/64 (C = 32), 1/32, ...)."
        )
    return int(round(c))


@dataclass
class JSCCConfig:
    """Architecture and channel of a :class:`DepthVideoJSCC`.

    Attributes:
        channels: width N of the transforms.
        bandwidth_ratio: k/n, complex channel uses per source sample (4 samples per RGB-D pixel);
            fixes the symbol channels C = 2048 * ratio (:func:`latent_channels`).
        channel: ``"awgn"`` or ``"rayleigh"`` (block fading, one gain per item).
        csi: the Rayleigh receiver knows the gain (MMSE equalisation); ignored for AWGN.
        snr_range_db: (low, high) of the uniform training SNR, dB.
        snr_conditioned: AF modules fed the SNR (ADJSCC) in encoder and decoders.
        depth_max_m: depth that maps to 1.0 at the input (metres).
        demapper_blocks: residual 1x1 blocks per decoder on the received symbols (0: none).
    """

    channels: int = 48
    bandwidth_ratio: float = 1 / 64
    channel: str = "awgn"
    csi: bool = True
    snr_range_db: tuple[float, float] = (0.0, 20.0)
    snr_conditioned: bool = True
    depth_max_m: float = 10.0
    demapper_blocks: int = 2

    def validate(self) -> None:
        check_int_range(self.channels, "channels", 1, 4096)
        check_int_range(self.demapper_blocks, "demapper_blocks", 0, 16)
        latent_channels(self.bandwidth_ratio)
        if self.channel not in CHANNELS:
            raise InputError(f"channel={self.channel!r} is not known; use one of {sorted(CHANNELS)}.")
        try:
            lo, hi = (float(v) for v in self.snr_range_db)
        except (TypeError, ValueError):
            lo = hi = math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise InputError(
                f"snr_range_db={self.snr_range_db!r} must be (low, high) in dB with low <= high, e.g. (0, 20)."
            )
        self.snr_range_db = (lo, hi)
        if not (isinstance(self.depth_max_m, (int, float)) and self.depth_max_m > 0):
            raise InputError(f"depth_max_m={self.depth_max_m!r}: must be positive (metres)")

    @property
    def symbol_channels(self) -> int:
        return latent_channels(self.bandwidth_ratio)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def model_id(self) -> str:
        cond = "snr" if self.snr_conditioned else "fixed"
        return f"jscc-{self.channel}-{cond}-{self.channels}-{self.symbol_channels}"


class SNRAttention(nn.Module):
    """The AF module of Xu et al. 2021: per-channel factors from ``[GAP(x), snr_db / 10]``.

    ``x (B, C, h, w), snr_db (B,) -> x * sigmoid(W_2 relu(W_1 [mean_hw(x), snr_db / 10]))[:, :, None, None]``
    """

    def __init__(self, channels: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or max(8, channels // 2)
        self.mlp = nn.Sequential(
            nn.Linear(channels + 1, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: Tensor, snr_db: Tensor) -> Tensor:
        context = torch.cat([x.mean(dim=(2, 3)), snr_db[:, None].to(x.dtype) / SNR_SCALE_DB], dim=1)
        return x * self.mlp(context)[:, :, None, None]


class Demapper(nn.Module):
    """Residual 1x1 blocks ``u <- u + W_2 gelu(W_1 [u, snr_db / 10])`` on the received symbols (module docstring).

    ``u (B, C, h, w), snr_db (B,) -> (B, C, h, w)``; ``blocks=0`` is the identity.
    """

    def __init__(self, channels: int, blocks: int, conditioned: bool):
        super().__init__()
        self.conditioned = conditioned
        self.blocks = nn.ModuleList(_mlp(channels + 1, 2 * channels, channels) for _ in range(blocks))

    def forward(self, u: Tensor, snr_db: Tensor) -> Tensor:
        if not self.blocks:
            return u
        b, _, h, w = u.shape
        level = snr_db.to(u.dtype) / SNR_SCALE_DB if self.conditioned else torch.zeros(b, dtype=u.dtype)
        snr_map = level.to(u.device)[:, None, None, None].expand(b, 1, h, w)
        for block in self.blocks:
            u = u + block(torch.cat([u, snr_map], dim=1))
        return u


class NoAttention(nn.Module):
    """Stands in for :class:`SNRAttention` in a model that ignores the SNR: ``x -> x``."""

    def forward(self, x: Tensor, snr_db: Tensor) -> Tensor:
        return x


def snr_per_item(snr_db: float | Tensor, batch: int) -> Tensor:
    """``snr_db`` (a number or a (B,) tensor, dB) as a float (B,) tensor."""
    snr = torch.as_tensor(snr_db, dtype=torch.float32)
    if snr.dim() == 0:
        snr = snr.expand(batch)
    if snr.shape != (batch,) or not bool(torch.isfinite(snr).all()):
        raise InputError(
            f"snr_db of shape {tuple(snr.shape)}: pass one finite number (dB) or a ({batch},) tensor, one per item"
        )
    return snr


def sample_snr(
    batch: int, snr_range_db: tuple[float, float], generator: torch.Generator | None = None
) -> Tensor:
    """(B,) SNRs drawn uniformly from ``[low, high]`` dB (the training distribution)."""
    lo, hi = snr_range_db
    return lo + (hi - lo) * torch.rand(batch, generator=generator)


@dataclass
class JSCCOutput:
    """What :meth:`DepthVideoJSCC.forward` returns.

    Attributes:
        rgb: reconstruction in [0, 1] (clamped in eval), (B, 3, H, W).
        depth: reconstruction in metres (>= 0 in eval), (B, 1, H, W).
        symbols: the channel input, unit power per item, (B, C, H/16, W/16).
        received: the channel output, same shape.
        snr_db: the SNR of each item, (B,).
    """

    rgb: Tensor
    depth: Tensor
    symbols: Tensor
    received: Tensor
    snr_db: Tensor


class DepthVideoJSCC(nn.Module):
    """RGB + depth through a noisy channel as analog symbols (module docstring)."""

    def __init__(self, config: JSCCConfig | None = None):
        super().__init__()
        self.config = cfg = config or JSCCConfig()
        cfg.validate()
        n, c = cfg.channels, cfg.symbol_channels
        half = c // 2  # each analysis ends C/2 wide: the C symbols can carry C values (docstring)
        self.channel: Channel = CHANNELS[cfg.channel](cfg.csi)
        self.analysis = nn.ModuleDict({"rgb": _analysis(3, n, half), "depth": _analysis(2, n, half)})
        attention: Callable[[int], nn.Module] = (
            SNRAttention if cfg.snr_conditioned else lambda _: NoAttention()
        )
        self.encoder_attention = attention(2 * half)
        self.fusion = _mlp(2 * half, 2 * c, c)
        self.decoder_attention = nn.ModuleDict({m: attention(c) for m in MODALITIES})
        self.demapper = nn.ModuleDict(
            {m: Demapper(c, cfg.demapper_blocks, cfg.snr_conditioned) for m in MODALITIES}
        )
        self.synthesis = nn.ModuleDict({"rgb": _synthesis(c, n, 3), "depth": _synthesis(c, n, 1)})

    def encode(self, rgb: Tensor, depth: Tensor, snr_db: Tensor) -> Tensor:
        """Channel symbols (B, C, H/16, W/16) at unit power per item, for the SNRs (B,) they will meet."""
        x = normalized_inputs(rgb, depth, self.config.depth_max_m)
        y = torch.cat([self.analysis[m](x[m]) for m in ("rgb", "depth")], dim=1)
        return normalize_power(self.fusion(self.encoder_attention(y, snr_db)))

    def decode(self, received: Tensor, snr_db: Tensor) -> tuple[Tensor, Tensor]:
        """(rgb in [0, 1] (clamped in eval), depth in metres) from the channel output."""
        u = {m: self.demapper[m](self.decoder_attention[m](received, snr_db), snr_db) for m in MODALITIES}
        rgb = self.synthesis["rgb"](u["rgb"]) + 0.5
        depth = (self.synthesis["depth"](u["depth"]) + 0.5) * self.config.depth_max_m
        if not self.training:
            rgb, depth = rgb.clamp(0.0, 1.0), depth.clamp_min(0.0)
        return rgb, depth

    def forward(
        self,
        rgb: Tensor,
        depth: Tensor,
        snr_db: float | Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        channel: Channel | None = None,
    ) -> JSCCOutput:
        """Encode, send, decode.

        Args:
            rgb, depth: (B, 3, H, W) in [0, 1] and (B, 1, H, W) in metres (0 = invalid), H, W
                multiples of 16.
            snr_db: a number or a (B,) tensor; ``None`` draws one per item from ``snr_range_db``
                (training).
            generator: the source of the SNR draws and the channel noise (``None``: torch's global RNG).
            channel: another channel to send through (e.g. AWGN for a Rayleigh-trained model).
        """
        check_frames(rgb, depth)
        b = rgb.shape[0]
        snr = (
            sample_snr(b, self.config.snr_range_db, generator) if snr_db is None else snr_per_item(snr_db, b)
        ).to(rgb.device)
        z = self.encode(rgb, depth, snr)
        z_hat = (channel or self.channel)(z, snr, generator=generator)
        rgb_hat, depth_hat = self.decode(z_hat, snr)
        return JSCCOutput(rgb_hat, depth_hat, z, z_hat, snr)
