"""``DepthVideoCodec``: RGB and depth coded together through a shared and two private latents.

::

    rgb (B,3,H,W) --g_a^rgb--> y_v --+                         +--> p_v --+
                                     |--> JointLatentFusion ---|--> s ----|--> latent codec --> (s_hat, p_v_hat, p_d_hat)
    depth (B,2,H,W) --g_a^d--> y_d --+   (1x1 convs)           +--> p_d --+   (conditional or separate)
    (depth / depth_max, valid mask)
    g_s^rgb(s_hat ++ p_v_hat) -> rgb_hat        g_s^d(s_hat ++ p_d_hat) -> depth_hat (metres)

The analysis transforms are four stride-2 convolutions with GDN (16x downsampling), the synthesis
transforms four transposed convolutions with inverse GDN (Balle, Laparra, Simoncelli 2016,
"Density Modeling of Images using a Generalized Normalization Transformation", ICLR, Eq. 5-6;
the architecture of Balle et al. 2018, Fig. 4, at a CPU-friendly width). The fusion pools both
modalities' latents into ``s`` and projects each modality's own latent into its private part.
With ``conditional=True`` the private latents are coded given ``s_hat`` (the joint codec); with
``False`` every latent has its own marginal model (the separate-coding baseline, same backbone).

``independent=True`` makes the same backbone two codecs with no path between the modalities
(the baseline of the cross-modal controls)::

    y_d --> s_d (shared channels) --> p_d | s_d_hat --> g_s^d(s_d_hat ++ p_d_hat)
    y_v --> s_v (shared channels) --> p_v | s_v_hat --> g_s^rgb(s_v_hat ++ p_v_hat)

``s = s_d ++ s_v``: each modality's part is computed from that modality alone and read only by its
own private model and decoder, and has as many channels as the joint codec's whole ``s``, so each
decoder and private model reads as many channels as in the joint codec (an unused channel costs
next to no bits). The joint codec then has no capacity advantage: with halves of ``s`` it could
share out the width between the modalities, and showed a BD-rate of -13 % on the depth axis
on shuffled pairs, which share nothing (the benchmark's controls at CPU length). What the joint codec saves against
this baseline is what coding the two together saves; the separate baseline above also loses the
hyperprior-like conditioning within a modality, so on shuffled pairs the joint codec beats it.

Clips (``temporal=True``): frame 0 is coded as above, frame ``t > 0`` by an inter codec whose
entropy models also read frame ``t-1``'s decoded latents; with ``quantizer="vq"`` the private
latents are vector-quantized and their indices coded under a categorical model given ``s_hat``
(both: :mod:`~infomm.compression.context_codecs`).

GDN is written here (a dozen lines) because CompressAI, which has it, is not a dependency
(installing it replaces the CPU torch and pins numpy<2).

Example:
    >>> import torch
    >>> model = DepthVideoCodec(CodecConfig(channels=8, shared=4, private=2)).eval()
    >>> model.update()
    >>> rgb, depth = torch.rand(1, 3, 32, 32), 1 + torch.rand(1, 1, 32, 32)
    >>> out = model(rgb, depth)
    >>> sorted(out.bpp)
    ['depth', 'rgb', 'shared', 'total']
    >>> frame = model.decompress(model.compress(rgb, depth))
    >>> torch.equal(frame["rgb"], out.rgb) and torch.equal(frame["depth"], out.depth)
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from infomm.compression.bitstream import container_bytes, pack, stream_overhead_bits, unpack, weights_hash
from infomm.compression.context_codecs import QUANTIZERS, ContextLatentCodec
from infomm.compression.latent_codecs import (
    SHARED,
    ChainedDensity,
    ConditionalLatentCodec,
    GaussianParams,
    SeparateLatentCodec,
    SharedPrivateCodec,
    SideSlice,
    eval_mode,
)
from infomm.functional.rate import bits as rate_bits
from infomm.interface import CompressedLatents, InputError
from infomm.validation import check_int_range

MODALITIES = ("depth", "rgb")
DOWNSAMPLING = 16
#: beta of the VQ commitment term ``beta ||p - sg(p_hat)||^2`` (van den Oord et al. 2017, Eq. 3)
VQ_COMMITMENT = 0.25
#: a file holds at most 255 streams, 3 per frame
MAX_CLIP_FRAMES = 85


@dataclass
class CodecConfig:
    """Architecture of a :class:`DepthVideoCodec`.

    Attributes:
        channels: width N of the transforms.
        shared, private: channels of ``s`` and of each private latent.
        conditional: code the private latents given ``s_hat`` (``False``: the separate baseline).
        depth_max_m: depth that maps to 1.0 at the input (metres).
        quantizer: ``"scalar"`` (rounding; uniform noise in training) or ``"vq"`` (the private
            latents vector-quantized with an EMA codebook, indices coded under a categorical
            model given ``s_hat``; :mod:`~infomm.compression.context_codecs`).
        codebook_size: codes per private latent (``"vq"``).
        temporal: code clips predictively: frame t's latents given frame t-1's decoded latents
            (frame 0 and single frames: the intra codec).
        independent: two codecs with no path between the modalities (scalar, single-frame):
            ``s`` is a depth part and an RGB part of ``shared`` channels each, each from its own
            modality and read only by that modality's private model and decoder.
        fusion_hidden: hidden width of the fusion network that makes ``s`` (of each part's for an
            ``independent`` codec); 0 means ``channels``. The joint codec that nests an
            independent one (:mod:`~infomm.compression.nesting`) has ``2 * channels``.
        coupled: with ``independent``, the entropy models read across the modalities while the
            transforms do not (the *coupled* codec): ``s``'s RGB part is coded given its decoded
            depth part (:class:`~infomm.compression.latent_codecs.ChainedDensity`) and each
            private latent given all of ``s_hat``. The decoders read only their own modality's
            latents; the other modality sets the rate model and, through the predicted means,
            the offset of the grid the latents are rounded on (mean-shifted rounding).
    """

    channels: int = 48
    shared: int = 32
    private: int = 16
    conditional: bool = True
    depth_max_m: float = 10.0
    quantizer: str = "scalar"
    codebook_size: int = 64
    temporal: bool = False
    independent: bool = False
    fusion_hidden: int = 0
    coupled: bool = False

    def validate(self) -> None:
        for name in ("channels", "shared", "private"):
            check_int_range(getattr(self, name), name, 1, 4096)
        if not self.depth_max_m > 0:
            raise InputError(f"depth_max_m={self.depth_max_m}: must be positive (metres)")
        if self.quantizer not in QUANTIZERS:
            raise InputError(f"quantizer={self.quantizer!r} is not known; use one of {', '.join(QUANTIZERS)}")
        check_int_range(self.codebook_size, "codebook_size", 2, 1 << 16)
        check_int_range(self.fusion_hidden, "fusion_hidden", 0, 4096)
        if self.independent and (self.quantizer != "scalar" or self.temporal):
            raise InputError(
                f"independent=True codes single frames with the scalar quantizer "
                f"(got quantizer={self.quantizer!r}, temporal={self.temporal}); drop one of the settings"
            )
        if self.coupled and not (self.independent and self.conditional):
            raise InputError(
                f"coupled=True couples the entropy models of an independent codec (got independent="
                f"{self.independent}, conditional={self.conditional}); set independent=True, conditional=True"
            )

    @property
    def shared_total(self) -> int:
        """Channels of ``s``: ``shared``, or ``2 * shared`` for an ``independent`` codec."""
        return 2 * self.shared if self.independent else self.shared

    def shared_slices(self) -> dict[str, slice]:
        """Modality -> the channels of ``s`` its private model and decoder read (all of them unless
        ``independent``: then depth reads the first ``shared``, RGB the next ``shared``)."""
        if not self.independent:
            return {m: slice(0, self.shared) for m in MODALITIES}
        return {"depth": slice(0, self.shared), "rgb": slice(self.shared, 2 * self.shared)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def model_id(self) -> str:
        kind = "joint" if self.conditional else "separate"
        if self.independent:
            kind = "independent" if self.conditional else "independent-marginal"
            kind = "coupled" if self.coupled else kind
        vq = f"-vq{self.codebook_size}" if self.quantizer == "vq" else ""
        clip = "-clip" if self.temporal else ""
        hidden = f"-f{self.fusion_hidden}" if self.fusion_hidden else ""
        return f"dvc-{kind}{vq}{clip}-{self.channels}-{self.shared}-{self.private}{hidden}"


class GDN(nn.Module):
    """Generalized divisive normalization ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``
    (Balle et al. 2016, Eq. 5); ``inverse=True`` multiplies instead (their Eq. 6 approximation).
    beta and gamma are kept positive by squaring reparametrised values."""

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        gamma = (self.gamma**2).view(c, c, 1, 1)
        norm = torch.sqrt(F.conv2d(x * x, gamma, self.beta**2 + 1e-6))
        return x * norm if self.inverse else x / norm


def _analysis(c_in: int, n: int, c_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate([(c_in, n), (n, n), (n, n), (n, c_out)]):
        layers.append(nn.Conv2d(a, b, 5, stride=2, padding=2))
        if i < 3:
            layers.append(GDN(b))
    return nn.Sequential(*layers)


def _synthesis(c_in: int, n: int, c_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate([(c_in, n), (n, n), (n, n), (n, c_out)]):
        layers.append(nn.ConvTranspose2d(a, b, 5, stride=2, padding=2, output_padding=1))
        if i < 3:
            layers.append(GDN(b, inverse=True))
    return nn.Sequential(*layers)


def _mlp(c_in: int, hidden: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, hidden, 1), nn.GELU(), nn.Conv2d(hidden, c_out, 1))


class JointLatentFusion(nn.Module):
    """``s = f(y_d ++ y_v)`` (two 1x1 convs, ``hidden`` wide), ``p_m = h_m(y_m)`` (a 1x1 conv per modality).

    With ``split`` (channel widths: modality -> its part of ``s``, in ``MODALITIES`` order)
    ``s = f_d(y_d) ++ f_v(y_v)``: each part from its own modality only.
    """

    def __init__(
        self,
        latent: int,
        shared: int,
        private: int,
        split: dict[str, int] | None = None,
        hidden: int | None = None,
    ):
        super().__init__()
        self.split = split
        width = hidden or latent
        self.shared: nn.Module = (
            _mlp(2 * latent, width, shared)
            if split is None
            else nn.ModuleDict({m: _mlp(latent, width, split[m]) for m in MODALITIES})
        )
        self.private = nn.ModuleDict({m: nn.Conv2d(latent, private, 1) for m in MODALITIES})

    def forward(self, y: dict[str, Tensor]) -> dict[str, Tensor]:
        if self.split is None:
            s = self.shared(torch.cat([y[m] for m in MODALITIES], dim=1))
        else:
            parts: Any = self.shared
            s = torch.cat([parts[m](y[m]) for m in MODALITIES], dim=1)
        return {SHARED: s} | {m: self.private[m](y[m]) for m in MODALITIES}


@dataclass
class CodecOutput:
    """What :meth:`DepthVideoCodec.forward` returns.

    Frames (B, C, H, W) give frames; clips (B, T, C, H, W) give clips, latents (B, T, c, h, w).

    Attributes:
        rgb: reconstruction in [0, 1] (clamped in eval), (B, 3, H, W) or (B, T, 3, H, W).
        depth: reconstruction in metres, (B, 1, H, W) or (B, T, 1, H, W).
        bits: latent name -> estimated bits per item (B,) (a clip: all its frames).
        bpp: ``rgb`` / ``depth`` (private latents), ``shared`` and ``total``, mean bits per pixel
            (per pixel of one frame: a clip's bits are divided by its T H W pixels).
        likelihoods: latent name -> per-element likelihoods.
        latents: latent name -> the continuous latents before quantization.
        aux_loss: the VQ commitment term (0 for the scalar quantizer); a training loss adds it.
    """

    rgb: Tensor
    depth: Tensor
    bits: dict[str, Tensor]
    bpp: dict[str, Tensor]
    likelihoods: dict[str, Tensor] = field(repr=False)
    latents: dict[str, Tensor] = field(default_factory=dict, repr=False)
    aux_loss: Tensor = field(default_factory=lambda: torch.zeros(()), repr=False)


def _named_bpp(bits: dict[str, Tensor], pixels: int) -> dict[str, Tensor]:
    """Latent name -> bits per item (B,)  to  ``{shared, rgb, depth, total}`` mean bits per pixel."""
    bpp = {k: v.mean() / pixels for k, v in bits.items()}
    named = {"shared": bpp[SHARED], "rgb": bpp["rgb"], "depth": bpp["depth"]}
    named["total"] = sum(bpp.values(), torch.zeros(()))
    return named


def check_clips(rgb: Tensor, depth: Tensor) -> tuple[int, int]:
    """(H, W) of a batch of clips: RGB (B, T, 3, H, W) in [0, 1] and depth (B, T, 1, H, W) in metres."""
    if rgb.dim() != 5 or depth.dim() != 5 or rgb.shape[:2] != depth.shape[:2]:
        raise InputError(
            f"rgb {tuple(rgb.shape)} / depth {tuple(depth.shape)}: clips are (B, T, 3, H, W) and "
            "(B, T, 1, H, W) with the same B and T"
        )
    if rgb.shape[1] > MAX_CLIP_FRAMES:
        raise InputError(f"a clip of {rgb.shape[1]} frames: code at most {MAX_CLIP_FRAMES} frames per file")
    return check_frames(rgb.flatten(0, 1), depth.flatten(0, 1))


def check_frames(rgb: Tensor, depth: Tensor) -> tuple[int, int]:
    """(H, W) of a batch of RGB (B, 3, H, W) in [0, 1] and depth (B, 1, H, W) in metres."""
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise InputError(f"rgb: shape {tuple(rgb.shape)}; expected (B, 3, H, W) with values in [0, 1]")
    if depth.dim() != 4 or depth.shape[1] != 1:
        raise InputError(f"depth: shape {tuple(depth.shape)}; expected (B, 1, H, W) in metres")
    if rgb.shape[0] != depth.shape[0] or rgb.shape[2:] != depth.shape[2:]:
        raise InputError(
            f"rgb {tuple(rgb.shape)} and depth {tuple(depth.shape)} differ in batch or size; pass aligned frames"
        )
    h, w = int(rgb.shape[2]), int(rgb.shape[3])
    if h % DOWNSAMPLING or w % DOWNSAMPLING:
        raise InputError(
            f"frame size {h}x{w}: height and width must be multiples of {DOWNSAMPLING}; crop or pad"
        )
    if not (torch.isfinite(rgb).all() and torch.isfinite(depth).all()):
        raise InputError("rgb / depth contain NaN or inf; mark missing depth as 0 (invalid) instead")
    return h, w


def normalized_inputs(rgb: Tensor, depth: Tensor, depth_max_m: float) -> dict[str, Tensor]:
    """The transforms' inputs: ``rgb - 0.5`` (B, 3, H, W) and ``[(d / d_max - 0.5) * valid, valid]``
    (B, 2, H, W) with ``valid = depth > 0``."""
    valid = (depth > 0).to(depth.dtype)
    scaled = (depth / depth_max_m - 0.5) * valid
    return {"rgb": rgb - 0.5, "depth": torch.cat([scaled, valid], dim=1)}


class DepthVideoCodec(nn.Module):
    """The joint RGB + depth codec (or, with ``conditional=False``, its separate baseline; with
    ``independent=True``, two codecs with no path between the modalities).

    Frames are (B, 3, H, W) / (B, 1, H, W); clips (B, T, 3, H, W) / (B, T, 1, H, W). A
    ``temporal`` model codes a clip's frame 0 with the intra codec (``latent_codec``) and frame
    ``t > 0`` with the inter codec (``inter_codec``) given frame ``t-1``'s decoded latents; any
    other model codes every frame of a clip as an intra frame.
    """

    def __init__(self, config: CodecConfig | None = None):
        super().__init__()
        self.config = cfg = config or CodecConfig()
        cfg.validate()
        n = cfg.channels
        self.analysis = nn.ModuleDict({"rgb": _analysis(3, n, n), "depth": _analysis(2, n, n)})
        self.slices = cfg.shared_slices()
        widths = {m: sl.stop - sl.start for m, sl in self.slices.items()}
        self.fusion = JointLatentFusion(
            n, cfg.shared_total, cfg.private, widths if cfg.independent else None, cfg.fusion_hidden
        )
        private = {m: cfg.private for m in MODALITIES}
        self.latent_codec: SharedPrivateCodec
        if cfg.quantizer == "vq":
            self.latent_codec = ContextLatentCodec(
                cfg.shared_total,
                private,
                conditional=cfg.conditional,
                quantizer="vq",
                codebook_size=cfg.codebook_size,
            )
        elif cfg.conditional:
            nets: dict[str, nn.Module] | None = None
            shared_model: nn.Module | None = None
            if cfg.coupled:  # each private model reads all of s_hat, as wide as the independent one's
                hidden = max(2 * cfg.private, cfg.shared)
                nets = {m: GaussianParams(cfg.shared_total, cfg.private, hidden) for m in private}
                shared_model = ChainedDensity(widths["depth"], widths["rgb"])
            elif cfg.independent:  # each private model reads its own modality's part of s_hat
                nets = {m: SideSlice(self.slices[m], GaussianParams(widths[m], cfg.private)) for m in private}
            self.latent_codec = ConditionalLatentCodec(
                cfg.shared_total, private, param_nets=nets, shared_model=shared_model
            )
        else:
            self.latent_codec = SeparateLatentCodec(cfg.shared_total, private)
        self.inter_codec: ContextLatentCodec | None = None
        if cfg.temporal:
            self.inter_codec = ContextLatentCodec(
                cfg.shared_total,
                private,
                conditional=cfg.conditional,
                temporal=True,
                quantizer=cfg.quantizer,
                codebook_size=cfg.codebook_size,
            )
            if isinstance(self.latent_codec, ContextLatentCodec):
                self.inter_codec.share_codebooks(self.latent_codec)
        self.synthesis = nn.ModuleDict(
            {
                "rgb": _synthesis(widths["rgb"] + cfg.private, n, 3),
                "depth": _synthesis(widths["depth"] + cfg.private, n, 1),
            }
        )

    def encode_latents(self, rgb: Tensor, depth: Tensor) -> dict[str, Tensor]:
        """The continuous latents ``{shared, depth, rgb}`` of a batch of frames (or of clips)."""
        if rgb.dim() == 5:
            b = rgb.shape[0]
            return {
                k: _unfold(v, b)
                for k, v in self.encode_latents(rgb.flatten(0, 1), depth.flatten(0, 1)).items()
            }
        x = normalized_inputs(rgb, depth, self.config.depth_max_m)
        return self.fusion({m: self.analysis[m](x[m]) for m in MODALITIES})

    def decode_latents(self, y_hat: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """(rgb in [0, 1] (clamped in eval), depth in metres) from quantized latents (frames or clips)."""
        s = y_hat[SHARED]
        if s.dim() == 5:
            rgb, depth = self.decode_latents({k: v.flatten(0, 1) for k, v in y_hat.items()})
            return _unfold(rgb, s.shape[0]), _unfold(depth, s.shape[0])
        side = {m: s[:, self.slices[m]] for m in MODALITIES}
        rgb = self.synthesis["rgb"](torch.cat([side["rgb"], y_hat["rgb"]], dim=1)) + 0.5
        depth = (
            self.synthesis["depth"](torch.cat([side["depth"], y_hat["depth"]], dim=1)) + 0.5
        ) * self.config.depth_max_m
        if not self.training:
            rgb, depth = rgb.clamp(0.0, 1.0), depth.clamp_min(0.0)
        return rgb, depth

    def _context(self, y_hat: dict[str, Tensor]) -> Tensor:
        """The inter codec's context: frame t-1's decoded latents in coding order."""
        return torch.cat([y_hat[k] for k in self.latent_codec.names], dim=1)

    def code_latents(self, latents: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(y_hat, likelihoods) of frame latents (B, c, h, w) or clip latents (B, T, c, h, w)."""
        first = latents[SHARED]
        if first.dim() == 4:
            out = self.latent_codec(latents)
            return out.y_hat, out.likelihoods
        b = first.shape[0]
        if self.inter_codec is None:  # every frame intra: one batch
            out = self.latent_codec({k: v.flatten(0, 1) for k, v in latents.items()})
            return (
                {k: _unfold(v, b) for k, v in out.y_hat.items()},
                {k: _unfold(v, b) for k, v in out.likelihoods.items()},
            )
        y_hat: list[dict[str, Tensor]] = []
        likelihoods: list[dict[str, Tensor]] = []
        for t in range(first.shape[1]):
            lat = {k: v[:, t] for k, v in latents.items()}
            if t == 0:
                out = self.latent_codec(lat)
            else:
                out = self.inter_codec(lat, context=self._context(y_hat[-1]))
            y_hat.append(out.y_hat)
            likelihoods.append(out.likelihoods)
        return _stack(y_hat), _stack(likelihoods)

    def _commitment(self, latents: dict[str, Tensor], y_hat: dict[str, Tensor]) -> Tensor:
        zero = torch.zeros((), device=latents[SHARED].device)
        if self.config.quantizer != "vq":
            return zero
        return VQ_COMMITMENT * sum((F.mse_loss(latents[m], y_hat[m].detach()) for m in MODALITIES), zero)

    def forward(self, rgb: Tensor, depth: Tensor) -> CodecOutput:
        clip = rgb.dim() == 5
        h, w = check_clips(rgb, depth) if clip else check_frames(rgb, depth)
        latents = self.encode_latents(rgb, depth)
        y_hat, likelihoods = self.code_latents(latents)
        rgb_hat, depth_hat = self.decode_latents(y_hat)
        bits = {k: rate_bits(v).flatten(1).sum(1) for k, v in likelihoods.items()}
        pixels = h * w * (rgb.shape[1] if clip else 1)
        return CodecOutput(
            rgb_hat,
            depth_hat,
            bits,
            _named_bpp(bits, pixels),
            likelihoods,
            latents,
            self._commitment(latents, y_hat),
        )

    def coded_bpp(self, latents: dict[str, Tensor], pixels: int) -> dict[str, float]:
        """Bits per pixel a file of these latents takes, per stream (``rgb``, ``depth``, ``shared``,
        ``total``), mean over the batch, without coding: the eval-mode (rounded, tabulated) code
        lengths, plus :func:`~infomm.compression.bitstream.stream_overhead_bits` per stream and, in
        ``total``, the container. ``pixels``: of one frame (clip latents: their T frames count).
        Training reads the constraint of a bit budget from it (the noisy-rounding rate it trains on
        reads high at low rates)."""
        frames = latents[SHARED].shape[1] if latents[SHARED].dim() == 5 else 1
        with eval_mode(self):
            _, likelihoods = self.code_latents({k: v.detach() for k, v in latents.items()})
        bits = {
            k: rate_bits(v).flatten(1).sum(1) + frames * stream_overhead_bits(v[0].numel() // frames)
            for k, v in likelihoods.items()
        }
        named = {k: float(v) for k, v in _named_bpp(bits, pixels * frames).items()}
        shape_fields = 3 if frames > 1 else 2
        named["total"] += (
            8.0 * container_bytes(self.config.model_id, shape_fields, len(bits) * frames) / (pixels * frames)
        )
        return named

    def update(self) -> None:
        """Freeze the entropy models' tables (after training, before coding)."""
        self.latent_codec.update()
        if self.inter_codec is not None:
            self.inter_codec.update()

    def compress(self, rgb: Tensor, depth: Tensor) -> bytes:
        """One frame (1, 3, H, W) or one clip (1, T, 3, H, W), any size -> a self-describing file
        (:mod:`~infomm.compression.bitstream`; a clip's file holds 3 streams per frame, in order).

        A size that is not a multiple of 16 is padded by edge replication (invalid depth stays
        invalid) and cropped back by :meth:`decompress`; the file stores the original size.
        """
        clip = rgb.dim() == 5
        if rgb.dim() not in (4, 5) or rgb.shape[0] != 1:
            raise InputError(
                f"compress codes one frame or clip at a time: rgb of shape {tuple(rgb.shape)}, "
                "expected (1, 3, H, W) or (1, T, 3, H, W)"
            )
        h, w = int(rgb.shape[-2]), int(rgb.shape[-1])
        rgb_p, depth_p = pad_frames(rgb, depth)
        if clip:
            check_clips(rgb_p, depth_p)
        else:
            check_frames(rgb_p, depth_p)
        names = self.latent_codec.names
        with eval_mode(self):
            latents = self.encode_latents(rgb_p, depth_p)
            if not clip:
                comp = self.latent_codec.compress(latents)
                return pack(
                    self.config.model_id, weights_hash(self), (h, w), [comp.strings[k][0] for k in names]
                )
            y_hat, _ = self.code_latents(latents)
            streams: list[bytes] = []
            for t in range(rgb.shape[1]):
                lat = {k: v[:, t] for k, v in latents.items()}
                if t == 0 or self.inter_codec is None:
                    comp = self.latent_codec.compress(lat)
                else:
                    prev = {k: v[:, t - 1] for k, v in y_hat.items()}
                    comp = self.inter_codec.compress(lat, context=self._context(prev))
                streams += [comp.strings[k][0] for k in names]
        return pack(self.config.model_id, weights_hash(self), (int(rgb.shape[1]), h, w), streams)

    def decompress(self, data: bytes, source: str = "the file") -> dict[str, Tensor]:
        """A file from :meth:`compress` -> ``{"rgb": in [0, 1], "depth": in metres}``, (1, 3, H, W) and
        (1, 1, H, W) for a frame, (1, T, 3, H, W) and (1, T, 1, H, W) for a clip."""
        header, streams = unpack(
            data, model_id=self.config.model_id, weights=weights_hash(self), source=source
        )
        names = self.latent_codec.names
        frames = header.shape[0] if len(header.shape) == 3 else 1
        if len(header.shape) not in (2, 3) or frames < 1 or len(streams) != len(names) * frames:
            raise InputError(
                f"{source} has {len(streams)} streams / shape {header.shape}; this model writes {names} per frame"
            )
        h, w = header.shape[-2:]
        size = (_padded(h) // DOWNSAMPLING, _padded(w) // DOWNSAMPLING)
        decoded: list[dict[str, Tensor]] = []
        with eval_mode(self):
            for t in range(frames):
                part = streams[t * len(names) : (t + 1) * len(names)]
                comp = CompressedLatents({k: [s] for k, s in zip(names, part, strict=True)}, size)
                if t == 0 or self.inter_codec is None:
                    decoded.append(self.latent_codec.decompress(comp))
                else:
                    decoded.append(self.inter_codec.decompress(comp, context=self._context(decoded[-1])))
            if len(header.shape) == 2:
                rgb, depth = self.decode_latents(decoded[0])
            else:
                rgb, depth = self.decode_latents(_stack(decoded))
        return {"rgb": rgb[..., :h, :w], "depth": depth[..., :h, :w]}


def _stack(frames: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Per-frame dicts of (B, ...) -> one dict of (B, T, ...)."""
    return {k: torch.stack([f[k] for f in frames], dim=1) for k in frames[0]}


def _unfold(x: Tensor, batch: int) -> Tensor:
    """(B * T, ...) -> (B, T, ...)."""
    return x.view(batch, -1, *x.shape[1:])


def _padded(n: int) -> int:
    return -(-n // DOWNSAMPLING) * DOWNSAMPLING


def pad_frames(rgb: Tensor, depth: Tensor) -> tuple[Tensor, Tensor]:
    """Pad (B, C, H, W) frames (or (B, T, C, H, W) clips) on the bottom / right to multiples of 16
    by edge replication."""
    if rgb.dim() == 5 and depth.dim() == 5:
        r, d = pad_frames(rgb.flatten(0, 1), depth.flatten(0, 1))
        return _unfold(r, rgb.shape[0]), _unfold(d, depth.shape[0])
    if rgb.dim() != 4 or depth.dim() != 4:
        raise InputError(
            f"rgb {tuple(rgb.shape)} / depth {tuple(depth.shape)}: expected (B, C, H, W) frames or "
            "(B, T, C, H, W) clips"
        )
    h, w = rgb.shape[2], rgb.shape[3]
    pad = (0, _padded(w) - w, 0, _padded(h) - h)
    if pad == (0, 0, 0, 0):
        return rgb, depth
    return F.pad(rgb, pad, mode="replicate"), F.pad(depth, pad, mode="replicate")
