"""Neural lower bounds on I(X;Y): one bound x one critic x one fitting routine.

The bounds are pure functions of critic scores (:mod:`infomm.functional.bounds`); critics
live in :mod:`infomm.estimators.critics`; training is :func:`infomm.estimators.fitting.fit`.
A named estimator ("mine", "infonce", ...) is only a choice of bound.

=========  ==========================================  ===================================
name       trained with                                read out with
=========  ==========================================  ===================================
dv         Donsker-Varadhan (Poole et al. 2019 Eq. 4)  DV
mine       DV, moving-average gradient (Belghazi       DV
           et al. 2018 Eq. 12)
nwj        NWJ (Poole et al. 2019 Eq. 9)               NWJ
infonce    InfoNCE (Poole et al. 2019 Eq. 12)          InfoNCE (<= log batch_size)
js         JS f-GAN (Poole et al. 2019 Sec. 2.3)       NWJ of f + 1
smile      JS gradient (Song & Ermon 2020)             clipped DV (Song & Ermon 2020 Eq. 17)
=========  ==========================================  ===================================

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1))
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))  # truth 0.4133 nats
    >>> est = NeuralMI("smile", max_epochs=30).estimate(x, y)
    >>> abs(est.value - 0.4133) < 0.1
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from infomm.estimators.base import MI_ESTIMATORS, MIEstimatorBase
from infomm.estimators.critics import Critic, CriticConfig, make_critic
from infomm.estimators.fitting import FitConfig, fit, split_indices, standardize_on, with_options
from infomm.functional import bounds as B
from infomm.interface import Estimate, Flag, FlagCode
from infomm.registry import Registry


@dataclass(frozen=True)
class Bound:
    """A variational bound: its read-out value and its training objective (both maximised).

    Both take ``(scores, state)``; ``state`` holds settings (SMILE's ``tau``) and may keep
    state across steps (MINE's moving average).
    """

    name: str
    value: Callable[[Tensor, dict[str, Any]], Tensor]
    objective: Callable[[Tensor, dict[str, Any]], Tensor]
    log_batch_ceiling: bool = False
    summary: str = ""


def _mine_objective(scores: Tensor, state: dict[str, Any]) -> Tensor:
    log_ema = state.get("log_ema", torch.tensor(-math.inf))
    sur, state["log_ema"] = B.mine_surrogate(scores, log_ema, alpha=state.get("alpha", 0.01))
    return sur


BOUNDS: Registry[Bound] = Registry("bound")
for _b in (
    Bound("dv", lambda s, st: B.dv(s), lambda s, st: B.dv(s), summary="Donsker-Varadhan lower bound"),
    Bound(
        "mine",
        lambda s, st: B.dv(s),
        _mine_objective,
        summary="MINE: DV with the moving-average bias-corrected gradient",
    ),
    Bound(
        "nwj", lambda s, st: B.nwj(s), lambda s, st: B.nwj(s), summary="Nguyen-Wainwright-Jordan lower bound"
    ),
    Bound(
        "infonce",
        lambda s, st: B.infonce(s),
        lambda s, st: B.infonce(s),
        True,
        "InfoNCE / CPC, capped at log(batch)",
    ),
    Bound(
        "js",
        lambda s, st: B.js_nwj(s),
        lambda s, st: B.js_objective(s),
        summary="JS-trained critic, NWJ read-out",
    ),
    Bound(
        "smile",
        lambda s, st: B.smile(s, st.get("tau", 5.0)),
        lambda s, st: B.smile_surrogate(s, st.get("tau", 5.0)),
        summary="SMILE: JS-trained critic, clipped-DV read-out (tau=5)",
    ),
):
    BOUNDS.register(_b.name, _b, summary=_b.summary)


@dataclass
class NeuralConfig:
    """Everything a neural MI estimate depends on, in one place.

    Attributes:
        critic: ``"separable"`` (default, fast), ``"bilinear"`` or ``"joint"``.
        critic_config: network sizes; here 4 hidden GELU layers of 64 (deeper and smoother than
            :class:`CriticConfig`'s default: measured in ``benchmarks/README.md``).
        tau: SMILE clip.
        ema_rate: MINE moving-average rate.
        standardize: z-score each column (fitted on the training split) before training.
        transform: MI-preserving per-column map applied first: ``None``, ``"asinh"`` or
            ``"rank"`` (normal scores); the cure for a ``heavy_tails`` flag.
        fit: the shared :class:`FitConfig`, with ``patience=20`` here: held-out bound values are
            noisy and high MI is learned slowly (``benchmarks/README.md``).
    """

    critic: str = "separable"
    critic_config: CriticConfig = field(
        default_factory=lambda: CriticConfig(hidden=64, layers=4, activation="gelu")
    )
    tau: float = 5.0
    ema_rate: float = 0.01
    standardize: bool = True
    transform: str | None = None
    fit: FitConfig = field(default_factory=lambda: FitConfig(patience=20))

    def with_options(self, **options: Any) -> NeuralConfig:
        """A copy with fields of this config, its ``critic_config`` or its ``fit`` set by name."""
        return with_options(self, options, "a neural estimator", nested=("fit", "critic_config"))


class BoundObjective(nn.Module):
    """A critic trained by a bound: the :class:`~infomm.estimators.fitting.Objective` of neural MI.

    Also usable directly as a differentiable loss in a user's training loop
    (see :class:`infomm.estimators.losses.MILoss`).
    """

    def __init__(self, bound: Bound, critic: Critic, state: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.bound = bound
        self.critic = critic
        self.state: dict[str, Any] = state or {}

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        return -self.bound.objective(self.critic(x, y), self.state)

    def score(self, x: Tensor, y: Tensor) -> float:
        return float(self.bound.value(self.critic(x, y), self.state))


class NeuralMI(MIEstimatorBase):
    """Neural variational lower bound on I(X;Y) (see the module table for the bounds).

    Args:
        bound: name in :data:`BOUNDS` (``"smile"``, ``"infonce"``, ``"mine"``, ``"nwj"``,
            ``"js"``, ``"dv"``).
        config: a :class:`NeuralConfig`; keyword ``options`` override its fields, its
            critic's or its fit's by name (``NeuralMI("mine", batch_size=512, seed=1)``).

    The headline ``value`` is the bound on the held-out split (not used for gradient
    steps), ``train_value`` the bound on training samples.
    """

    min_samples = 20
    # bootstrap duplicates would sit on both sides of the held-out split
    spread_kinds = ("seeds", "folds")

    def __init__(self, bound: str = "smile", config: NeuralConfig | None = None, **options: Any) -> None:
        self.bound = BOUNDS.get(bound)
        self.name = self.bound.name
        self.config = (config or NeuralConfig()).with_options(**options)
        self.transform = self.config.transform
        self.last_fit: Any = None
        make_critic(self.config.critic, 1, 1, self.config.critic_config)  # fail fast on a bad name
        self.config.fit.validate()

    @property
    def seed(self) -> int:
        return self.config.fit.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.config.fit.seed = value

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        cfg = self.config
        tr, he = split_indices(x.shape[0], cfg.fit.heldout_fraction, cfg.fit.seed, min_side=4)
        if cfg.standardize:
            x = standardize_on(x, tr)[0]
            y = standardize_on(y, tr)[0]
        torch.manual_seed(cfg.fit.seed)
        dev = torch.device(cfg.fit.device)
        xt = torch.as_tensor(x, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
        critic = make_critic(cfg.critic, x.shape[1], y.shape[1], cfg.critic_config).to(dev)
        obj = BoundObjective(self.bound, critic, {"tau": cfg.tau, "alpha": cfg.ema_rate})
        res = fit(obj, (xt[tr], yt[tr]), (xt[he], yt[he]), cfg.fit, description=f"{self.name} ({cfg.critic})")
        self.last_fit = res
        batch = min(cfg.fit.batch_size, len(tr))
        flags = []
        if res.diverged:
            flags.append(
                Flag(FlagCode.DIVERGED, "training diverged (non-finite loss); lower lr or use 'smile'.")
            )
        elif res.heldout_score < -1.0:
            # a lower bound this far below 0 means the critic did not train (too large a lr, ...)
            flags.append(
                Flag(
                    FlagCode.DIVERGED,
                    f"held-out bound {res.heldout_score:.3g} nats is far below 0: the critic failed to train; "
                    "lower lr or use 'smile'.",
                )
            )
        if self.bound.log_batch_ceiling and res.heldout_score > math.log(batch) - max(
            0.5, 0.1 * math.log(batch)
        ):
            flags.append(
                Flag(
                    FlagCode.NEAR_LOG_BATCH_CEILING,
                    f"estimate is near InfoNCE's ceiling log(batch_size)={math.log(batch):.2f}; the true MI may be "
                    "higher: raise batch_size or use 'smile'.",
                )
            )
        if res.train_score - res.heldout_score > max(0.1, 0.2 * abs(res.heldout_score)):
            flags.append(
                Flag(
                    FlagCode.OVERFIT,
                    f"train value {res.train_score:.3f} is well above held-out {res.heldout_score:.3f}: the critic "
                    "overfits; use more samples or a smaller critic.",
                )
            )
        return Estimate(
            value=res.heldout_score,
            method=self.name,
            n=x.shape[0],
            train_value=res.train_score,
            heldout_value=res.heldout_score,
            flags=tuple(flags),
            details={
                "critic": cfg.critic,
                "batch_size": batch,
                "epochs": res.epochs_run,
                "best_epoch": res.best_epoch,
                "seconds": round(res.seconds, 3),
                "n_train": len(tr),
                "n_heldout": len(he),
            },
        )

    def _negative_tolerance(self, est: Estimate) -> float:
        return 0.02


def _factory(bound: str) -> Callable[..., NeuralMI]:
    def make(**options: Any) -> NeuralMI:
        return NeuralMI(bound, **options)

    make.__name__ = f"neural_{bound}"
    return make


for _name in BOUNDS.names():
    MI_ESTIMATORS.register(_name, _factory(_name), summary="neural: " + BOUNDS.summary(_name))
