"""k-nearest-neighbour estimators: KSG mutual information and Kozachenko-Leonenko entropy.

Thin classes over :mod:`infomm.functional.knn`; they register as ``"ksg"`` in
:data:`~infomm.estimators.base.MI_ESTIMATORS` and ``"knn"`` in
:data:`~infomm.estimators.base.ENTROPY_ESTIMATORS`.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2000, 1))
    >>> y = x + rng.standard_normal((2000, 1))  # I = 0.5 log 2 = 0.347 nats
    >>> est = MI_ESTIMATORS.get("ksg")(k=3).estimate(x, y)
    >>> est.method, bool(abs(est.value - 0.5 * np.log(2)) < 0.04)
    ('ksg', True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from infomm.estimators.base import (
    ENTROPY_ESTIMATORS,
    MI_ESTIMATORS,
    EntropyEstimatorBase,
    MIEstimatorBase,
    apply_transform,
)
from infomm.functional.knn import Norm, Weights, kl_surprisal, ksg_pointwise, resolve_weights
from infomm.interface import Estimate, InputError
from infomm.validation import as_paired, as_samples, check_int_range

_TRANSFORMS = (None, "none", "asinh", "rank")


def _check_common(k: int, noise: float, seed: int) -> None:
    check_int_range(k, "k", 1)
    check_int_range(seed, "seed", 0)
    if not (noise >= 0 and math.isfinite(noise)):
        raise InputError(
            f"noise={noise!r} must be a finite number >= 0 (the tie-breaking jitter, e.g. 1e-10)."
        )


_NO_BOOTSTRAP = (
    "resampling with replacement duplicates rows, and a duplicate is a neighbour at distance ~0 "
    "(measured on a binormal with MI 0.40 nats, KSG gave 1.2 on bootstrap resamples)"
)


class KSG(MIEstimatorBase):
    """Kraskov-Stoegbauer-Grassberger k-NN estimator of I(X;Y).

    Kraskov, Stoegbauer & Grassberger (2004), "Estimating mutual information", Phys. Rev. E
    69, 066138: estimator 1 (Eq. 8) or 2 (Eq. 9); see
    :func:`infomm.functional.knn.ksg_pointwise`. Inputs x (n, dx) and y (n, dy) are
    standardised per column and jittered by ``noise`` standard deviations (fixed by
    ``seed``), so ``estimate_with_spread(kind="seeds")`` varies only the jitter. True MI is
    invariant to monotone maps of single columns; the estimate is so only approximately (the
    neighbour geometry changes), and exactly with ``transform="rank"``.

    Args:
        k: neighbours in the joint space (bias falls, variance rises with k; 3-10 is usual).
        variant: 1 (Eq. 8) or 2 (Eq. 9).
        noise: jitter against ties, in standard deviations.
        seed: jitter seed.
        transform: per-column MI-preserving transform before estimating: None, "asinh", "rank".

    ``details``: k, variant, noise, seed, transform and ``pointwise_se`` (std of the local
    terms / sqrt(n), a rough standard error; the negative-value flag tolerates 2 of them).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x, y = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 1))
        >>> e = KSG().estimate(x, y)
        >>> bool(abs(e.value) < 0.03), e.details["k"]
        (True, 3)
    """

    name = "ksg"
    spread_kinds = ("folds",)  # seeds move only the 1e-10 jitter
    no_bootstrap_reason = _NO_BOOTSTRAP
    min_samples = 4

    def __init__(
        self, k: int = 3, variant: int = 1, noise: float = 1e-10, seed: int = 0, transform: str | None = None
    ) -> None:
        _check_common(k, noise, seed)
        if variant not in (1, 2):
            raise InputError(f"variant={variant!r} is not known; use 1 (KSG Eq. 8) or 2 (KSG Eq. 9).")
        if transform not in _TRANSFORMS:
            raise InputError(f"transform={transform!r} is not known; use None, 'asinh' or 'rank'.")
        self.k, self.variant, self.noise, self.seed, self.transform = k, variant, noise, seed, transform
        self.min_samples = k + 1  # per-instance: k neighbours need k + 1 rows

    def pointwise(self, x: Any, y: Any) -> np.ndarray:
        """Per-sample local MI terms (n,), whose mean is the estimate (Kraskov et al. 2004, Eq. 8/9)."""
        xa, ya = as_paired(x, y, ("x", "y"), min_n=self.k + 1)
        xa, ya = apply_transform(xa, self.transform), apply_transform(ya, self.transform)
        return ksg_pointwise(xa, ya, k=self.k, variant=self.variant, noise=self.noise, seed=self.seed)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        t = ksg_pointwise(x, y, k=self.k, variant=self.variant, noise=self.noise, seed=self.seed)
        n = t.shape[0]
        details = {
            "k": self.k,
            "variant": self.variant,
            "noise": self.noise,
            "seed": self.seed,
            "transform": self.transform,
            "pointwise_se": float(t.std() / math.sqrt(n)),
        }
        return Estimate(value=float(t.mean()), method=self.name, n=n, details=details)

    def _negative_tolerance(self, est: Estimate) -> float:
        return 2.0 * float(est.details.get("pointwise_se", 0.0))


class KNNEntropy(EntropyEstimatorBase):
    """Kozachenko-Leonenko k-NN estimator of the differential entropy h(X).

    Kozachenko & Leonenko (1987), "Sample estimate of the entropy of a random vector",
    Probl. Inf. Transm. 23(2), 95-101, in the form of Kraskov et al. (2004) Eq. (20); data
    are whitened first (affine-equivariant), and for 4 <= d <= 6 (``weights="auto"``) the
    neighbour orders 1..2d are combined with the weights of Berrett, Samworth & Yuan (2019),
    "Efficient multivariate entropy estimation via k-nearest neighbour distances",
    Ann. Statist. 47(1), Eq. (2). See :func:`infomm.functional.knn.kl_surprisal`.

    Measured bias on Gaussians (n=5000, 30 draws; identical for any covariance, by the
    whitening), nats: d=1 -0.003, d=2 -0.002, d=3 -0.016, d=4 -0.012, d=5 -0.032, d=6 -0.05,
    d=8 -0.048, d=10 +0.003 (plain KL: d=4 -0.040, d=5 -0.060). One draw has sd 0.01-0.03.
    Bounded supports add boundary bias (uniform cube: ~0.01 at d=2, ~0.07 at d=3).

    Args:
        k: neighbour order of the plain estimator (the weighted one uses max(k, 2d)).
        weights: "auto", "none" (plain KL) or "bsy" (always weighted).
        norm: "euclidean" or "max".
        whiten: whiten (True) or only rescale columns (False).
        noise: jitter against duplicate rows, in (whitened) standard deviations.
        seed: jitter seed.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(2).standard_normal((3000, 2)) @ np.array([[2.0, 0.0], [1.0, 0.5]])
        >>> truth = np.log(2 * np.pi * np.e) + np.log(2.0 * 0.5)  # 0.5 log det(2 pi e S)
        >>> bool(abs(KNNEntropy().estimate(x).value - truth) < 0.05)
        True
    """

    name = "knn"
    spread_kinds = ("folds",)  # seeds move only the 1e-10 jitter
    no_bootstrap_reason = _NO_BOOTSTRAP
    min_samples = 4

    def __init__(
        self,
        k: int = 3,
        weights: Weights = "auto",
        norm: Norm = "euclidean",
        whiten: bool = True,
        noise: float = 1e-10,
        seed: int = 0,
    ) -> None:
        _check_common(k, noise, seed)
        if weights not in ("auto", "none", "bsy"):
            raise InputError(f"weights={weights!r} is not known; use 'auto', 'none' or 'bsy'.")
        if norm not in ("euclidean", "max"):
            raise InputError(f"norm={norm!r} is not known; use 'euclidean' or 'max'.")
        self.k, self.weights, self.norm, self.whiten, self.noise, self.seed = (
            k,
            weights,
            norm,
            whiten,
            noise,
            seed,
        )
        self.min_samples = k + 1  # per-instance: k neighbours need k + 1 rows

    def surprisal(self, x: Any) -> np.ndarray:
        """In-sample (leave-one-out) surprisal -log p_hat(x_i), shape (n,); its mean is the estimate."""
        xa = as_samples(x, "x", min_n=self.k + 1)
        return kl_surprisal(
            xa,
            self.k,
            norm=self.norm,
            weights=self.weights,
            whiten=self.whiten,
            noise=self.noise,
            seed=self.seed,
        )

    def _estimate(self, x: np.ndarray) -> Estimate:
        s = self.surprisal(x)
        n, d = x.shape
        w = resolve_weights(self.weights, self.k, d)
        details = {
            "k": self.k,
            "weights": "none" if w[-1] == 1.0 and not np.any(w[:-1]) else "bsy",
            "max_neighbour": int(w.size),
            "norm": self.norm,
            "whiten": self.whiten,
            "seed": self.seed,
            "pointwise_se": float(s.std() / math.sqrt(n)),
        }
        return Estimate(value=float(s.mean()), method=self.name, n=n, quantity="entropy", details=details)


MI_ESTIMATORS.register(
    "ksg",
    KSG,
    summary="Kraskov-Stoegbauer-Grassberger k-NN MI (2004), max-norm, any dims; non-neural baseline.",
)
ENTROPY_ESTIMATORS.register(
    "knn",
    KNNEntropy,
    summary="Kozachenko-Leonenko k-NN entropy, whitened; Berrett-Samworth-Yuan weights for d=4-6.",
)
