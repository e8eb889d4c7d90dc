"""The variational conditional density q(y|x) behind CLUB, L1Out, DoE and :class:`CLUBLoss`.

q(y|x) = N(mu(x), (L(x) L(x)^T)^-1) with MLP mean and precision factor, as in Cheng et al.
(2020), "CLUB: A Contrastive Log-ratio Upper Bound of Mutual Information", ICML, Sec. 3.2.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infomm.estimators.critics import ACTIVATIONS, mlp
from infomm.functional.mixture import gaussian_log_prob, pairwise_log_prob
from infomm.interface import InputError
from infomm.validation import check_int_range

COVARIANCES = ("diagonal", "full")
_LOG_SCALE_BOUND = 7.0  # |log precision-scale| <= 7: sd within [1e-3, 1e3] on the standardised scale


class GaussianConditional(nn.Module):
    """q(y|x) = N(mu(x), (L(x) L(x)^T)^-1), the variational conditional of Cheng et al. 2020 Sec. 3.2.

    Two MLPs of x give the mean (n, dy) (plus a linear term, so linear dependence is fitted
    without relying on the hidden units) and the precision factor: its log-diagonal (softly
    bounded to +-7) and, for ``covariance="full"``, its dy(dy-1)/2 strictly lower entries.

    Example:
        >>> q = GaussianConditional(3, 2, hidden=8, layers=1)
        >>> x, y = torch.randn(5, 3), torch.randn(5, 2)
        >>> q.log_prob(y, x).shape, q.pairwise(y, x).shape
        (torch.Size([5]), torch.Size([5, 5]))
    """

    tril_index: Tensor

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        hidden: int = 64,
        layers: int = 2,
        activation: str = "relu",
        covariance: str = "diagonal",
    ) -> None:
        super().__init__()
        if covariance not in COVARIANCES:
            raise InputError(f"covariance={covariance!r} is not known; use 'diagonal' or 'full'.")
        if activation not in ACTIVATIONS:
            raise InputError(f"activation={activation!r} is not known; use one of {', '.join(ACTIVATIONS)}.")
        check_int_range(dim_x, "dim_x", 1)
        check_int_range(dim_y, "dim_y", 1)
        check_int_range(hidden, "hidden", 1)
        check_int_range(layers, "layers", 0)
        self.dim_y = dim_y
        self.full = covariance == "full"
        n_scale = dim_y + (dim_y * (dim_y - 1) // 2 if self.full else 0)
        self.mean_net = mlp(dim_x, dim_y, hidden, layers, activation)
        self.mean_linear = nn.Linear(dim_x, dim_y)
        self.scale_net = mlp(dim_x, n_scale, hidden, layers, activation)
        self.register_buffer("tril_index", torch.tril_indices(dim_y, dim_y, offset=-1), persistent=False)

    def params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean (n, dy) and precision factor: (n, dy) diagonal or (n, dy, dy) lower-triangular."""
        raw = self.scale_net(x)
        d = self.dim_y
        log_diag = _LOG_SCALE_BOUND * torch.tanh(raw[:, :d] / _LOG_SCALE_BOUND)
        mean = self.mean_linear(x) + self.mean_net(x)
        if not self.full:
            return mean, log_diag.exp()
        chol = torch.diag_embed(log_diag.exp())
        chol[:, self.tril_index[0], self.tril_index[1]] = raw[:, d:]
        return mean, chol

    def log_prob(self, y: Tensor, x: Tensor) -> Tensor:
        """log q(y_i | x_i), shape (n,)."""
        mean, chol = self.params(x)
        return gaussian_log_prob(y, mean, chol)

    def pairwise(self, y: Tensor, x: Tensor, chunk: int = 256) -> Tensor:
        """(n, m) matrix of log q(y_j | x_i), computed in chunks of rows of ``x``."""
        rows = []
        for i in range(0, x.shape[0], chunk):
            mean, chol = self.params(x[i : i + chunk])
            rows.append(pairwise_log_prob(y, mean, chol))
        return torch.cat(rows)

    # the Objective of fit(): maximum likelihood of q
    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        return -self.log_prob(y, x).mean()

    def score(self, x: Tensor, y: Tensor) -> float:
        return float(self.log_prob(y, x).mean())
