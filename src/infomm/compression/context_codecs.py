"""Latent codecs whose entropy models read side inputs: vector-quantized private latents and
predictive (inter-frame) coding of clips.

::

    ContextLatentCodec(conditional, temporal, quantizer)
      shared     s   : temporal -> N(mu, sigma | s_hat[t-1])          else  factorized density
      private    p_m : side = [s_hat if conditional] ++ [p_m_hat[t-1] if temporal]
                       scalar -> N(mu, sigma | side), or a factorized density without side
                       vq     -> index k of the nearest code of an EMA codebook (per position),
                                 coded under softmax(logits | side) (learned logits without side)

The same class is the joint codec (``conditional=True``: every private latent given ``s_hat``)
and its separate baseline (``False``: no cross-modal side input), for single frames
(``temporal=False``) and for the inter frames of a clip (``temporal=True``: every latent also
given its own decoded value at ``t-1``, the context). The separate baseline of a clip therefore
uses time as the joint codec does; what the joint codec saves beyond it is cross-modal.

Predictive coding of clips: frame ``t``'s latents coded given what the decoder has of frame
``t-1`` (Lu et al. 2019, "DVC: An End-to-end Deep Video Compression Framework", CVPR, Sec. 3.1;
here in the latent space, the temporal prior of Liu et al. 2020, "Conditional Entropy Coding for
Efficient Video Compression", ECCV, Eq. 2: ``p(y_t | y_hat_{t-1})``). Frame 0 is coded by the
single-frame codec (an intra frame).

Vector quantization (van den Oord et al. 2017, "Neural Discrete Representation Learning",
Eq. 1-3 and App. A.1: nearest code, straight-through gradient, commitment, EMA codebook; the
codebook is :class:`infomm.codebook.MultimodalVQ` with one modality). The index of each position
is coded under a categorical model whose logits come from the side input, the VQ counterpart of
the Gaussian-conditional hyperprior (Balle et al. 2018, Eq. 8-10): its rate is
``-log2 p(k | s_hat)``, exact in training and eval (nothing is relaxed but the code vectors'
straight-through gradient).

Example:
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> codec = ContextLatentCodec(2, {"depth": 2, "rgb": 2}, quantizer="vq", codebook_size=8)
    >>> lat = {"shared": 3 * torch.randn(1, 2, 4, 4), "depth": torch.randn(1, 2, 4, 4), "rgb": torch.randn(1, 2, 4, 4)}
    >>> _ = codec(lat)  # training mode: the codebook starts from the first batch's vectors
    >>> codec = codec.eval()
    >>> codec.update()  # tabulate the shared latent's density
    >>> out = codec(lat)
    >>> back = codec.decompress(codec.compress(lat))
    >>> all(torch.equal(back[k], out.y_hat[k]) for k in lat)
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from infomm.codebook.vq import MultimodalVQ
from infomm.compression.entropy_models import CategoricalConditional, FactorizedDensity, GaussianConditional
from infomm.compression.latent_codecs import (
    SHARED,
    GaussianParams,
    SharedPrivateCodec,
    per_item,
    side_network,
)
from infomm.interface import InputError

QUANTIZERS = ("scalar", "vq")


class GaussianGiven(nn.Module):
    """A latent coded as ``round(y - mu)`` under ``N(0, sigma^2)``, (mu, sigma) from a side input."""

    def __init__(self, side_channels: int, channels: int):
        super().__init__()
        self.params = GaussianParams(side_channels, channels, max(2 * channels, side_channels, 16))
        self.gaussian = GaussianConditional()

    def forward(self, y: Tensor, side: Tensor) -> tuple[Tensor, Tensor]:
        return self.gaussian(y, *per_item(self.params, side))  # type: ignore[no-any-return]

    def compress(self, y: Tensor, side: Tensor) -> list[bytes]:
        return self.gaussian.compress(y, *per_item(self.params, side))

    def decompress(self, strings: list[bytes], side: Tensor, shape: tuple[int, int]) -> Tensor:
        return self.gaussian.decompress(strings, *per_item(self.params, side))


class FactorizedGiven(nn.Module):
    """A :class:`~infomm.compression.entropy_models.FactorizedDensity` behind the side-input
    contract (the side input is not read: a marginal model)."""

    def __init__(self, channels: int):
        super().__init__()
        self.density = FactorizedDensity(channels)

    def forward(self, y: Tensor, side: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.density(y)  # type: ignore[no-any-return]

    def compress(self, y: Tensor, side: Tensor | None) -> list[bytes]:
        return self.density.compress(y)

    def decompress(self, strings: list[bytes], side: Tensor | None, shape: tuple[int, int]) -> Tensor:
        return self.density.decompress(strings, shape)


class VectorQuantizedGiven(nn.Module):
    """A latent (B, C, h, w) vector-quantized per position with an EMA codebook of ``codebook_size``
    codes; the indices coded under ``softmax(logits)``, the logits from a side input (or learned
    marginal logits when ``side_channels == 0``).

    Training: the nearest code with the straight-through gradient (the codebook moves by EMA, dead
    codes are re-seeded); the rate ``-log2 p(k)`` trains the logits. Eval: ``y_hat`` is the code
    vector itself, so the decoder's value is the encoder's bit for bit. The commitment term is the
    caller's (``beta ||y - sg(y_hat)||^2``: :meth:`DepthVideoCodec.forward` adds it).
    """

    def __init__(self, side_channels: int, channels: int, codebook_size: int = 64):
        super().__init__()
        self.channels, self.codebook_size = channels, codebook_size
        self.vq = MultimodalVQ(["latent"], n_codes=codebook_size, dim=channels, cross=False)
        self.logits_net = side_network(side_channels, codebook_size) if side_channels else None
        self.marginal_logits = nn.Parameter(torch.zeros(codebook_size)) if not side_channels else None
        self.categorical = CategoricalConditional()

    def _logits(self, side: Tensor | None, shape: tuple[int, int, int]) -> Tensor:
        if self.logits_net is None:
            assert self.marginal_logits is not None
            b, h, w = shape
            return self.marginal_logits.view(1, -1, 1, 1).expand(b, -1, h, w)
        if side is None:
            raise InputError("VectorQuantizedGiven: this model reads a side input; pass it")
        return per_item(self.logits_net, side)  # type: ignore[no-any-return]

    @staticmethod
    def _rows(y: Tensor) -> Tensor:
        return y.permute(0, 2, 3, 1).reshape(-1, y.shape[1])

    def indices(self, y: Tensor) -> Tensor:
        """Index of the nearest code at every position of latents (B, C, h, w): (B, h, w) int64."""
        b, _, h, w = y.shape
        return self.vq.encode(self._rows(y)).view(b, h, w)

    def code_vectors(self, idx: Tensor) -> Tensor:
        """The code vectors of indices (B, h, w): (B, C, h, w)."""
        return self.vq.codebook[idx].permute(0, 3, 1, 2).contiguous()

    def forward(self, y: Tensor, side: Tensor | None) -> tuple[Tensor, Tensor]:
        if y.dim() != 4 or y.shape[1] != self.channels:
            raise InputError(
                f"VectorQuantizedGiven: latent {tuple(y.shape)}; expected (B, {self.channels}, h, w)"
            )
        b, _, h, w = y.shape
        out = self.vq({"latent": self._rows(y)})
        idx = out.indices["latent"].view(b, h, w)
        if self.training:
            y_hat = out.quantized["latent"].view(b, h, w, -1).permute(0, 3, 1, 2)
        else:
            y_hat = self.code_vectors(idx)
        return y_hat, self.categorical(idx, self._logits(side, (b, h, w)))

    def compress(self, y: Tensor, side: Tensor | None) -> list[bytes]:
        b, _, h, w = y.shape
        if not bool(torch.isfinite(y).all()):
            raise InputError("VectorQuantizedGiven.compress: the latents hold NaN or inf; check the input")
        return self.categorical.compress(self.indices(y), self._logits(side, (b, h, w)))

    def decompress(self, strings: list[bytes], side: Tensor | None, shape: tuple[int, int]) -> Tensor:
        logits = self._logits(side, (len(strings), *shape))
        return self.code_vectors(self.categorical.decompress(strings, logits))


class ContextLatentCodec(SharedPrivateCodec):
    """Shared + private latents with side-input entropy models (see the module docstring).

    Args:
        shared_channels, private_channels: as :class:`~.latent_codecs.ConditionalLatentCodec`.
        conditional: private latents given ``s_hat`` (the joint codec) or not (the separate one).
        temporal: every latent also given its own decoded value at ``t-1``: ``context`` is then
            required, the concatenation of the previous frame's ``y_hat`` in coding order
            (``shared``, then the private latents), (B, shared + sum(private), h, w).
        quantizer: ``"scalar"`` (rounding; Gaussian given the side input) or ``"vq"``.
        codebook_size: codes per private latent's codebook (``"vq"``).
    """

    def __init__(
        self,
        shared_channels: int,
        private_channels: Mapping[str, int],
        *,
        conditional: bool = True,
        temporal: bool = False,
        quantizer: str = "scalar",
        codebook_size: int = 64,
    ):
        if quantizer not in QUANTIZERS:
            raise InputError(f"quantizer={quantizer!r} is not known; use one of {', '.join(QUANTIZERS)}")
        if quantizer == "vq" and not 2 <= codebook_size <= 1 << 16:
            raise InputError(f"codebook_size={codebook_size}: use 2 .. 65536 codes")
        shared_model = (
            GaussianGiven(shared_channels, shared_channels) if temporal else FactorizedGiven(shared_channels)
        )
        super().__init__(shared_channels, private_channels, shared_model)
        self.conditional, self.temporal, self.quantizer = conditional, temporal, quantizer
        self.codebook_size = codebook_size
        models: dict[str, nn.Module] = {}
        for name, c in self.private_channels.items():
            side = (shared_channels if conditional else 0) + (c if temporal else 0)
            if quantizer == "vq":
                models[name] = VectorQuantizedGiven(side, c, codebook_size)
            else:
                models[name] = GaussianGiven(side, c) if side else FactorizedGiven(c)
        self.models = nn.ModuleDict(models)

    def share_codebooks(self, other: ContextLatentCodec) -> None:
        """Quantize with ``other``'s codebooks (VQ): the intra and inter codecs of a clip model share
        one codebook per private latent, so the decoder sees one set of code vectors."""
        for name, model in self.models.items():
            theirs = other.models[name] if name in other.models else None
            if isinstance(model, VectorQuantizedGiven) and isinstance(theirs, VectorQuantizedGiven):
                model.vq = theirs.vq

    @property
    def context_channels(self) -> int:
        """Channels of the context a temporal codec needs (0 otherwise)."""
        return self.shared_channels + sum(self.private_channels.values()) if self.temporal else 0

    def _split(self, context: Tensor | None) -> dict[str, Tensor]:
        if not self.temporal:
            return {}
        if context is None or context.dim() != 4 or context.shape[1] != self.context_channels:
            got = None if context is None else tuple(context.shape)
            raise InputError(
                f"context: got {got}; this inter-frame codec needs the previous frame's decoded latents, "
                f"(B, {self.context_channels}, h, w)"
            )
        sizes = [self.shared_channels, *self.private_channels.values()]
        return dict(zip(self.names, torch.split(context, sizes, dim=1), strict=True))

    def _side(self, name: str, s_hat: Tensor, context: Tensor | None) -> Tensor | None:
        parts = ([s_hat] if self.conditional else []) + (
            [self._split(context)[name]] if self.temporal else []
        )
        return torch.cat(parts, dim=1) if parts else None

    def _shared_side(self, context: Tensor | None) -> Tensor | None:
        return self._split(context)[SHARED] if self.temporal else None

    def _shared_forward(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.shared(y, self._shared_side(context))  # type: ignore[no-any-return]

    def _shared_compress(self, y: Tensor, context: Tensor | None) -> list[bytes]:
        return self.shared.compress(y, self._shared_side(context))  # type: ignore[no-any-return]

    def _shared_decompress(
        self, strings: list[bytes], shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:
        return self.shared.decompress(strings, self._shared_side(context), shape)  # type: ignore[no-any-return]

    def _private_forward(
        self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        return self._get(self.models, name)(y, self._side(name, s_hat, context))  # type: ignore[no-any-return]

    def _private_compress(self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None) -> list[bytes]:
        return self._get(self.models, name).compress(y, self._side(name, s_hat, context))  # type: ignore[no-any-return]

    def _private_decompress(
        self, name: str, strings: list[bytes], s_hat: Tensor, shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:
        model = self._get(self.models, name)
        return model.decompress(strings, self._side(name, s_hat, context), shape)  # type: ignore[no-any-return]
