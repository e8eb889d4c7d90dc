"""Entropy models: the probability of each quantized latent, its code length, and its bitstream.

Four models, one contract (CompressAI's ``EntropyBottleneck`` / ``GaussianConditional`` design):

- ``forward(y, ...) -> (y_hat, likelihoods)``: training adds unit uniform noise (the proxy for
  rounding); eval rounds, clamps to the coder's support and returns the likelihoods the coder
  will use, so ``-log2`` of them is the estimated bit count.
- ``compress(y, ...) -> list[bytes]`` (one string per batch item) and
  ``decompress(strings, shape, ...) -> y_hat``, exactly inverse.
- ``update()`` freezes what the coder needs (tables), after training.

:class:`FactorizedDensity` is a learned per-channel density (Balle et al. 2018, Appendix 6.1,
Eq. 17-18): a monotone 1-D network per channel gives the CDF; ``update()`` tabulates it into one
pmf per channel over the integers that carry all but ``tail_mass`` of it.
:class:`GaussianConditional` codes ``round(y - mean)`` under ``N(0, scale^2)`` with mean and scale
given by the caller (from side information: the decoded shared latent here; Minnen et al. 2018
Sec. 3). Scales are snapped up to a fixed log-spaced table, so the decoder rebuilds the coder's
parameters bit for bit from the same side information.
:class:`GaussianMarginal` is a Gaussian-conditional model whose per-channel mean and scale are
plain parameters (no side information): a marginal model for baselines and toy checks.
:class:`CategoricalConditional` codes discrete indices (a vector quantizer's) under a pmf per
position, ``softmax(logits)``, the logits given by the caller (from side information).

Example:
    >>> import torch
    >>> model = GaussianMarginal(2).eval()
    >>> y = torch.tensor([[[[0.2, 1.7]], [[-3.4, 0.6]]]])  # (1, 2, 1, 2)
    >>> strings = model.compress(y)
    >>> model.decompress(strings, (1, 2)).flatten().tolist()
    [0.0, 2.0, -3.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from infomm.compression.coder import (
    SYMBOL_BOUND,
    decode_categorical,
    decode_gaussian,
    decode_tables,
    encode_categorical,
    encode_gaussian,
    encode_tables,
    symbol_bounds,
)
from infomm.functional.rate import (
    SCALE_MIN,
    gaussian_likelihood,
    logistic_bin_likelihood,
    scale_index,
    scale_table,
)
from infomm.interface import InputError


def _noisy(y: Tensor) -> Tensor:
    return y + torch.empty_like(y).uniform_(-0.5, 0.5)


def _check_latent(y: Tensor, channels: int, who: str) -> None:
    if y.dim() != 4 or y.shape[1] != channels:
        raise InputError(
            f"{who}: latent of shape {tuple(y.shape)}; expected (batch, {channels}, height, width)"
        )


def _check_finite(y: Tensor, who: str) -> None:
    """Coding a NaN or inf would write a garbage stream (or fail deep in the coder): refuse it."""
    if not bool(torch.isfinite(y).all()):
        raise InputError(
            f"{who}: the latents hold NaN or inf, so there is nothing to code; the input frame or the "
            "model's weights are not finite (retrain, or check the input)"
        )


class FactorizedDensity(nn.Module):
    """Learned factorized density, one monotone CDF network per channel (Balle et al. 2018).

    ``c(x) = sigmoid(f_K(...f_1(x)))`` with ``f_k(x) = g_k(softplus(H_k) x + b_k)`` and
    ``g_k(x) = x + tanh(a_k) * tanh(x)`` (Appendix 6.1, Eq. 17-18); a bin's likelihood is
    ``c(y + 1/2) - c(y - 1/2)``.

    Args:
        channels: latent channels C (inputs are (B, C, H, W)).
        filters: hidden widths of the per-channel network.
        init_scale: initial width of the density (about the latents' range).
        tail_mass: probability left outside each table by ``update()``; values beyond the table
            are clamped to its ends in eval (their mass is in the end bins).
    """

    def __init__(
        self,
        channels: int,
        filters: tuple[int, ...] = (3, 3, 3),
        init_scale: float = 10.0,
        tail_mass: float = 1e-9,
    ):
        super().__init__()
        self.channels, self.tail_mass = channels, tail_mass
        dims = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(dims) - 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(dims) - 1):
            init = float(np.log(np.expm1(1.0 / scale / dims[i + 1])))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.register_buffer("_pmf", torch.zeros(channels, 0, dtype=torch.float64))
        self.register_buffer("_offset", torch.zeros(channels, dtype=torch.int64))
        self.register_buffer("_length", torch.zeros(channels, dtype=torch.int64))

    def logits_cdf(self, x: Tensor) -> Tensor:
        """CDF logits of ``x`` (C, 1, N) per channel: (C, 1, N)."""
        h = x
        for i, (m, b) in enumerate(zip(self.matrices, self.biases, strict=True)):
            h = torch.matmul(F.softplus(m).to(h.dtype), h) + b.to(h.dtype)
            if i < len(self.factors):
                h = h + torch.tanh(self.factors[i]).to(h.dtype) * torch.tanh(h)
        return h

    @property
    def updated(self) -> bool:
        return self._pmf.shape[1] > 0

    def _per_channel(self, y: Tensor) -> Tensor:
        return y.transpose(0, 1).reshape(self.channels, 1, -1)

    def _from_channel(self, v: Tensor, like: Tensor) -> Tensor:
        b, c, h, w = like.shape
        return v.reshape(c, b, h, w).transpose(0, 1)

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        _check_latent(y, self.channels, "FactorizedDensity")
        if self.training or not self.updated:
            y_hat = _noisy(y) if self.training else torch.round(y)
            return y_hat, self.likelihood(y_hat)
        y_hat = self._clamped(y)
        idx = self._per_channel(y_hat - self._offset.view(1, -1, 1, 1).to(y.dtype)).long().squeeze(1)
        lik = torch.gather(self._pmf, 1, idx).to(y.dtype).unsqueeze(1)
        return y_hat, self._from_channel(lik, y)

    def likelihood(self, y_hat: Tensor) -> Tensor:
        """The density's mass on the unit bin around each value of ``y_hat`` (B, C, H, W) (noisy in
        training, rounded in eval), from the CDF network, not the tables."""
        v = self._per_channel(y_hat)
        lik = logistic_bin_likelihood(self.logits_cdf(v - 0.5), self.logits_cdf(v + 0.5))
        return self._from_channel(lik, y_hat)

    def _clamped(self, y: Tensor) -> Tensor:
        """Eval quantization: ``round(y)`` clamped to each channel's table."""
        lo = self._offset.view(1, -1, 1, 1).to(y.dtype)
        hi = (self._offset + self._length - 1).view(1, -1, 1, 1).to(y.dtype)
        return torch.maximum(torch.minimum(torch.round(y), hi), lo)

    @torch.no_grad()
    def update(self) -> None:
        """Tabulate each channel's pmf over the integers holding all but ``tail_mass`` of it."""
        half = 16
        while True:
            grid = torch.arange(-half, half + 1, dtype=torch.float64)
            x = grid.view(1, 1, -1).expand(self.channels, 1, -1)
            cdf = torch.sigmoid(self.logits_cdf(torch.cat([x - 0.5, x[..., -1:] + 0.5], -1))).squeeze(1)
            if (cdf[:, 0] <= self.tail_mass).all() and (cdf[:, -1] >= 1 - self.tail_mass).all():
                break
            if half >= SYMBOL_BOUND:
                raise InputError(f"FactorizedDensity.update: the density is wider than +-{SYMBOL_BOUND}")
            half *= 2
        upper_edge = cdf[:, 1:]  # CDF(k + 1/2) for k on the grid
        lo = (upper_edge <= self.tail_mass).sum(1)  # first k with CDF(k + 1/2) > tail
        hi = (upper_edge < 1 - self.tail_mass).sum(1)  # first k with CDF(k + 1/2) >= 1 - tail
        length = hi - lo + 1
        pmf = torch.zeros(self.channels, int(length.max()), dtype=torch.float64)
        for c in range(self.channels):
            edges = cdf[c, int(lo[c]) : int(hi[c]) + 2].clone()
            edges[0], edges[-1] = 0.0, 1.0  # the tails fall into the end bins (eval clamps there)
            pmf[c, : int(length[c])] = (edges[1:] - edges[:-1]).clamp_min(1e-12)
        self._pmf = pmf / pmf.sum(1, keepdim=True)
        self._offset = (lo - half).to(torch.int64)
        self._length = length.to(torch.int64)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        key = prefix + "_pmf"
        if key in state_dict:
            self._pmf = torch.zeros_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _require_update(self, who: str) -> None:
        if not self.updated:
            raise InputError(f"{who}: call update() after training (or load an updated model) before coding")

    def symbols(self, y: Tensor) -> np.ndarray:
        """The coder's symbols of ``y`` (B, C, H, W): eval quantization minus each channel's table
        offset, int64 in ``[0, table length)``."""
        self._require_update("FactorizedDensity.compress")
        _check_latent(y, self.channels, "FactorizedDensity.compress")
        _check_finite(y, "FactorizedDensity.compress")
        return (self._clamped(y) - self._offset.view(1, -1, 1, 1).to(y.dtype)).to(torch.int64).numpy()

    def values(self, symbols: list[np.ndarray], shape: tuple[int, int]) -> Tensor:
        """Inverse of :meth:`symbols` for one item: one symbol array per channel -> (1, C, H, W)."""
        sym = torch.from_numpy(np.stack(symbols).astype(np.float32)).view(1, self.channels, *shape)
        return sym + self._offset.view(1, -1, 1, 1).float()

    def compress(self, y: Tensor) -> list[bytes]:
        sym, tables = self.symbols(y), self.tables()
        return [encode_tables([sym[b, c] for c in range(self.channels)], tables) for b in range(sym.shape[0])]

    def decompress(self, strings: list[bytes], shape: tuple[int, int]) -> Tensor:
        self._require_update("FactorizedDensity.decompress")
        counts, tables = [shape[0] * shape[1]] * self.channels, self.tables()
        if not strings:
            return torch.zeros(0, self.channels, *shape)
        return torch.cat([self.values(decode_tables(s, counts, tables), shape) for s in strings])

    def tables(self) -> list[np.ndarray]:
        """Each channel's pmf over its table (after :meth:`update`)."""
        pmf = self._pmf.numpy()
        return [pmf[c, : int(n)] for c, n in enumerate(self._length.tolist())]


class GaussianConditional(nn.Module):
    """``round(y - mean)`` coded under ``N(0, scale^2)``; mean and scale come from side information.

    Balle et al. (2018) Eq. 8-10 (scale from a hyperprior), Minnen et al. (2018) Sec. 3 (mean and
    scale). Eval and coding snap each scale up to the nearest entry of a fixed log-spaced table
    (:func:`infomm.functional.rate.scale_table`), so the coder's parameters are a function of a
    small integer the decoder recomputes exactly.
    """

    table: Tensor
    bounds: Tensor

    def __init__(self, table: Tensor | None = None):
        super().__init__()
        self.register_buffer("table", scale_table() if table is None else table.to(torch.float64))
        self.register_buffer("bounds", torch.from_numpy(symbol_bounds(self.table.numpy())))

    def quantize(self, y: Tensor, mean: Tensor, levels: Tensor) -> tuple[Tensor, Tensor]:
        """Eval quantization: (symbols as float, y_hat = symbols + mean); residuals clamped to
        their scale's alphabet (:func:`~infomm.compression.coder.symbol_bounds`)."""
        bound = self.bounds[levels].to(y.dtype)
        sym = torch.maximum(torch.minimum(torch.round(y - mean), bound), -bound)
        return sym, sym + mean

    def levels(self, scale: Tensor) -> Tensor:
        """Table index of each element's scale (int64)."""
        return scale_index(scale, self.table)

    def forward(self, y: Tensor, mean: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
        if self.training:
            y_hat = _noisy(y)
            return y_hat, gaussian_likelihood(y_hat, mean, scale.clamp_min(SCALE_MIN))
        levels = self.levels(scale)
        sym, y_hat = self.quantize(y, mean, levels)
        lik = gaussian_likelihood(sym.double(), torch.zeros((), dtype=torch.float64), self.table[levels])
        return y_hat, lik.to(y.dtype)

    def update(self) -> None:
        """Nothing to freeze: the scale table is fixed at construction."""

    def compress(self, y: Tensor, mean: Tensor, scale: Tensor) -> list[bytes]:
        _check_finite(y - mean, "GaussianConditional.compress")
        _check_finite(scale, "GaussianConditional.compress (scales)")
        levels = self.levels(scale)
        sym, _ = self.quantize(y, mean, levels)
        table = self.table.numpy()
        return [
            encode_gaussian(sym[b].to(torch.int32).numpy(), levels[b].numpy(), table)
            for b in range(y.shape[0])
        ]

    def decompress(self, strings: list[bytes], mean: Tensor, scale: Tensor) -> Tensor:
        if len(strings) != mean.shape[0]:
            raise InputError(
                f"GaussianConditional.decompress: {len(strings)} strings for {mean.shape[0]} items"
            )
        levels, table = self.levels(scale), self.table.numpy()
        sym = [decode_gaussian(s, levels[b].numpy(), table) for b, s in enumerate(strings)]
        return torch.from_numpy(np.stack(sym).astype(np.float32)).view_as(mean) + mean


class GaussianMarginal(nn.Module):
    """A Gaussian per channel with learned mean and scale, no side information (a marginal model).

    Same contract as :class:`FactorizedDensity`: ``forward(y)``, ``compress(y)``,
    ``decompress(strings, shape)``.
    """

    def __init__(self, channels: int, scale: float = 1.0, table: Tensor | None = None):
        super().__init__()
        self.channels = channels
        self.mean = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.full((channels,), float(np.log(scale))))
        self.gaussian = GaussianConditional(table)

    def _params(self, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
        b, c, h, w = shape
        m = self.mean.view(1, c, 1, 1).expand(b, c, h, w)
        return m, self.log_scale.exp().view(1, c, 1, 1).expand(b, c, h, w)

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        _check_latent(y, self.channels, "GaussianMarginal")
        return self.gaussian(y, *self._params(tuple(y.shape)))

    def update(self) -> None:
        """Nothing to freeze."""

    @torch.no_grad()
    def compress(self, y: Tensor) -> list[bytes]:
        _check_latent(y, self.channels, "GaussianMarginal")
        return self.gaussian.compress(y, *self._params(tuple(y.shape)))

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int]) -> Tensor:
        return self.gaussian.decompress(strings, *self._params((len(strings), self.channels, *shape)))


class CategoricalConditional(nn.Module):
    """Indices ``(B, h, w)`` in ``[0, K)`` coded under one pmf per position, ``softmax(logits)`` with
    ``logits`` (B, K, h, w) from side information (a vector quantizer's indices given the decoded
    shared latent). The pmf is computed in float64 from the float32 logits, in training and eval
    alike, so the estimate is the coder's code length up to the range coder's fixed-point rounding.
    """

    @staticmethod
    def _check(idx: Tensor, logits: Tensor, who: str) -> None:
        if logits.dim() != 4 or idx.shape != (logits.shape[0], *logits.shape[2:]):
            raise InputError(
                f"{who}: indices {tuple(idx.shape)} and logits {tuple(logits.shape)}; expected (B, h, w) "
                "and (B, K, h, w)"
            )

    def forward(self, idx: Tensor, logits: Tensor) -> Tensor:
        """Likelihood of each index, (B, 1, h, w)."""
        self._check(idx, logits, "CategoricalConditional")
        p = torch.softmax(logits.double(), dim=1).gather(1, idx[:, None].long())
        return p.to(logits.dtype)

    @staticmethod
    def pmf_rows(logits: Tensor) -> np.ndarray:
        """One float64 pmf row per position of one item's logits (K, h, w): (h * w, K)."""
        k = logits.shape[0]
        return torch.softmax(logits.double(), dim=0).reshape(k, -1).t().contiguous().numpy()

    def compress(self, idx: Tensor, logits: Tensor) -> list[bytes]:
        self._check(idx, logits, "CategoricalConditional.compress")
        _check_finite(logits, "CategoricalConditional.compress (logits)")
        return [
            encode_categorical(idx[b].reshape(-1).numpy(), self.pmf_rows(logits[b]))
            for b in range(idx.shape[0])
        ]

    def decompress(self, strings: list[bytes], logits: Tensor) -> Tensor:
        if len(strings) != logits.shape[0]:
            raise InputError(
                f"CategoricalConditional.decompress: {len(strings)} strings for {logits.shape[0]} items"
            )
        out = [decode_categorical(s, self.pmf_rows(logits[b])) for b, s in enumerate(strings)]
        return torch.from_numpy(np.stack(out).astype(np.int64)).view(logits.shape[0], *logits.shape[2:])
