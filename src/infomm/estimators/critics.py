"""Critics f(x, y) for variational MI bounds: joint, separable and bilinear.

A critic maps a batch ``x`` (n, dx) and ``y`` (m, dy) to a score matrix (n, m) with
``scores[i, j] = f(x_i, y_j)``; the bounds in :mod:`infomm.functional.bounds` read the
diagonal as joint pairs and the rest as pairs from the product of marginals
(Poole et al. 2019, Sec. 2 and Fig. 1 for the three architectures).

Example:
    >>> import torch
    >>> c = make_critic("separable", 3, 2, CriticConfig(hidden=16, embed_dim=8))
    >>> c(torch.randn(5, 3), torch.randn(5, 2)).shape
    torch.Size([5, 5])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from infomm.interface import InputError
from infomm.registry import Registry


@dataclass(frozen=True)
class CriticConfig:
    """Sizes shared by every critic.

    Attributes:
        hidden: width of hidden layers.
        layers: number of hidden layers (0 makes the embedding linear).
        embed_dim: embedding size of separable and bilinear critics.
        activation: ``"relu"``, ``"gelu"``, ``"tanh"`` or ``"silu"``.
    """

    hidden: int = 128
    layers: int = 2
    embed_dim: int = 32
    activation: str = "relu"


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


def mlp(d_in: int, d_out: int, hidden: int, layers: int, activation: str = "relu") -> nn.Sequential:
    """A plain multi-layer perceptron with ``layers`` hidden layers of width ``hidden``."""
    if activation not in ACTIVATIONS:
        raise InputError(f"activation={activation!r} is not known; use one of {', '.join(ACTIVATIONS)}.")
    for name, v, low in (
        ("hidden", hidden, 1),
        ("layers", layers, 0),
        ("d_in", d_in, 1),
        ("d_out", d_out, 1),
    ):
        if not isinstance(v, int) or v < low:
            raise InputError(f"{name}={v!r} must be an integer >= {low}.")
    act = ACTIVATIONS[activation]
    mods: list[nn.Module] = []
    d = d_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, d_out))
    return nn.Sequential(*mods)


class Critic(nn.Module):
    """Base class: ``forward(x, y) -> (n, m)`` score matrix."""

    def forward(self, x: Tensor, y: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class JointCritic(Critic):
    """f(x, y) = MLP([x, y]) evaluated on all n*m pairs ("concat" critic)."""

    def __init__(self, dim_x: int, dim_y: int, config: CriticConfig = CriticConfig()) -> None:
        super().__init__()
        self.net = mlp(dim_x + dim_y, 1, config.hidden, max(config.layers, 1), config.activation)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        n, m = x.shape[0], y.shape[0]
        pairs = torch.cat(
            [x[:, None, :].expand(n, m, x.shape[1]), y[None, :, :].expand(n, m, y.shape[1])], dim=2
        )
        return self.net(pairs).squeeze(-1)


class SeparableCritic(Critic):
    """f(x, y) = g(x)^T h(y) with MLP embeddings g and h (cheap: n + m network passes)."""

    def __init__(self, dim_x: int, dim_y: int, config: CriticConfig = CriticConfig()) -> None:
        super().__init__()
        self.g = mlp(dim_x, config.embed_dim, config.hidden, config.layers, config.activation)
        self.h = mlp(dim_y, config.embed_dim, config.hidden, config.layers, config.activation)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.g(x) @ self.h(y).T


class BilinearCritic(Critic):
    """f(x, y) = g(x)^T W h(y) with a learned matrix W (identity at start)."""

    def __init__(self, dim_x: int, dim_y: int, config: CriticConfig = CriticConfig()) -> None:
        super().__init__()
        self.g = mlp(dim_x, config.embed_dim, config.hidden, config.layers, config.activation)
        self.h = mlp(dim_y, config.embed_dim, config.hidden, config.layers, config.activation)
        self.weight = nn.Parameter(torch.eye(config.embed_dim))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.g(x) @ self.weight @ self.h(y).T


CriticFactory = Callable[[int, int, CriticConfig], Critic]
CRITICS: Registry[CriticFactory] = Registry("critic")
CRITICS.register("joint", JointCritic, summary="MLP on the concatenation [x, y]; n*m passes per batch")
CRITICS.register("separable", SeparableCritic, summary="dot product of two MLP embeddings")
CRITICS.register("bilinear", BilinearCritic, summary="g(x)^T W h(y) with a learned W")


def make_critic(name: str, dim_x: int, dim_y: int, config: CriticConfig = CriticConfig()) -> Critic:
    """Build the critic registered as ``name`` for inputs of sizes ``dim_x`` and ``dim_y``."""
    return CRITICS.get(name)(dim_x, dim_y, config)
