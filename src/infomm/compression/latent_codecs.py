"""Latent codecs for a shared latent ``s`` and one private latent per modality.

One contract (CompressAI's ``LatentCodec``): ``forward(latents) -> LatentCodecOutput``
(``y_hat`` and ``likelihoods`` per latent), ``compress(latents) -> CompressedLatents`` (strings and
shape), ``decompress(compressed) -> y_hat`` per latent, exactly the eval-mode ``forward``'s values.

::

    conditional (the joint codec)             separate (the baseline, same latents)
    s   --> [factorized] --> s_hat ----+      s   --> [marginal] --> s_hat
                                       |      p_d --> [marginal] --> p_d_hat
    p_d --> [Gaussian | mu, sigma] <---+      p_v --> [marginal] --> p_v_hat
    p_v --> [Gaussian | mu, sigma] <---+

The conditional codec spends ``-log2 p(s_hat) - sum_m log2 p(p_m_hat | s_hat)`` bits (the chain
rule; the private models take their mean and scale from the decoded shared latent, as a
hyperprior does: Balle et al. 2018 Eq. 8-10, Minnen et al. 2018 Sec. 3). The separate codec spends
``-log2 p(s_hat) - sum_m log2 p(p_m_hat)``. On the same latents the difference of their code
lengths is the *operational* mutual information ``sum_m I(s_hat; p_m_hat)`` the codec exploits.
Subtracting an estimated MI from an independent sum is never done: no decoder can reach that
number.

Example:
    >>> import torch
    >>> codec = ConditionalLatentCodec(2, {"depth": 1, "rgb": 1}).eval()
    >>> codec.update()
    >>> latents = {"shared": torch.randn(1, 2, 4, 4) * 3, "depth": torch.randn(1, 1, 4, 4), "rgb": torch.randn(1, 1, 4, 4)}
    >>> out = codec(latents)
    >>> back = codec.decompress(codec.compress(latents))
    >>> all(torch.equal(back[k], out.y_hat[k]) for k in latents)
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from infomm.compression.coder import TableDecoder, encode_tables
from infomm.compression.entropy_models import FactorizedDensity, GaussianConditional
from infomm.interface import CompressedLatents, InputError, LatentCodecOutput

SHARED = "shared"


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Run a block in eval mode without grad; restore the module's mode afterwards."""
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was)


def side_network(in_channels: int, out_channels: int, hidden: int | None = None) -> nn.Sequential:
    """Entropy parameters from side information: two 3x3 convolutions with GELU, then a 1x1."""
    h = hidden or max(out_channels, in_channels)
    return nn.Sequential(
        nn.Conv2d(in_channels, h, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(h, h, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(h, out_channels, 1),
    )


def per_item(net: nn.Module, side: Tensor) -> Any:
    """``net(side)``; in eval one batch item at a time, so a decoder holding one item computes the
    encoder's entropy parameters bit for bit whatever batch the encoder ran."""
    if net.training:
        return net(side)
    parts = [net(side[b : b + 1]) for b in range(side.shape[0])]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))
    return torch.cat(parts)


class GaussianParams(nn.Module):
    """Mean and scale of a private latent from the decoded shared latent (and optional context):
    :func:`side_network` to ``2 * out`` channels; scale = softplus."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int | None = None):
        super().__init__()
        self.net = side_network(in_channels, 2 * out_channels, hidden or max(2 * out_channels, in_channels))

    def forward(self, side: Tensor) -> tuple[Tensor, Tensor]:
        mean, raw = self.net(side).chunk(2, dim=1)
        return mean, F.softplus(raw)


class SideSlice(nn.Module):
    """``net(side[:, channels])``: entropy parameters from part of the side input only (e.g. one
    modality's part of the shared latent, so that no information crosses between modalities)."""

    def __init__(self, channels: slice, net: nn.Module):
        super().__init__()
        self.channels = channels
        self.net = net

    def forward(self, side: Tensor) -> Any:
        return self.net(side[:, self.channels])


class ChainedDensity(nn.Module):
    """A latent in two parts coded in order in one stream: the first part ``y1`` (its first
    ``first`` channels) under a :class:`~infomm.compression.entropy_models.FactorizedDensity`, the
    second ``y2`` as ``round(y2 - mu(y1_hat))`` under its own factorized density, the mean
    ``mu`` from the decoded first part (:func:`side_network`, run per item in eval so the decoder
    rebuilds it bit for bit). It spends ``-log2 p(y1_hat) - log2 p(y2_hat | y1_hat)`` bits (the
    chain rule), the conditional model a learned density shifted by a predicted mean (the mean of
    Minnen, Balle, Toderici 2018, "Joint Autoregressive and Hierarchical Priors for Learned Image
    Compression", NeurIPS, Sec. 3, here with a factorized density in place of their Gaussian).

    The mean network's last layer starts at zero: the chain then codes what two factorized
    densities code (:mod:`~infomm.compression.nesting` embeds one there). Same contract as the
    factorized density: ``forward(y)``, ``compress(y)``, ``decompress(strings, shape)``,
    ``update()``.
    """

    def __init__(self, first: int, second: int):
        super().__init__()
        self.split = first
        self.first, self.second = FactorizedDensity(first), FactorizedDensity(second)
        self.mean = side_network(first, second)
        for p in self.mean[-1].parameters():
            nn.init.zeros_(p)

    def _mean(self, y1_hat: Tensor) -> Tensor:
        return per_item(self.mean, y1_hat)  # type: ignore[no-any-return]

    def _check(self, y: Tensor) -> None:
        channels = self.split + self.second.channels
        if y.dim() != 4 or y.shape[1] != channels:
            raise InputError(
                f"ChainedDensity: latent of shape {tuple(y.shape)}; expected (batch, {channels}, height, width)"
            )

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        self._check(y)
        y1_hat, lik1 = self.first(y[:, : self.split])
        mu = self._mean(y1_hat)
        y2 = y[:, self.split :]
        if self.training:  # y2 plus noise, with no path through mu: the mean sets only the rate
            y2_hat = y2 + torch.empty_like(y2).uniform_(-0.5, 0.5)
            lik2 = self.second.likelihood(y2_hat - mu)
        else:
            r_hat, lik2 = self.second(y2 - mu)
            y2_hat = r_hat + mu
        return torch.cat([y1_hat, y2_hat], dim=1), torch.cat([lik1, lik2], dim=1)

    def update(self) -> None:
        """Tabulate both parts' densities."""
        self.first.update()
        self.second.update()

    def compress(self, y: Tensor) -> list[bytes]:
        self._check(y)
        with eval_mode(self):
            y1 = y[:, : self.split]
            sym1 = self.first.symbols(y1)
            mu = self._mean(self.first(y1)[0])
            sym2 = self.second.symbols(y[:, self.split :] - mu)
        tables = self.first.tables() + self.second.tables()
        return [encode_tables([*sym1[b], *sym2[b]], tables) for b in range(y.shape[0])]

    def decompress(self, strings: list[bytes], shape: tuple[int, int]) -> Tensor:
        n = shape[0] * shape[1]
        out = []
        with eval_mode(self):
            for data in strings:
                dec = TableDecoder(data)
                y1_hat = self.first.values(dec.decode([n] * self.first.channels, self.first.tables()), shape)
                mu = self._mean(y1_hat)
                r_hat = self.second.values(
                    dec.decode([n] * self.second.channels, self.second.tables()), shape
                )
                out.append(torch.cat([y1_hat, r_hat + mu], dim=1))
        return torch.cat(out) if out else torch.zeros(0, self.split + self.second.channels, *shape)


class SharedPrivateCodec(nn.Module):
    """Base: owns the shared latent's model, the contract and the input checks.

    Subclasses code the private latents given the decoded shared latent.
    """

    def __init__(
        self, shared_channels: int, private_channels: Mapping[str, int], shared_model: nn.Module | None
    ):
        super().__init__()
        if SHARED in private_channels:
            raise InputError(
                f"private_channels: the name {SHARED!r} is the shared latent's; rename the modality"
            )
        self.shared_channels = shared_channels
        self.private_channels = dict(private_channels)
        self.shared: Any = shared_model if shared_model is not None else FactorizedDensity(shared_channels)

    @staticmethod
    def _get(models: nn.ModuleDict, name: str) -> Any:
        return models[name]

    @property
    def names(self) -> list[str]:
        """Latent names in coding order: the shared one first."""
        return [SHARED, *self.private_channels]

    def _check(self, latents: Mapping[str, Tensor]) -> tuple[int, int]:
        missing = [k for k in self.names if k not in latents]
        if missing:
            raise InputError(f"latents: missing {missing}; expected {self.names}")
        shape = tuple(latents[SHARED].shape[2:])
        for k in self.names:
            want = self.shared_channels if k == SHARED else self.private_channels[k]
            y = latents[k]
            if (
                y.dim() != 4
                or y.shape[1] != want
                or tuple(y.shape[2:]) != shape
                or y.shape[0] != latents[SHARED].shape[0]
            ):
                raise InputError(
                    f"latents[{k!r}]: shape {tuple(y.shape)}; expected (B, {want}, {shape[0]}, {shape[1]})"
                    " with the shared latent's batch and size"
                )
        return int(shape[0]), int(shape[1])

    def _shared_forward(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.shared(y)  # type: ignore[no-any-return]

    def _shared_compress(self, y: Tensor, context: Tensor | None) -> list[bytes]:
        return self.shared.compress(y)  # type: ignore[no-any-return]

    def _shared_decompress(
        self, strings: list[bytes], shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:
        return self.shared.decompress(strings, shape)  # type: ignore[no-any-return]

    def forward(self, latents: Mapping[str, Tensor], context: Tensor | None = None) -> LatentCodecOutput:
        self._check(latents)
        s_hat, lik = self._shared_forward(latents[SHARED], context)
        y_hat, likelihoods = {SHARED: s_hat}, {SHARED: lik}
        for name in self.private_channels:
            y_hat[name], likelihoods[name] = self._private_forward(name, latents[name], s_hat, context)
        return LatentCodecOutput(y_hat=y_hat, likelihoods=likelihoods)

    def update(self) -> None:
        """Freeze every entropy model's tables (call after training, before coding)."""
        for m in self.modules():
            update = getattr(m, "update", None)
            if m is not self and hasattr(m, "compress") and callable(update):
                update()

    def compress(self, latents: Mapping[str, Tensor], context: Tensor | None = None) -> CompressedLatents:
        shape = self._check(latents)
        with eval_mode(self):
            strings = {SHARED: self._shared_compress(latents[SHARED], context)}
            s_hat, _ = self._shared_forward(latents[SHARED], context)  # what the decoder rebuilds (tested)
            for name in self.private_channels:
                strings[name] = self._private_compress(name, latents[name], s_hat, context)
        return CompressedLatents(strings=strings, shape=shape)

    def decompress(self, compressed: CompressedLatents, context: Tensor | None = None) -> dict[str, Tensor]:
        missing = [k for k in self.names if k not in compressed.strings]
        if missing:
            raise InputError(f"compressed: streams {missing} are missing; expected {self.names}")
        with eval_mode(self):
            s_hat = self._shared_decompress(compressed.strings[SHARED], compressed.shape, context)
            out = {SHARED: s_hat}
            for name in self.private_channels:
                out[name] = self._private_decompress(
                    name, compressed.strings[name], s_hat, compressed.shape, context
                )
        return out

    def _private_forward(
        self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None
    ) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _private_compress(
        self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None
    ) -> list[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _private_decompress(
        self, name: str, strings: list[bytes], s_hat: Tensor, shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class ConditionalLatentCodec(SharedPrivateCodec):
    """The joint codec: each private latent coded given the decoded shared latent (chain rule).

    Args:
        shared_channels: channels of ``s``.
        private_channels: modality name -> channels of its private latent.
        context_channels: channels of an optional extra side input (e.g. the previous frame's
            decoded latents), concatenated to ``s_hat`` for the private models.
        param_nets: modality name -> a module ``side -> (mean, scale)``; default
            :class:`GaussianParams`.
        shared_model: the shared latent's entropy model; default :class:`FactorizedDensity`.

    In eval the entropy parameters are computed one batch item at a time, in :meth:`forward` as
    in coding, so the decoder's parameters are the encoder's bit for bit whatever the batch size.
    """

    def __init__(
        self,
        shared_channels: int,
        private_channels: Mapping[str, int],
        *,
        context_channels: int = 0,
        param_nets: Mapping[str, nn.Module] | None = None,
        shared_model: nn.Module | None = None,
    ):
        super().__init__(shared_channels, private_channels, shared_model)
        self.context_channels = context_channels
        nets = dict(param_nets or {})
        self.param_nets = nn.ModuleDict(
            {
                k: nets.get(k) or GaussianParams(shared_channels + context_channels, c)
                for k, c in self.private_channels.items()
            }
        )
        self.gaussians = nn.ModuleDict({k: GaussianConditional() for k in self.private_channels})

    def _side(self, s_hat: Tensor, context: Tensor | None) -> Tensor:
        if self.context_channels == 0:
            return s_hat
        if context is None or context.shape[1] != self.context_channels:
            got = None if context is None else tuple(context.shape)
            raise InputError(f"context: got {got}; this codec needs (B, {self.context_channels}, h, w)")
        return torch.cat([s_hat, context], dim=1)

    def params(self, name: str, s_hat: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(mean, scale) of private latent ``name`` given the decoded shared latent."""
        return per_item(self.param_nets[name], self._side(s_hat, context))  # type: ignore[no-any-return]

    def _private_forward(
        self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        return self._get(self.gaussians, name)(y, *self.params(name, s_hat, context))

    def _private_compress(self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None) -> list[bytes]:
        return self._get(self.gaussians, name).compress(y, *self.params(name, s_hat, context))

    def _private_decompress(
        self, name: str, strings: list[bytes], s_hat: Tensor, shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:
        return self._get(self.gaussians, name).decompress(strings, *self.params(name, s_hat, context))


class SeparateLatentCodec(SharedPrivateCodec):
    """The separate-coding baseline: every latent under its own marginal model.

    Args:
        shared_channels, private_channels: as :class:`ConditionalLatentCodec`.
        marginal: ``channels -> entropy model`` for each private latent; default
            :class:`FactorizedDensity` (as flexible a marginal as the shared latent's).
        shared_model: the shared latent's model; default :class:`FactorizedDensity`.
    """

    def __init__(
        self,
        shared_channels: int,
        private_channels: Mapping[str, int],
        *,
        marginal: Callable[[int], nn.Module] = FactorizedDensity,
        shared_model: nn.Module | None = None,
    ):
        super().__init__(shared_channels, private_channels, shared_model)
        self.marginals = nn.ModuleDict({k: marginal(c) for k, c in self.private_channels.items()})

    def _private_forward(
        self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        return self._get(self.marginals, name)(y)

    def _private_compress(self, name: str, y: Tensor, s_hat: Tensor, context: Tensor | None) -> list[bytes]:
        return self._get(self.marginals, name).compress(y)

    def _private_decompress(
        self, name: str, strings: list[bytes], s_hat: Tensor, shape: tuple[int, int], context: Tensor | None
    ) -> Tensor:
        return self._get(self.marginals, name).decompress(strings, shape)
