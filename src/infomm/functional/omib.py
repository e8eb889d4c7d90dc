"""The math of OMIB as pure functions: the Gaussian KL, the dynamic weight r and the bound M_u on beta.

Wu, Shao, Wang & Sun, 2025, "Learning Optimal Multimodal Information Bottleneck Representations"
(OMIB), ICML, arXiv 2505.19996. With ``zeta_m ~ N(mu_m, diag(sigma_m^2))`` the variational code of
modality ``m``, ``p(y_hat_m | xi, z_m)`` its unimodal prediction and ``p(y_hat | xi)`` the fused one:

    KL(N(mu, sigma^2) || N(0, I)) = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)   (per sample)

    r = 1 - tanh( ln( E[KL(p(y_hat_2|xi,z_2) || p(y_hat|xi))] / E[KL(p(y_hat_1|xi,z_1) || p(y_hat|xi))] ) )
                                                                                           (Eq. 11)
    beta <= M_u = 1 / ((1 + r) * (H(v_1) + H(v_2) - I(v_1; v_2)))                         (Prop. 5.7)

``r`` is in [0, 2]: when the fused prediction is further from modality 2's own prediction than
from modality 1's (modality 2's task information is under-used), the ratio exceeds 1 and r < 1,
so modality 2's code is compressed less; and the other way round.

**Ratio of means.** Eq. 11 writes ``E[...] / E[...]``; :func:`omib_r` takes the two batch means
and divides them (the literal reading). The mean of per-sample ratios would be a different and
worse estimator: a sample on which modality 1 agrees with the fusion (KL near 0) makes its ratio
unbounded, so that mean is heavy-tailed and dominated by a few samples, while the ratio of means
is a consistent estimate of the ratio of expectations. Limits: both means 0 gives r = 1 (nothing
to balance); only the denominator 0 gives r = 0, only the numerator 0 gives r = 2 (the limits
of tanh).

Example:
    >>> import torch
    >>> mu, logvar = torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)
    >>> gaussian_kl(mu, logvar).tolist()  # 0.5 * (1 + 0 + (1 + 1 - 2) - 0)
    [0.5]
    >>> round(omib_r(0.2, 0.2), 6), round(omib_r(0.1, 0.3), 4), round(omib_r(0.3, 0.1), 4)
    (1.0, 0.2, 1.8)
    >>> round(beta_upper_bound(3.0, 2.0, 1.0, r=1.0), 6)  # 1 / (2 * 4)
    0.125
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from infomm.interface import InputError


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per sample (n,), in nats, summed over dimensions.

    Args:
        mu, logvar: means and log-variances, shape (n, k).
    """
    if mu.shape != logvar.shape:
        raise InputError(f"mu has shape {tuple(mu.shape)} but logvar {tuple(logvar.shape)}; they must match.")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def prediction_kl(p_logits: Tensor, q_logits: Tensor) -> Tensor:
    """``KL(softmax(p_logits) || softmax(q_logits))`` per sample (n,), in nats."""
    if p_logits.shape != q_logits.shape:
        raise InputError(
            f"p_logits has shape {tuple(p_logits.shape)} but q_logits {tuple(q_logits.shape)}; "
            "they must match."
        )
    lp, lq = torch.log_softmax(p_logits, dim=-1), torch.log_softmax(q_logits, dim=-1)
    return (lp.exp() * (lp - lq)).sum(dim=-1)


def omib_r(kl_1: float, kl_2: float) -> float:
    """``r = 1 - tanh(ln(kl_2 / kl_1))`` (Eq. 11) from the two expected prediction KLs (>= 0).

    ``kl_m`` is E[KL(p(y_hat_m | xi, z_m) || p(y_hat | xi))]; the limits are in the module docstring.
    """
    for name, v in (("kl_1", kl_1), ("kl_2", kl_2)):
        if not (v >= 0 and math.isfinite(v)):
            raise InputError(f"{name}={v!r}: an expected KL divergence must be finite and >= 0.")
    if kl_1 <= 0 and kl_2 <= 0:
        return 1.0
    if kl_1 <= 0:
        return 0.0
    if kl_2 <= 0:
        return 2.0
    return 1.0 - math.tanh(math.log(kl_2) - math.log(kl_1))


def expected_prediction_kls(logits: Tensor) -> list[float]:
    """``[E KL(p_m || p_fused) for m < M]``: batch means of :func:`prediction_kl`, in float64, no gradient.

    Args:
        logits: stacked logits (M + 1, n, C), the M unimodal predictions first and the fused one
            last. (One stacked pass and one host transfer: OMIB calls this every step.)

    Example:
        >>> z = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]]])
        >>> [round(k, 6) for k in expected_prediction_kls(z)]  # ln 2 - H(softmax(1, 0)), then 0
        [0.110944, 0.0]
    """
    if logits.dim() != 3 or logits.shape[0] < 2:
        raise InputError(f"logits has shape {tuple(logits.shape)}; expected (M + 1, n, C) with M >= 1.")
    with torch.no_grad():
        ls = torch.log_softmax(logits.detach().double(), dim=-1)
        lp, lq = ls[:-1], ls[-1]
        # prediction_kl per sample, then its batch mean: one sum over (n, C), divided by n on the host
        n = logits.shape[1]
        return [k / n for k in (lp.exp() * (lp - lq)).sum(dim=(1, 2)).tolist()]


def omib_r_from_logits(unimodal_1: Tensor, unimodal_2: Tensor, fused: Tensor) -> tuple[float, float, float]:
    """``(r, E KL_1, E KL_2)`` of one batch: Eq. 11 with batch means of the per-sample KLs."""
    shapes = {tuple(unimodal_1.shape), tuple(unimodal_2.shape), tuple(fused.shape)}
    if len(shapes) != 1:
        raise InputError(f"logits have shapes {sorted(shapes)}; the three must match (n, C).")
    k1, k2 = expected_prediction_kls(torch.stack((unimodal_1, unimodal_2, fused)))
    return omib_r(k1, k2), k1, k2


def beta_upper_bound(h_1: float, h_2: float, mi: float, r: float = 1.0) -> float:
    """``M_u = 1 / ((1 + r) (H(v_1) + H(v_2) - I(v_1; v_2)))`` (Prop. 5.7), in 1/nats.

    Raises:
        InputError: when ``r < 0`` or the denominator is not positive. With differential entropies
            (continuous v) ``H(v_1) + H(v_2) - I = H(v_1, v_2)`` may be <= 0 (it depends on the
            units of v); the bound is then undefined, and the fix is to measure v on a scale where
            the joint entropy is positive (e.g. z-scored features) or to pick beta by hand.
    """
    if not (r >= 0 and math.isfinite(r)):
        raise InputError(f"r={r!r} must be finite and >= 0 (Eq. 11 gives r in [0, 2]).")
    denom = h_1 + h_2 - mi
    if not (math.isfinite(denom) and denom > 0):
        raise InputError(
            f"H(v_1) + H(v_2) - I(v_1; v_2) = {h_1:.4g} + {h_2:.4g} - {mi:.4g} = {denom:.4g} "
            "is not positive, "
            "so M_u (Prop. 5.7) is undefined: estimate the entropies on z-scored features (differential "
            "entropy depends on units), use more components, or set beta by hand."
        )
    return 1.0 / ((1.0 + r) * denom)
