"""Rate: discretized likelihoods and code lengths, as pure tensor functions.

The compression part (:mod:`infomm.compression`) keeps the entropy models' parameters and calls
these. A latent ``y`` is coded as integers: ``round(y - mean)`` under a density integrated over
unit bins, so the ideal code length of a symbol ``k`` is ``-log2 P(k - 1/2 < Y < k + 1/2)``.

References:
    Balle, Laparra, Simoncelli (2017), "End-to-end Optimized Image Compression", ICLR: Sec. 2
    (additive uniform noise as the training proxy for rounding; the rate is the discretized
    density, Eq. 7-8).
    Balle, Minnen, Singh, Hwang, Johnston (2018), "Variational image compression with a scale
    hyperprior", ICLR: Eq. 8-10 (a Gaussian with scale from side information, convolved with a
    unit uniform), Appendix 6.1 (the non-parametric factorized density, Eq. 17-18).
    Minnen, Balle, Toderici (2018), "Joint Autoregressive and Hierarchical Priors", NeurIPS:
    Sec. 3 (mean and scale from side information; coding ``round(y - mu)``).

Example:
    >>> import torch
    >>> p = gaussian_likelihood(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]))
    >>> round(float(p), 4)  # P(-0.5 < N(0, 1) < 0.5)
    0.3829
    >>> float(total_bits(torch.tensor([0.5, 0.25])))
    3.0
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: the smallest scale a Gaussian-conditional model uses (CompressAI's default lower bound)
SCALE_MIN = 0.11
#: the smallest likelihood a rate term sees: the range coder's smallest probability (2^-24), so
#: an estimate counts a far outlier at the 24 bits the coder actually spends on it
LIKELIHOOD_MIN = 2.0**-24


def standard_normal_cdf(x: Tensor) -> Tensor:
    """Phi(x) through ``erfc`` (accurate in the lower tail, unlike ``0.5 * (1 + erf)``)."""
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def gaussian_likelihood(y_hat: Tensor, mean: Tensor, scale: Tensor) -> Tensor:
    """``P(y_hat - 1/2 < N(mean, scale^2) < y_hat + 1/2)``, symmetric form for precision.

    Balle et al. (2018) Eq. 10: the Gaussian convolved with a unit uniform, evaluated at
    ``y_hat``. The distance to the mean enters as ``|v|``, so both bins edges are in the lower
    tail where ``erfc`` is exact (the form CompressAI's ``GaussianConditional`` uses).
    """
    v = (y_hat - mean).abs()
    upper = standard_normal_cdf((0.5 - v) / scale)
    lower = standard_normal_cdf((-0.5 - v) / scale)
    return upper - lower


def logistic_bin_likelihood(lower_logit: Tensor, upper_logit: Tensor) -> Tensor:
    """``sigmoid(upper) - sigmoid(lower)`` computed on the side where both are small.

    Balle et al. (2018) Appendix 6.1: with the CDF given as logits, flipping the sign when the
    logits are positive keeps the difference of two numbers near 1 from cancelling.
    """
    sign = -torch.sign(lower_logit + upper_logit).detach()
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return (torch.sigmoid(sign * upper_logit) - torch.sigmoid(sign * lower_logit)).abs()


class _LowerBound(torch.autograd.Function):
    """``max(x, bound)`` whose gradient still flows where it would raise ``x`` (CompressAI's
    ``LowerBound``): a plain clamp would freeze every badly fitted symbol at the floor."""

    @staticmethod
    def forward(ctx, x: Tensor, bound: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        passes = (x >= ctx.bound) | (grad < 0)
        return grad * passes.to(grad.dtype), None


def lower_bound(x: Tensor, bound: float) -> Tensor:
    """``max(x, bound)`` with the gradient kept where descent raises ``x`` (see :class:`_LowerBound`)."""
    return _LowerBound.apply(x, bound)


def bits(likelihoods: Tensor) -> Tensor:
    """Elementwise ideal code length ``-log2 max(p, LIKELIHOOD_MIN)``; the floor passes gradients
    that raise ``p`` (a symbol below it is still pulled up instead of frozen at 24 bits)."""
    return -torch.log2(lower_bound(likelihoods, LIKELIHOOD_MIN))


def total_bits(likelihoods: Tensor) -> Tensor:
    """Sum of :func:`bits` over every element: the ideal length of a stream of these symbols."""
    return bits(likelihoods).sum()


def scale_table(low: float = SCALE_MIN, high: float = 256.0, levels: int = 512) -> Tensor:
    """``levels`` log-spaced scales from ``low`` to ``high`` (float64).

    Coding with scales from this table (not the network's raw output) lets the decoder rebuild
    the same entropy parameters bit for bit from an index (CompressAI's ``get_scale_table``).
    """
    return torch.exp(torch.linspace(math.log(low), math.log(high), levels, dtype=torch.float64))


def scale_index(scale: Tensor, table: Tensor) -> Tensor:
    """Index of the smallest table entry ``>= scale`` (the top entry for larger scales): int64.

    Rounding scales up never makes the model over-confident, so a rare large residual costs
    bits, not a failure.
    """
    idx = torch.bucketize(scale.detach().to(table.dtype), table)
    return idx.clamp_(0, table.numel() - 1)
