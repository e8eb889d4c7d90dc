"""Neural MI bounds as differentiable losses for a user's own training loop.

Maximise I(X;Y) between two modalities' features (e.g. a MINE or InfoNCE term pulling an
audio and an image encoder together) with :class:`MILoss`; minimise it with the CLUB upper
bound (:class:`CLUBLoss`). The bounds and critics are the same
objects the estimators use (one bound x one critic).

Example:
    >>> import torch
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> enc_a, enc_b = torch.nn.Linear(4, 8), torch.nn.Linear(4, 8)
    >>> mi = MILoss("infonce", dim_x=8, dim_y=8)
    >>> opt = torch.optim.Adam([*enc_a.parameters(), *enc_b.parameters(), *mi.parameters()], lr=1e-2)
    >>> z = torch.randn(256, 4)
    >>> a, b = z + 0.1 * torch.randn_like(z), z + 0.1 * torch.randn_like(z)  # two views of one signal
    >>> for _ in range(50):
    ...     loss = mi(enc_a(a), enc_b(b))  # = -bound; minimising it maximises I
    ...     opt.zero_grad(); loss.backward(); opt.step()
    >>> float(mi.last_value) > 2.0  # nats, capped by log(256) = 5.55
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from infomm.estimators.conditional import GaussianConditional
from infomm.estimators.critics import Critic, CriticConfig, make_critic
from infomm.estimators.neural import BOUNDS, BoundObjective
from infomm.functional.bounds import club_bound, club_sampled_bound
from infomm.interface import InputError


class MILoss(nn.Module):
    """``loss = -bound(critic(x, y))``: minimise it to maximise a lower bound on I(X;Y).

    Args:
        bound: ``"mine"``, ``"infonce"``, ``"nwj"``, ``"smile"``, ``"js"`` or ``"dv"``
            (see :mod:`infomm.estimators.neural`).
        critic: a :class:`~infomm.estimators.critics.Critic` module or a critic name
            (``"separable"``, ``"bilinear"``, ``"joint"``); a name needs ``dim_x``/``dim_y``.
        dim_x, dim_y: feature sizes, when the critic is given by name.
        critic_config: sizes of a critic built by name.

    After each call, ``last_value`` holds the bound's value on that batch (nats, detached).
    For MINE the moving average of the partition function lives in this module, so use
    one :class:`MILoss` per pair of modalities for the whole training run.
    """

    def __init__(
        self,
        bound: str = "infonce",
        critic: Critic | str = "separable",
        dim_x: int | None = None,
        dim_y: int | None = None,
        critic_config: CriticConfig | None = None,
        **bound_state: Any,
    ) -> None:
        super().__init__()
        if isinstance(critic, str):
            if dim_x is None or dim_y is None:
                raise InputError(f"critic={critic!r} is a name, so dim_x and dim_y are needed to build it.")
            critic = make_critic(critic, dim_x, dim_y, critic_config or CriticConfig(hidden=64, embed_dim=32))
        self.objective = BoundObjective(BOUNDS.get(bound), critic, dict(bound_state))
        self.last_value = torch.tensor(float("nan"))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        if x.shape[0] != y.shape[0] or x.shape[0] < 2:
            raise InputError(f"x and y need the same batch size >= 2, got {x.shape[0]} and {y.shape[0]}.")
        scores = self.objective.critic(x, y)
        obj = self.objective.bound.objective(scores, self.objective.state)
        with torch.no_grad():
            self.last_value = self.objective.bound.value(scores, self.objective.state).detach()
        return -obj


class CLUBLoss(nn.Module):
    """CLUB as a differentiable loss for a user's training loop (Cheng et al. 2020, Algorithm 1).

    Shapes: ``x`` (n, dim_x), ``y`` (n, dim_y). Two steps per iteration: train q with
    :meth:`learning_loss` on **detached** features (maximum likelihood of q(y|x)); then
    minimise :meth:`forward` (the CLUB estimate, Eq. 3 or its sampled form) with the
    encoder's optimiser to reduce I(X;Y).

    Args:
        dim_x, dim_y: feature sizes.
        hidden, layers: MLP sizes of q(y|x) (diagonal Gaussian).
        sampled: one random negative per sample (vCLUB-S, O(n)) instead of all n^2 pairs.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> enc = nn.Linear(2, 1, bias=False)  # z = w . x; y depends on x_1 only
        >>> _ = enc.weight.data.copy_(torch.tensor([[1.0, 0.3]]))
        >>> club = CLUBLoss(1, 1, hidden=16)
        >>> opt_q = torch.optim.Adam(club.parameters(), lr=1e-2)
        >>> opt_enc = torch.optim.Adam(enc.parameters(), lr=1e-2)
        >>> for _ in range(100):
        ...     x = torch.randn(256, 2)
        ...     y = x[:, :1] + 0.5 * torch.randn(256, 1)
        ...     z = enc(x)
        ...     opt_q.zero_grad(); club.learning_loss(z.detach(), y).backward(); opt_q.step()
        ...     opt_enc.zero_grad(); club(z, y).backward(); opt_enc.step()
        >>> w = enc.weight.detach()[0]
        >>> bool(w[0].abs() < w[1].abs())  # the encoder turned away from x_1: I(Z;Y) fell
        True
    """

    def __init__(
        self, dim_x: int, dim_y: int, hidden: int = 64, layers: int = 2, sampled: bool = False
    ) -> None:
        super().__init__()
        self.q = GaussianConditional(dim_x, dim_y, hidden, layers, "relu", "diagonal")
        self.sampled = sampled

    def learning_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """-mean log q(y_i | x_i): minimise it (with detached x, y) to fit q."""
        return -self.q.log_prob(y, x).mean()

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """The CLUB upper-bound estimate of I(X;Y) on this batch (scalar, nats)."""
        if x.shape[0] < 2:
            raise InputError(f"x has {x.shape[0]} rows; CLUB needs a batch of at least 2 samples.")
        if self.sampled:
            perm = torch.randperm(x.shape[0], device=x.device)
            return club_sampled_bound(self.q.log_prob(y, x), self.q.log_prob(y[perm], x))
        return club_bound(self.q.pairwise(y, x))
