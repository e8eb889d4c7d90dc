"""Base classes and registries for estimators.

A base class owns the public entry point (validation, flags, spread, units); a subclass
fills one method (``_estimate``), as in dit's PID measures. Estimators register themselves
in :data:`MI_ESTIMATORS` or :data:`ENTROPY_ESTIMATORS` under a short name.

Example:
    >>> import numpy as np
    >>> class Zero(MIEstimatorBase):
    ...     name = "zero"
    ...     def _estimate(self, x, y):
    ...         return Estimate(value=0.0, method=self.name, n=len(x))
    >>> Zero().estimate(np.zeros((5, 1)), np.ones((5, 1))).value
    0.0
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy import stats

from infomm.interface import Estimate, Flag, FlagCode, InputError, Spread
from infomm.registry import Registry
from infomm.validation import as_paired, as_samples, require_samples

MI_ESTIMATORS: Registry[Callable[..., MIEstimatorBase]] = Registry("MI method")
ENTROPY_ESTIMATORS: Registry[Callable[..., EntropyEstimatorBase]] = Registry("entropy method")

SpreadKind = Literal["seeds", "folds", "bootstrap"]

#: excess kurtosis above which a column is called heavy-tailed (a Gaussian has 0,
#: a Laplace 3, a Student-t with 5 degrees of freedom 6).
HEAVY_TAIL_KURTOSIS = 10.0


def heavy_tail_flag(*arrays: np.ndarray, quantity: str = "mi") -> Flag | None:
    """Flag inputs whose columns have very large excess kurtosis.

    Heavy tails hurt kNN and neural estimators (a few far points dominate distances and
    critic scores). For MI, a monotone per-column transform such as ``np.arcsinh`` or a rank
    (copula) transform leaves the value unchanged and usually helps; for entropy it does not
    (h changes by E log|J|). Columns where one value covers more than half of the rows
    (sparse pixels, discrete codes) are skipped: their kurtosis measures sparsity, not tails.
    """
    worst = 0.0
    for a in arrays:
        if a.shape[0] < 8:
            continue
        mode_share = np.array([np.unique(c, return_counts=True)[1].max() for c in a.T]) / a.shape[0]
        a = a[:, mode_share <= 0.5]
        if a.shape[1] == 0:
            continue
        with np.errstate(all="ignore"):
            k = stats.kurtosis(a, axis=0, fisher=True, bias=False)
        k = np.nan_to_num(np.asarray(k, dtype=float), nan=0.0)
        worst = max(worst, float(np.max(k)))
    if worst <= HEAVY_TAIL_KURTOSIS:
        return None
    if quantity == "entropy":
        advice = (
            "entropy estimates are biased by a few far points; use more samples, or estimate h of "
            "np.arcsinh(x) and add back E[sum log|d asinh/dx|] = -E[sum 0.5*log(1 + x**2)]."
        )
    else:
        advice = "MI is invariant to monotone per-column maps, so try transform='asinh' or 'rank'."
    return Flag(FlagCode.HEAVY_TAILS, f"inputs are heavy-tailed (max excess kurtosis {worst:.1f}); {advice}")


def negative_flag(value: float, tolerance: float = 0.0) -> Flag | None:
    if value < -abs(tolerance):
        return Flag(
            FlagCode.NEGATIVE,
            f"estimate {value:.4f} nats is negative: true MI is >= 0, so this is estimator noise or bias; "
            "treat it as ~0 or use more samples.",
        )
    return None


def apply_transform(a: np.ndarray, transform: str | None) -> np.ndarray:
    """MI-preserving per-column transform: ``None``, ``"asinh"`` or ``"rank"`` (to normal scores)."""
    if transform in (None, "none"):
        return a
    if transform == "asinh":
        return np.arcsinh(a)
    if transform == "rank":
        n = a.shape[0]
        r = stats.rankdata(a, axis=0, method="average")
        return stats.norm.ppf(r / (n + 1))
    raise InputError(f"transform={transform!r} is not known; use None, 'asinh' or 'rank'.")


class MIEstimatorBase(ABC):
    """Base of every mutual-information estimator.

    Subclasses set ``name`` and ``min_samples`` and implement :meth:`_estimate` on
    validated float64 arrays ``x`` (n, dx) and ``y`` (n, dy); the base adds flags.
    """

    name: str = "mi"
    min_samples: int = 2
    transform: str | None = None
    #: which kinds of spread are valid for this method (see :meth:`estimate_with_spread`)
    spread_kinds: tuple[SpreadKind, ...] = ("seeds", "folds", "bootstrap")
    no_bootstrap_reason: str = ""
    #: whether heavy-tailed inputs bias this method (then the base class flags them)
    tail_sensitive: bool = True

    def estimate(self, x: Any, y: Any) -> Estimate:
        """Estimate I(X;Y) in nats from paired samples (rows of ``x`` and ``y``)."""
        xa, ya = as_paired(x, y, ("x", "y"), min_n=1)
        require_samples(xa.shape[0], self.min_samples, what="x and y", method=self.name)
        xa, ya = apply_transform(xa, self.transform), apply_transform(ya, self.transform)
        est = self._estimate(xa, ya)
        tails = heavy_tail_flag(xa, ya) if self.tail_sensitive else None
        flags = [f for f in (tails, negative_flag(est.value, self._negative_tolerance(est))) if f]
        return est.with_flags(*flags)

    def _negative_tolerance(self, est: Estimate) -> float:
        return 0.0

    @abstractmethod
    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        """Estimate on validated arrays; return an :class:`Estimate` in nats."""

    def estimate_with_spread(
        self, x: Any, y: Any, *, kind: SpreadKind | None = None, repeats: int = 10, seed: int = 0
    ) -> Estimate:
        """Estimate, plus its spread over ``repeats`` bootstrap resamples, seeds or folds.

        ``"bootstrap"`` resamples rows with replacement (not valid for kNN methods, whose
        ``spread_kinds`` exclude it: a duplicated row is a neighbour at distance 0);
        ``"seeds"`` re-runs with ``repeats`` seeds, the estimate's own seed first (for methods
        with a ``seed`` attribute); ``"folds"`` estimates on ``repeats`` disjoint folds (each
        of n/repeats samples, so the spread over-states that of an estimate on all n).
        ``kind=None`` takes the method's first entry of ``spread_kinds``.
        """
        xa, ya = as_paired(x, y, ("x", "y"), min_n=1)
        main = self.estimate(xa, ya)
        used: SpreadKind = kind if kind is not None else self.spread_kinds[0]
        values = _repeat(
            self,
            used,
            repeats,
            seed,
            xa.shape[0],
            lambda idx, est: est.estimate(xa[idx], ya[idx]).value,
            main.value,
        )
        return dataclasses.replace(main, spread=Spread.from_values(used, values))


class EntropyEstimatorBase(ABC):
    """Base of every differential-entropy estimator (see :class:`MIEstimatorBase`)."""

    name: str = "entropy"
    min_samples: int = 2
    spread_kinds: tuple[SpreadKind, ...] = ("seeds", "folds", "bootstrap")
    no_bootstrap_reason: str = ""
    #: whether heavy-tailed inputs bias this method (then the base class flags them)
    tail_sensitive: bool = True

    def estimate(self, x: Any) -> Estimate:
        """Estimate h(X) in nats from samples (rows of ``x``)."""
        xa = as_samples(x, "x", min_n=1)
        require_samples(xa.shape[0], self.min_samples, what="x", method=self.name)
        est = self._estimate(xa)
        flags = [f for f in (heavy_tail_flag(xa, quantity="entropy") if self.tail_sensitive else None,) if f]
        return dataclasses.replace(est, quantity="entropy").with_flags(*flags)

    @abstractmethod
    def _estimate(self, x: np.ndarray) -> Estimate:
        """Estimate on a validated array; return an :class:`Estimate` in nats."""

    def estimate_with_spread(
        self, x: Any, *, kind: SpreadKind | None = None, repeats: int = 10, seed: int = 0
    ) -> Estimate:
        """Estimate plus spread; see :meth:`MIEstimatorBase.estimate_with_spread`."""
        xa = as_samples(x, "x", min_n=1)
        main = self.estimate(xa)
        used: SpreadKind = kind if kind is not None else self.spread_kinds[0]
        values = _repeat(
            self, used, repeats, seed, xa.shape[0], lambda idx, est: est.estimate(xa[idx]).value, main.value
        )
        return dataclasses.replace(main, spread=Spread.from_values(used, values))


def _repeat(
    est: Any,
    kind: SpreadKind | None,
    repeats: int,
    seed: int,
    n: int,
    run: Callable[[np.ndarray, Any], float],
    main_value: float,
) -> list[float]:
    if repeats < 2:
        raise InputError(f"repeats={repeats} must be >= 2 to measure a spread.")
    if kind is None:
        kind = est.spread_kinds[0]
    if kind in ("seeds", "folds", "bootstrap") and kind not in est.spread_kinds:
        why = f" ({est.no_bootstrap_reason})" if kind == "bootstrap" and est.no_bootstrap_reason else ""
        raise InputError(
            f"kind={kind!r} does not work for method {est.name!r}{why}; use kind="
            + " or ".join(repr(k) for k in est.spread_kinds)
            + "."
        )
    rng = np.random.default_rng(seed)
    values: list[float] = []
    if kind == "bootstrap":
        for _ in range(repeats):
            values.append(run(rng.integers(0, n, size=n), est))
    elif kind == "folds":
        perm = rng.permutation(n)
        for fold in np.array_split(perm, repeats):
            values.append(run(np.sort(fold), est))
    elif kind == "seeds":
        if not hasattr(est, "seed"):
            raise InputError(f"method {est.name!r} has no seed; use kind='bootstrap' or 'folds'.")
        base = est.seed
        values.append(main_value)
        try:
            for r in range(1, repeats):
                est.seed = base + r
                values.append(run(np.arange(n), est))
        finally:
            est.seed = base
    else:
        raise InputError(f"kind={kind!r} is not known; use 'seeds', 'folds' or 'bootstrap'.")
    return values
