"""Estimators from a fitted conditional density q(y|x): CLUB, L1Out and difference of entropies.

One variational Gaussian q(y|x) = N(mu(x), (L(x) L(x)^T)^-1) with MLP mean and precision
factor (:class:`GaussianConditional`) is fitted by maximum likelihood on the training split
(loss -mean log q(y|x), :func:`~infomm.estimators.fitting.fit`); a read-out on the held-out
split turns it into a number:

============  =====================================================================  =====================
name          held-out read-out                                                       reference
============  =====================================================================  =====================
club          mean_i log q(y_i|x_i) - mean_{i,j} log q(y_j|x_i)                      Cheng et al. 2020 Eq. 3,
                                                                                      Sec. 3.2 (vCLUB)
club_sampled  mean_i log q(y_i|x_i) - log q(y_k'_i|x_i), one random negative k'_i    Cheng et al. 2020
                                                                                      Sec. 3.3, Algorithm 1
l1out         mean_i log q(y_i|x_i) - log 1/(n-1) sum_{j!=i} q(y_i|x_j)              Poole et al. 2019
                                                                                      Eq. 15-16
doe           CE(Y) - CE(Y|X): cross-entropies of a mixture p(y) and of q(y|x)       McAllester & Stratos
                                                                                      2020 Sec. 7
============  =====================================================================  =====================

References: Cheng, Hao, Dai, Liu, Gan, Carin (2020), "CLUB: A Contrastive Log-ratio Upper
Bound of Mutual Information", ICML; Poole, Ozair, van den Oord, Alemi, Tucker (2019), "On
Variational Bounds of Mutual Information", ICML; McAllester & Stratos (2020), "Formal
Limitations on the Measurement of Mutual Information", AISTATS.

With the true conditional, CLUB equals I(X;Y) plus the lautum information
KL(p(x)p(y) || p(x,y)), so it is an upper bound but not tight: for a bivariate Gaussian with
correlation rho it reads rho^2 / (1 - rho^2) (1.286 nats at rho = 0.75, where I = 0.413).
L1Out and DoE approach I(X;Y) itself.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1))
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))  # I = 0.4133 nats
    >>> abs(DoEMI().estimate(x, y).value - 0.4133) < 0.05
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.estimators.base import MI_ESTIMATORS, MIEstimatorBase
from infomm.estimators.conditional import COVARIANCES, GaussianConditional
from infomm.estimators.fitting import FitConfig, FitResult, fit, split_indices, standardize_on, with_options
from infomm.estimators.losses import CLUBLoss  # noqa: F401  (re-exported: CLUB as a training loss)
from infomm.estimators.mixture import MixtureConfig, MixtureDensity
from infomm.functional.bounds import club_bound, club_sampled_bound, l1out_bound
from infomm.interface import Estimate, Flag, FlagCode, InputError
from infomm.validation import check_int_range

Readout = Callable[[GaussianConditional, Tensor, Tensor, torch.Generator], float]


def _read_club(q: GaussianConditional, x: Tensor, y: Tensor, gen: torch.Generator) -> float:
    return float(club_bound(q.pairwise(y, x)))


def _read_club_sampled(q: GaussianConditional, x: Tensor, y: Tensor, gen: torch.Generator) -> float:
    perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
    return float(club_sampled_bound(q.log_prob(y, x), q.log_prob(y[perm], x)))


def _read_l1out(q: GaussianConditional, x: Tensor, y: Tensor, gen: torch.Generator) -> float:
    return float(l1out_bound(q.pairwise(y, x)))


READOUTS: dict[str, Readout] = {"club": _read_club, "club_sampled": _read_club_sampled, "l1out": _read_l1out}


@dataclass
class UpperConfig:
    """Everything CLUB, L1Out and DoE depend on.

    Attributes:
        hidden, layers, activation: sizes of the two MLPs of q(y|x) (``layers`` hidden layers).
            Small by default: larger ones overfit q and bias DoE low (at 5 Gaussian pairs with
            I = 8 nats, N = 5000: 64 x 2 layers gave -0.18 nats, 32 x 1 layer -0.08).
        covariance: precision of q(y|x): ``"diagonal"`` (CLUB's choice) or ``"full"``.
        standardize: z-score each column of x and y (fitted on the training split).
        readout_size: at most this many held-out samples enter the (n, n) read-out matrix.
        marginal: DoE's density of y (a :class:`MixtureConfig`; seed and device come from ``fit``).
        fit: the shared :class:`FitConfig`.
    """

    hidden: int = 32
    layers: int = 1
    activation: str = "relu"
    covariance: str = "diagonal"
    standardize: bool = True
    readout_size: int = 4096
    marginal: MixtureConfig = field(default_factory=MixtureConfig)
    fit: FitConfig = field(default_factory=lambda: FitConfig(max_epochs=200))

    def validate(self) -> None:
        if self.covariance not in COVARIANCES:
            raise InputError(f"covariance={self.covariance!r} is not known; use 'diagonal' or 'full'.")
        check_int_range(self.readout_size, "readout_size", 2)
        self.fit.validate()
        self.marginal.validate()


class _FittedConditional(MIEstimatorBase):
    """Shared part: the split, standardisation and maximum-likelihood fit of q(y|x)."""

    min_samples = 20
    # bootstrap duplicates would sit on both sides of the held-out split
    spread_kinds = ("seeds", "folds")

    def __init__(self, config: UpperConfig, options: dict[str, Any]) -> None:
        self.config = with_options(config, options, f"method {self.name!r}")
        self.config.validate()
        GaussianConditional(1, 1, 1, 0, self.config.activation, self.config.covariance)  # fail fast
        self.q: GaussianConditional | None = None
        self.last_fit: FitResult | None = None

    @property
    def seed(self) -> int:
        return self.config.fit.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.config.fit.seed = value

    def _prepare(
        self, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.config
        tr, he = split_indices(x.shape[0], cfg.fit.heldout_fraction, cfg.fit.seed, min_side=4)
        log_sd = np.zeros(y.shape[1])
        if cfg.standardize:
            x, _ = standardize_on(x, tr)
            y, log_sd = standardize_on(y, tr)
        return x, y, tr, he, log_sd

    def _fit_q(self, x: Tensor, y: Tensor, tr: np.ndarray, he: np.ndarray) -> FitResult:
        cfg = self.config
        torch.manual_seed(cfg.fit.seed)
        q = GaussianConditional(
            x.shape[1], y.shape[1], cfg.hidden, cfg.layers, cfg.activation, cfg.covariance
        )
        q.to(x.device)
        self.last_fit = fit(q, (x[tr], y[tr]), (x[he], y[he]), cfg.fit, description=f"{self.name}: q(y|x)")
        self.q = q
        return self.last_fit

    def _flags(self, res: FitResult, train: float, held: float) -> tuple[Flag, ...]:
        flags = []
        if res.diverged:
            flags.append(Flag(FlagCode.DIVERGED, "fitting q(y|x) diverged (non-finite loss); lower lr."))
        if train - held > max(0.1, 0.2 * abs(held)):
            flags.append(
                Flag(
                    FlagCode.OVERFIT,
                    f"train value {train:.3f} is well above held-out {held:.3f}: q(y|x) overfits; use more "
                    "samples or smaller networks (hidden, layers).",
                )
            )
        return tuple(flags)

    def _negative_tolerance(self, est: Estimate) -> float:
        return 0.02


class VariationalUpperMI(_FittedConditional):
    """CLUB, sampled CLUB or L1Out from a fitted Gaussian q(y|x) (see the module table).

    Args:
        kind: ``"club"``, ``"club_sampled"`` or ``"l1out"``.
        config: an :class:`UpperConfig`; ``options`` override its fields or its fit's by name.

    ``value`` is the read-out on (up to ``readout_size``) held-out samples; ``train_value``
    the same on as many training samples.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(2000, 1))
        >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))
        >>> round(VariationalUpperMI("club").estimate(x, y).value, 1)  # rho^2/(1-rho^2) = 1.29 >= I = 0.41
        1.3
    """

    def __init__(self, kind: str = "club", config: UpperConfig | None = None, **options: Any) -> None:
        if kind not in READOUTS:
            raise InputError(f"kind={kind!r} is not known; use one of {', '.join(READOUTS)}.")
        self.name = kind  # type: ignore[misc]
        self.readout = READOUTS[kind]
        super().__init__(config or UpperConfig(), options)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        cfg = self.config
        x, y, tr, he, _ = self._prepare(x, y)
        dev = torch.device(cfg.fit.device)
        xt = torch.as_tensor(x, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
        res = self._fit_q(xt, yt, tr, he)
        assert self.q is not None
        m = min(len(he), len(tr), cfg.readout_size)
        gen = torch.Generator().manual_seed(cfg.fit.seed)
        with torch.no_grad():
            held = self.readout(self.q, xt[he[:m]], yt[he[:m]], gen)
            train = self.readout(self.q, xt[tr[:m]], yt[tr[:m]], gen)
        return Estimate(
            value=held,
            method=self.name,
            n=x.shape[0],
            train_value=train,
            heldout_value=held,
            flags=self._flags(res, train, held),
            details={
                "covariance": cfg.covariance,
                "readout_size": m,
                "heldout_loglik": res.heldout_score,
                "epochs": res.epochs_run,
                "best_epoch": res.best_epoch,
                "seconds": round(res.seconds, 3),
                "n_train": len(tr),
                "n_heldout": len(he),
            },
        )


class DoEMI(_FittedConditional):
    """Difference of entropies I = H(Y) - H(Y|X) (McAllester & Stratos 2020, Sec. 7).

    Both terms are cross-entropies on the held-out split of models fitted on the training
    split: H(Y) with a :class:`~infomm.estimators.mixture.MixtureDensity` of y (settings,
    including its own fit settings, in ``config.marginal``; seed and device from
    ``config.fit``), H(Y|X) with a Gaussian q(y|x)
    (``covariance="full"`` by default). Each cross-entropy is an upper bound on its entropy,
    so the difference is neither an upper nor a lower bound, but it is not capped by
    log(batch) either. Both are reported in ``details`` on the original scale of y.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))  # independent: I = 0
        >>> abs(DoEMI().estimate(x, y).value) < 0.05
        True
    """

    name = "doe"

    def __init__(self, config: UpperConfig | None = None, **options: Any) -> None:
        super().__init__(config or UpperConfig(covariance="full"), options)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        cfg = self.config
        x, y, tr, he, log_sd = self._prepare(x, y)
        dev = torch.device(cfg.fit.device)
        xt = torch.as_tensor(x, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
        res = self._fit_q(xt, yt, tr, he)
        assert self.q is not None
        marginal = MixtureDensity(
            cfg.marginal, seed=cfg.fit.seed, device=cfg.fit.device, threads=cfg.fit.threads
        )
        res_y = marginal.fit_split(y[tr], y[he])
        self.marginal = marginal
        with torch.no_grad():
            h_cond = {k: -float(self.q.log_prob(yt[i], xt[i]).mean()) for k, i in (("tr", tr), ("he", he))}
        h_marg = {k: float(marginal.surprisal(y[i]).mean()) for k, i in (("tr", tr), ("he", he))}
        held, train = h_marg["he"] - h_cond["he"], h_marg["tr"] - h_cond["tr"]
        jac = float(log_sd.sum())
        flags = self._flags(res, train, held)
        if res_y.diverged:
            flags += (
                Flag(FlagCode.DIVERGED, "fitting the density of y diverged (non-finite loss); lower lr."),
            )
        return Estimate(
            value=held,
            method=self.name,
            n=x.shape[0],
            train_value=train,
            heldout_value=held,
            flags=flags,
            details={
                "h_y": h_marg["he"] + jac,
                "h_y_given_x": h_cond["he"] + jac,
                "covariance": cfg.covariance,
                "marginal_components": int(marginal.logits.shape[0]),
                "epochs": res.epochs_run,
                "marginal_epochs": res_y.epochs_run,
                "seconds": round(res.seconds + res_y.seconds, 3),
                "n_train": len(tr),
                "n_heldout": len(he),
            },
        )


def _factory(kind: str) -> Callable[..., VariationalUpperMI]:
    def make(**options: Any) -> VariationalUpperMI:
        return VariationalUpperMI(kind, **options)

    make.__name__ = f"upper_{kind}"
    return make


def _doe_factory(**options: Any) -> DoEMI:
    return DoEMI(**options)


for _name, _summary in (
    ("club", "CLUB upper bound from a fitted Gaussian q(y|x) (Cheng et al. 2020)"),
    ("club_sampled", "sampled CLUB (vCLUB-S): one random negative per sample"),
    ("l1out", "leave-one-out bound from a fitted Gaussian q(y|x) (Poole et al. 2019)"),
):
    MI_ESTIMATORS.register(_name, _factory(_name), summary=_summary)
MI_ESTIMATORS.register(
    "doe",
    _doe_factory,
    summary="difference of entropies H(Y) - H(Y|X) from held-out cross-entropies (McAllester & Stratos 2020)",
)
