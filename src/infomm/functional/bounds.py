"""Variational bounds on mutual information as pure functions of critic scores.

Every function takes a square score matrix ``scores`` of shape (n, n) with
``scores[i, j] = f(x_i, y_j)``: the diagonal holds the n joint pairs (samples of p(x, y)),
the off-diagonal entries the n(n-1) pairs of the product of marginals p(x)p(y). They return
a scalar tensor in nats. Where the training gradient of a bound differs from its value
(MINE, SMILE), a second function gives the surrogate whose gradient is used.

References:
    Poole, Ozair, van den Oord, Alemi, Tucker (2019), "On Variational Bounds of Mutual
    Information", ICML: Eq. 2-4 (DV), Eq. 9 (NWJ / "TUBA" with a = e), Eq. 12 (InfoNCE),
    Sec. 2.3 (JS-trained critic read out by NWJ).
    Belghazi et al. (2018), "Mutual Information Neural Estimation", ICML: Eq. 10 (MINE),
    Eq. 12 (moving-average bias-corrected gradient).
    Song & Ermon (2020), "Understanding the Limitations of Variational Mutual Information
    Estimators", ICLR: Eq. 17 (SMILE, the clipped DV).

Bounds from a variational conditional q(y|x) (CLUB, L1Out) take instead a matrix ``log_q``
of shape (n, n) with ``log_q[i, j] = log q(y_j | x_i)`` (rows: conditioning x, columns:
evaluated y; the diagonal holds the joint pairs):

    * CLUB (Cheng, Hao, Dai, Liu, Gan, Carin 2020, "CLUB: A Contrastive Log-ratio Upper Bound
      of Mutual Information", ICML, Eq. 3 with q in place of p, Sec. 3.2):
      mean_i log_q[i, i] - mean_{i, j} log_q[i, j].
    * L1Out (Poole, Ozair, van den Oord, Alemi, Tucker 2019, "On Variational Bounds of Mutual
      Information", ICML, Eq. 15-16; Cheng et al. 2020 Sec. 2):
      mean_i [log_q[i, i] - log (1/(n-1)) sum_{j != i} exp log_q[j, i]].

Example:
    >>> import torch
    >>> s = torch.zeros(8, 8)  # a critic that knows nothing: the bounds read 0
    >>> [round(float(b(s)), 6) for b in (dv, infonce, js_nwj, smile)]
    [0.0, 0.0, 0.0, 0.0]
    >>> round(float(nwj(s + 1)), 6)  # NWJ's constant optimum is f = 1
    0.0
    >>> s = 10 * torch.eye(8) - 5  # a confident critic: InfoNCE saturates at log n
    >>> bool(infonce(s) <= torch.log(torch.tensor(8.0)))
    True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _check(scores: Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(
            f"scores must be a square (n, n) matrix with n >= 2, got shape {tuple(scores.shape)}"
        )
    return scores.shape[0]


def _offdiag(scores: Tensor) -> Tensor:
    n = scores.shape[0]
    mask = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    return scores[mask]


def log_mean_exp_offdiag(scores: Tensor) -> Tensor:
    """log of the mean of exp(scores) over the off-diagonal (product-of-marginals) pairs.

    The diagonal is masked with -inf rather than gathered by boolean indexing: the same value,
    about a quarter less CPU per neural fit (measured in ``benchmarks/README.md``).
    """
    n = _check(scores)
    eye = torch.eye(n, dtype=torch.bool, device=scores.device)
    return torch.logsumexp(scores.masked_fill(eye, float("-inf")).reshape(-1), dim=0) - math.log(n * (n - 1))


def dv(scores: Tensor) -> Tensor:
    """Donsker-Varadhan bound: E_p[f] - log E_q[e^f] (Poole et al. 2019, Eq. 4)."""
    _check(scores)
    return scores.diagonal().mean() - log_mean_exp_offdiag(scores)


def nwj(scores: Tensor) -> Tensor:
    """Nguyen-Wainwright-Jordan bound: E_p[f] - e^{-1} E_q[e^f] (Poole et al. 2019, Eq. 9, a = e).

    Written as E_p[f] - E_q[e^{f-1}]; the optimal critic is 1 + log p(x,y)/(p(x)p(y)).
    """
    _check(scores)
    return scores.diagonal().mean() - torch.exp(log_mean_exp_offdiag(scores - 1.0))


def infonce(scores: Tensor) -> Tensor:
    """InfoNCE: E[f(x_i,y_i) - log (1/n) sum_j e^{f(x_i,y_j)}] (Poole et al. 2019, Eq. 12).

    Bounded above by log n (n = batch size).
    """
    n = _check(scores)
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(n)


def js_objective(scores: Tensor) -> Tensor:
    """Jensen-Shannon f-GAN objective E_p[-softplus(-f)] - E_q[softplus(f)] (training only).

    Its maximiser is f* = log p(x,y)/(p(x)p(y)) (Poole et al. 2019, Sec. 2.3); it is not a
    bound on MI itself, see :func:`js_nwj`.
    """
    _check(scores)
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(_offdiag(scores)).mean()


def js_nwj(scores: Tensor) -> Tensor:
    """NWJ read-out of a JS-trained critic: I_NWJ(f + 1) = 1 + E_p[f] - E_q[e^f]."""
    return nwj(scores + 1.0)


def smile(scores: Tensor, tau: float = 5.0) -> Tensor:
    """SMILE value: DV with the partition term on scores clipped to [-tau, tau] (Song & Ermon 2020, Eq. 17)."""
    _check(scores)
    clipped = scores.clamp(-tau, tau)
    return scores.diagonal().mean() - log_mean_exp_offdiag(clipped)


def smile_surrogate(scores: Tensor, tau: float = 5.0) -> Tensor:
    """Training surrogate of SMILE: the JS objective's gradient with SMILE's value.

    As in Song & Ermon's reference implementation, the critic is trained with the JS
    objective (low variance) and read out with the clipped DV bound.
    """
    js = js_objective(scores)
    return js + (smile(scores, tau) - js).detach()


def mine_surrogate(scores: Tensor, log_ema: Tensor, alpha: float = 0.01) -> tuple[Tensor, Tensor]:
    """MINE's bias-corrected gradient surrogate (Belghazi et al. 2018, Eq. 12).

    The DV gradient E_p[grad f] - E_q[e^f grad f] / E_q[e^f] uses a minibatch estimate of the
    denominator, which biases it. MINE replaces the denominator by an exponential moving
    average over batches. Returns ``(surrogate, new_log_ema)``: ``surrogate``'s gradient is
    the corrected one and its value equals the DV bound; ``log_ema`` is the log of the moving
    average (kept in log space against overflow).

    Args:
        scores: (n, n) critic scores.
        log_ema: scalar tensor, log of the running mean of E_q[e^f] (no gradient);
            ``torch.tensor(float("-inf"))`` at the first step starts it at the batch value.
        alpha: moving-average rate (the paper's small constant).
    """
    _check(scores)
    log_batch = log_mean_exp_offdiag(scores)
    with torch.no_grad():
        if torch.isfinite(log_ema):
            new = torch.logaddexp(log_ema + math.log1p(-alpha), log_batch.detach() + math.log(alpha))
        else:
            new = log_batch.detach()
    # grad of exp(log_batch)/exp(new) = e^{log_batch} grad(log_batch) / ema  -> corrected gradient
    corrected = torch.exp(log_batch - new)
    value = scores.diagonal().mean() - log_batch
    surrogate = scores.diagonal().mean() - corrected
    return surrogate + (value - surrogate).detach(), new


# ---- bounds from a variational conditional q(y|x) (log q matrices, not critic scores)
def club_bound(log_q: Tensor) -> Tensor:
    """CLUB estimate (Cheng et al. 2020, Eq. 3 / vCLUB Sec. 3.2) from an (n, n) ``log_q`` matrix.

    mean_i log q(y_i|x_i) - mean_{i,j} log q(y_j|x_i). With the true conditional it is an
    upper bound on I(X;Y); the gap is the lautum information KL(p(x)p(y) || p(x,y)).

    Example:
        >>> round(float(club_bound(torch.tensor([[0.0, -2.0], [-2.0, 0.0]]))), 4)
        1.0
    """
    return torch.diagonal(log_q).mean() - log_q.mean()


def club_sampled_bound(log_q_pos: Tensor, log_q_neg: Tensor) -> Tensor:
    """vCLUB-S (Cheng et al. 2020, Sec. 3.3, Algorithm 1): one random negative per sample.

    Args:
        log_q_pos: (n,) log q(y_i | x_i).
        log_q_neg: (n,) log q(y_{k'_i} | x_i) for a random index k'_i.

    Example:
        >>> float(club_sampled_bound(torch.zeros(3), -torch.ones(3)))
        1.0
    """
    return (log_q_pos - log_q_neg).mean()


def l1out_bound(log_q: Tensor) -> Tensor:
    """Leave-one-out bound (Poole et al. 2019, Eq. 15-16) from an (n, n) ``log_q`` matrix.

    mean_i [log q(y_i|x_i) - log (1/(n-1)) sum_{j != i} q(y_i|x_j)]; needs n >= 2.

    Example:
        >>> round(float(l1out_bound(torch.zeros(5, 5))), 6)
        0.0
    """
    n = log_q.shape[0]
    if n < 2 or log_q.shape[1] != n:
        raise ValueError(f"log_q must be a square (n, n) matrix with n >= 2, got shape {tuple(log_q.shape)}")
    mask = torch.eye(n, dtype=torch.bool, device=log_q.device)
    off = log_q.masked_fill(mask, -math.inf)
    negative = torch.logsumexp(off, dim=0) - math.log(n - 1)  # over conditioning x_j, per column y_i
    return (torch.diagonal(log_q) - negative).mean()
