"""Gaussian and Gaussian-mixture log-densities as pure functions.

Convention: a Gaussian N(mu, P^-1) is given by its mean ``mu`` and the lower-triangular
Cholesky factor ``L`` of its **precision** P = L L^T (scikit-learn's ``precisions_cholesky_``),
so that with z = (x - mu) L

    log N(x; mu, P^-1) = -||z||^2 / 2 + sum_k log L_kk - (d/2) log(2 pi).

A diagonal factor may be passed as a vector of shape (..., d) (the diagonal of L). A
Gaussian mixture (Pichler, Colombo, Boudiaf, Koliander, Piantanida 2022, "A Differential
Entropy Estimator for Training Neural Networks", ICML, Eq. 7-9: the KNIFE "MargKernel")
adds ``log softmax(logits)`` per component and takes a logsumexp over components.

The contrastive bounds that use these densities (CLUB, L1Out) live in
:mod:`infomm.functional.bounds`.

Example:
    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0]])
    >>> L = precision_factor("diagonal", torch.zeros(1, 1))  # unit variance
    >>> [round(v, 4) for v in gmm_log_prob(x, torch.zeros(1), torch.zeros(1, 1), L).tolist()]
    [-0.9189, -1.4189]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

PRECISION_KINDS = ("full", "unit_triangular", "diagonal")


def precision_factor(kind: str, log_diag: Tensor, offdiag: Tensor | None = None) -> Tensor:
    """Build the precision Cholesky factor ``L`` from unconstrained parameters.

    Args:
        kind: ``"full"``: L = tril(offdiag, -1) + diag(exp(log_diag)) (any lower-triangular
            factor with a positive diagonal); ``"unit_triangular"``: L = U diag(exp(log_diag))
            with U = I + tril(offdiag, -1) unit lower-triangular, the parametrisation of
            KNIFE's code (g-pichler/knife, ``MargKernel``: a per-component diagonal scale,
            then a unit-triangular map; log det L = sum log_diag); ``"diagonal"``: the vector
            exp(log_diag).
        log_diag: (..., d) log of the diagonal of L (log precision-scales).
        offdiag: (..., d, d) strictly lower part (the rest is ignored); required unless diagonal.

    Returns:
        (..., d, d) lower-triangular factor, or (..., d) for ``"diagonal"``.

    Example:
        >>> L = precision_factor("unit_triangular", torch.zeros(1, 2), torch.ones(1, 2, 2))
        >>> L[0].tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    scale = log_diag.exp()
    if kind == "diagonal":
        return scale
    if kind not in PRECISION_KINDS:
        raise ValueError(f"kind={kind!r} is not known; use one of {PRECISION_KINDS}")
    if offdiag is None:
        raise ValueError(f"kind={kind!r} needs the strictly lower-triangular parameters 'offdiag'")
    lower = torch.tril(offdiag, diagonal=-1)
    if kind == "full":
        return lower + torch.diag_embed(scale)
    eye = torch.eye(scale.shape[-1], dtype=scale.dtype, device=scale.device)
    return (lower + eye) * scale.unsqueeze(-2)  # U @ diag(s): column j scaled by s_j


def gaussian_log_prob(x: Tensor, mean: Tensor, chol_prec: Tensor) -> Tensor:
    """log N(x; mean, (L L^T)^-1) with broadcasting over leading dimensions.

    Args:
        x: (..., d) points.
        mean: (..., d) means (broadcast against ``x``).
        chol_prec: (..., d, d) lower-triangular precision factor L, or (..., d) its diagonal;
            it is read as full when it has one dimension more than ``mean``.

    Returns:
        (...) log-densities in nats.

    Example:
        >>> x = torch.tensor([[1.0, 2.0]])
        >>> L = torch.tensor([[[0.5, 0.0], [0.0, 0.25]]])  # sd 2 and 4
        >>> round(float(gaussian_log_prob(x, torch.zeros(1, 2), L)), 4)
        -4.1673
    """
    diff = x - mean
    d = diff.shape[-1]
    if chol_prec.ndim == mean.ndim + 1:
        z = torch.einsum("...i,...ij->...j", diff, chol_prec)
        log_det = torch.diagonal(chol_prec, dim1=-2, dim2=-1).log().sum(-1)
    else:
        z = diff * chol_prec
        log_det = chol_prec.log().sum(-1)
    return -0.5 * z.pow(2).sum(-1) + log_det - 0.5 * d * math.log(2 * math.pi)


def gmm_log_prob(x: Tensor, logits: Tensor, means: Tensor, chol_prec: Tensor) -> Tensor:
    """Log-density of a Gaussian mixture (Pichler et al. 2022, Eq. 7-9).

    log p(x) = logsumexp_k [log softmax(logits)_k + log N(x; means_k, (L_k L_k^T)^-1)].

    Args:
        x: (n, d) points.
        logits: (K,) unnormalised log-weights.
        means: (K, d) component means.
        chol_prec: (K, d, d) lower-triangular precision factors, or (K, d) diagonal ones.

    Returns:
        (n,) log-densities in nats.

    Example:
        >>> x = torch.zeros(3, 2)
        >>> one = gmm_log_prob(x, torch.zeros(1), torch.zeros(1, 2), torch.ones(1, 2))
        >>> two = gmm_log_prob(x, torch.zeros(2), torch.zeros(2, 2), torch.ones(2, 2))
        >>> bool(torch.allclose(one, two))  # two identical components = one
        True
    """
    per = gaussian_log_prob(x.unsqueeze(1), means.unsqueeze(0), chol_prec.unsqueeze(0))  # (n, K)
    return torch.logsumexp(per + torch.log_softmax(logits, dim=-1), dim=-1)


def pairwise_log_prob(y: Tensor, mean: Tensor, chol_prec: Tensor) -> Tensor:
    """Matrix of conditional log-densities ``out[i, j] = log q(y_j | x_i)``.

    Args:
        y: (m, d) evaluated points.
        mean: (n, d) conditional means mu(x_i).
        chol_prec: (n, d) diagonal or (n, d, d) lower-triangular precision factors of q(. | x_i).

    Returns:
        (n, m) log-densities in nats.

    Example:
        >>> out = pairwise_log_prob(torch.zeros(3, 1), torch.zeros(2, 1), torch.ones(2, 1))
        >>> tuple(out.shape), round(float(out[0, 0]), 4)
        ((2, 3), -0.9189)
    """
    return gaussian_log_prob(y.unsqueeze(0), mean.unsqueeze(1), chol_prec.unsqueeze(1))
