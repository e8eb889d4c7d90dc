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
from collections.abc import Mapping
from typing import Any

import numpy as np

from infomm.estimators.base import (
    ENTROPY_ESTIMATORS,
    MI_ESTIMATORS,
    EntropyEstimatorBase,
    MIEstimatorBase,
    apply_transform,
)
from infomm.functional.knn import (
    Norm,
    Weights,
    check_rate,
    halves_extrapolation,
    kl_surprisal,
    ksg_pointwise,
    resolve_weights,
)
from infomm.interface import Estimate, InputError
from infomm.validation import as_paired, as_samples, check_int_range

_TRANSFORMS = (None, "none", "asinh", "rank")

#: largest dimension where ``KNNEntropy(correction="auto")`` extrapolates. Measured (n = 5000,
#: rate 2/d, 4 splits, 40 draws): the bias went from +0.076 to +0.039 on the uniform 3-cube and
#: stayed within 0.013 on Gaussians of d = 1, 3, 5, but at d = 10 (10 draws) it went from -0.008
#: to -0.237: the factor 1 / (2^(2/d) - 1) = 6.7 amplifies the terms the n^(-2/d) law leaves out.
AUTO_CORRECTION_MAX_DIM = 5


def _check_correction(correction: str, allowed: tuple[str, ...], splits: int, rate: float | None) -> None:
    if correction not in allowed:
        raise InputError(
            f"correction={correction!r} is not known; use "
            + ", ".join(repr(c) for c in allowed)
            + " ('extrapolate' removes the leading n^-rate bias from the estimates on random halves)."
        )
    check_int_range(splits, "splits", 1)
    if rate is not None:
        check_rate(rate)


def _extrapolate(
    terms: np.ndarray, estimate_on: Any, rate: float, splits: int, seed: int, min_rows: int
) -> tuple[float, dict[str, Any]]:
    """The extrapolated estimate from per-sample ``terms`` (whose mean is the full-sample value) and
    ``estimate_on(rows) -> float``, plus the details both k-NN estimators record."""
    r = halves_extrapolation(
        estimate_on,
        terms.shape[0],
        rate,
        splits=splits,
        seed=seed,
        min_rows=min_rows,
        full=float(terms.mean()),
    )
    info = {
        "correction": "extrapolate",
        "rate": float(rate),
        "splits": splits,
        "uncorrected": r.full,
        "halves": r.halves,
    }
    return r.value, info


def _check_common(k: int, noise: float, seed: int) -> None:
    check_int_range(k, "k", 1)
    check_int_range(seed, "seed", 0)
    if not (noise >= 0 and math.isfinite(noise)):
        raise InputError(
            f"noise={noise!r} must be a finite number >= 0 (the tie-breaking jitter, e.g. 1e-10)."
        )


def _se_factor(details: Mapping[str, Any]) -> float:
    """Rough ratio of the standard deviations of the corrected and the uncorrected estimate.

    ``sqrt(1 + 1/(2^rate - 1))``, an empirical fit, not a derivation: it gives 1.85 at rate
    1/2 (KSG 1 x 1 with k = 1, measured 1.7-2.0 over 200-600 draws of n = 5000) and 1.64 at
    rate 2/3 (kNN entropy in 3-D, measured 1.1-2.3).
    """
    if details.get("correction") != "extrapolate":
        return 1.0
    return math.sqrt(1.0 + 1.0 / (2.0 ** float(details["rate"]) - 1.0))


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
        seed: jitter seed, and seed of the random half-splits of the correction.
        transform: per-column MI-preserving transform before estimating: None, "asinh", "rank".
        correction: "none" (default) or "extrapolate": remove the leading ``c N^-rate`` bias by
            extrapolating from the estimate on all N rows and those on the halves of ``splits``
            random half-splits (:func:`~infomm.functional.knn.halves_extrapolation`; Schucany,
            Gray & Owen 1971, "On bias reduction in estimation", JASA 66(335), 524-533).
        splits: random half-splits averaged (``seed`` draws them).
        rate: the bias exponent; ``None`` takes ``1/(dx + dy)``, the rate of the boundary bias
            ``~ (k/N)^(1/d)`` that a jump of the joint density (a bounded support) gives.

    The correction trades bias for variance. Measured with ``k=1, transform="rank"``, 4
    splits, N = 5000, 600 draws (three batches of 200), on the 1 x 1 tasks of the benchmark
    (the rank transform makes the binormal variants one task, and the two Cauchy ones too):
    mean errors +0.003 (binormal), -0.005 (additive-uniform-0.1), -0.001
    (additive-uniform-0.75), +0.002 (Cauchy), each +-0.002; batch means ranged from -0.010 to
    +0.008. Plain KSG, k = 3, reads -0.024 on additive-uniform-0.1 and -0.048 on the Cauchy
    task. But one corrected estimate has a standard deviation of 0.043-0.051 instead of
    0.021-0.028 (plain, k = 1): use it when you average many estimates or need the last
    0.01-0.03 nats of bias out, not for one noisy estimate. It costs the full estimate plus
    ``2 * splits`` estimates on N/2 rows.

    ``details``: k, variant, noise, seed, transform, correction, and ``pointwise_se`` (std of
    the local terms / sqrt(n), a rough standard error of the *uncorrected* estimate; the
    negative-value flag tolerates 2 of them, scaled up for the correction). With
    ``correction="extrapolate"`` also ``rate``, ``splits``, ``uncorrected`` (the estimate on
    all rows) and ``halves`` (the mean of the half-sample estimates).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x, y = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 1))
        >>> e = KSG().estimate(x, y)
        >>> bool(abs(e.value) < 0.03), e.details["k"]
        (True, 3)
        >>> c = KSG(k=1, transform="rank", correction="extrapolate").estimate(x, y)
        >>> c.details["correction"], c.details["rate"], bool(abs(c.value) < 0.1)
        ('extrapolate', 0.3333333333333333, True)
    """

    name = "ksg"
    spread_kinds = ("folds",)  # seeds move only the 1e-10 jitter
    no_bootstrap_reason = _NO_BOOTSTRAP
    min_samples = 4

    def __init__(
        self,
        k: int = 3,
        variant: int = 1,
        noise: float = 1e-10,
        seed: int = 0,
        transform: str | None = None,
        correction: str = "none",
        splits: int = 4,
        rate: float | None = None,
    ) -> None:
        _check_common(k, noise, seed)
        if variant not in (1, 2):
            raise InputError(f"variant={variant!r} is not known; use 1 (KSG Eq. 8) or 2 (KSG Eq. 9).")
        if transform not in _TRANSFORMS:
            raise InputError(f"transform={transform!r} is not known; use None, 'asinh' or 'rank'.")
        _check_correction(correction, ("none", "extrapolate"), splits, rate)
        self.k, self.variant, self.noise, self.seed, self.transform = k, variant, noise, seed, transform
        self.correction, self.splits, self.rate = correction, splits, rate
        # per-instance: k neighbours need k + 1 rows, in each half when extrapolating
        self.min_samples = (k + 1) * (2 if correction == "extrapolate" else 1)

    def pointwise(self, x: Any, y: Any) -> np.ndarray:
        """Per-sample local MI terms (n,), whose mean is the estimate (Kraskov et al. 2004, Eq. 8/9).

        With ``correction="extrapolate"`` the terms are all shifted by the same constant
        (corrected - uncorrected estimate), so that their mean is the corrected estimate; their
        differences, and so any ranking of the samples, are those of the plain KSG terms.
        """
        xa, ya = as_paired(x, y, ("x", "y"), min_n=self.min_samples)
        xa, ya = apply_transform(xa, self.transform), apply_transform(ya, self.transform)
        t, value, _ = self._terms(xa, ya)
        return t + (value - float(t.mean()))

    def _terms(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Local terms, the (corrected) estimate and the details of the correction."""

        def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return ksg_pointwise(a, b, k=self.k, variant=self.variant, noise=self.noise, seed=self.seed)

        t = run(x, y)
        if self.correction == "none":
            return t, float(t.mean()), {"correction": "none"}
        rate = self.rate if self.rate is not None else 1.0 / (x.shape[1] + y.shape[1])
        value, info = _extrapolate(
            t, lambda idx: float(run(x[idx], y[idx]).mean()), rate, self.splits, self.seed, self.k + 1
        )
        return t, value, info

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        t, value, info = self._terms(x, y)
        n = t.shape[0]
        details = {
            "k": self.k,
            "variant": self.variant,
            "noise": self.noise,
            "seed": self.seed,
            "transform": self.transform,
            **info,
            "pointwise_se": float(t.std() / math.sqrt(n)),
        }
        return Estimate(value=value, method=self.name, n=n, details=details)

    def _negative_tolerance(self, est: Estimate) -> float:
        return 2.0 * float(est.details.get("pointwise_se", 0.0)) * _se_factor(est.details)


class KNNEntropy(EntropyEstimatorBase):
    """Kozachenko-Leonenko k-NN estimator of the differential entropy h(X).

    Kozachenko & Leonenko (1987), "Sample estimate of the entropy of a random vector",
    Probl. Inf. Transm. 23(2), 95-101, in the form of Kraskov et al. (2004) Eq. (20); data
    are whitened first (affine-equivariant), and for 4 <= d <= 6 (``weights="auto"``) the
    neighbour orders 1..2d are combined with the weights of Berrett, Samworth & Yuan (2019),
    "Efficient multivariate entropy estimation via k-nearest neighbour distances",
    Ann. Statist. 47(1), Eq. (2). See :func:`infomm.functional.knn.kl_surprisal`.

    Measured bias without correction on Gaussians (n=5000, 30 draws; identical for any
    covariance, by the whitening), nats: d=1 -0.003, d=2 -0.002, d=3 -0.016, d=4 -0.012,
    d=5 -0.032, d=6 -0.05, d=8 -0.048, d=10 +0.003 (plain KL: d=4 -0.040, d=5 -0.060). One
    draw has sd 0.01-0.03. Bounded supports add boundary bias (uniform cube: ~0.01 at d=2,
    ~0.07 at d=3).

    Bias correction (``correction``): the estimate on all n rows is extrapolated with those on
    the halves of ``splits`` random half-splits, removing a bias ``c n^-rate``
    (:func:`~infomm.functional.knn.halves_extrapolation`; a generalized jackknife, Schucany,
    Gray & Owen 1971, "On bias reduction in estimation", JASA 66(335), 524-533). The default
    rate 2/d is that of the kNN bias on a smooth density, ``(k/n)^(2/d)``. Measured (n=5000,
    40 draws, 4 splits), mean error with / without: 1-D Gaussian -0.002 / -0.001; 3-D
    correlated Gaussian -0.009 / -0.021; 5-D Gaussian -0.013 / -0.036; uniform 3-cube
    +0.039 / +0.076; uniform 2-D square +0.008 / +0.015. The standard deviation of one
    estimate grows 1.1-2.3x (most on the cube and at d=5). At d=10 it over-corrects (-0.237
    against -0.008), so ``"auto"`` (the default) extrapolates only for
    d <= :data:`AUTO_CORRECTION_MAX_DIM` (= 5) and when each half has more rows than the
    largest neighbour order, and uses the plain estimate otherwise. The correction costs the
    full estimate plus ``2 * splits`` estimates on n/2 rows.

    Args:
        k: neighbour order of the plain estimator (the weighted one uses max(k, 2d)).
        weights: "auto", "none" (plain KL) or "bsy" (always weighted).
        norm: "euclidean" or "max".
        whiten: whiten (True) or only rescale columns (False).
        noise: jitter against duplicate rows, in (whitened) standard deviations.
        seed: jitter seed, and seed of the random half-splits.
        correction: "auto", "none" or "extrapolate" (see above).
        splits: random half-splits averaged by the correction.
        rate: bias exponent of the correction; ``None`` takes 2/d.

    ``details``: k, weights, max_neighbour, norm, whiten, seed, ``correction`` (the one used:
    "extrapolate" or "none") and ``pointwise_se`` (of the uncorrected surprisals); when it
    extrapolated also ``rate``, ``splits``, ``uncorrected`` and ``halves`` (the mean of the
    half-sample estimates).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(2).standard_normal((3000, 2)) @ np.array([[2.0, 0.0], [1.0, 0.5]])
        >>> truth = np.log(2 * np.pi * np.e) + np.log(2.0 * 0.5)  # 0.5 log det(2 pi e S)
        >>> e = KNNEntropy().estimate(x)
        >>> bool(abs(e.value - truth) < 0.05), e.details["correction"], e.details["rate"]
        (True, 'extrapolate', 1.0)
        >>> KNNEntropy(correction="none").estimate(x).value == e.details["uncorrected"]
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
        correction: str = "auto",
        splits: int = 4,
        rate: float | None = None,
    ) -> None:
        _check_common(k, noise, seed)
        _check_correction(correction, ("auto", "none", "extrapolate"), splits, rate)
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
        self.correction, self.splits, self.rate = correction, splits, rate
        # per-instance: k neighbours need k + 1 rows, in each half when extrapolating
        self.min_samples = (k + 1) * (2 if correction == "extrapolate" else 1)

    def used_correction(self, n: int, d: int) -> str:
        """The correction applied to n samples of dimension d: "extrapolate" or "none".

        Example:
            >>> KNNEntropy().used_correction(5000, 3), KNNEntropy().used_correction(5000, 10)
            ('extrapolate', 'none')
        """
        if self.correction != "auto":
            return self.correction
        halves_fit = n // 2 > resolve_weights(self.weights, self.k, d).size
        return "extrapolate" if d <= AUTO_CORRECTION_MAX_DIM and halves_fit else "none"

    def surprisal(self, x: Any) -> np.ndarray:
        """In-sample (leave-one-out) surprisal -log p_hat(x_i), shape (n,); its mean is the estimate.

        When the bias correction applies, every value is shifted by the same constant
        (corrected - uncorrected estimate) so that the mean is the corrected estimate; the
        differences between samples are those of the plain kNN surprisals.
        """
        xa = as_samples(x, "x", min_n=self.min_samples)
        s, value, _ = self._surprisal(xa)
        return s + (value - float(s.mean()))

    def _surprisal(self, x: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
        """Plain surprisals, the (corrected) estimate and the details of the correction."""

        def run(a: np.ndarray) -> np.ndarray:
            return kl_surprisal(
                a,
                self.k,
                norm=self.norm,
                weights=self.weights,
                whiten=self.whiten,
                noise=self.noise,
                seed=self.seed,
            )

        s = run(x)
        n, d = x.shape
        if self.used_correction(n, d) == "none":
            return s, float(s.mean()), {"correction": "none"}
        rate = self.rate if self.rate is not None else 2.0 / d
        min_rows = int(resolve_weights(self.weights, self.k, d).size) + 1
        value, info = _extrapolate(
            s, lambda idx: float(run(x[idx]).mean()), rate, self.splits, self.seed, min_rows
        )
        return s, value, info

    def _estimate(self, x: np.ndarray) -> Estimate:
        s, value, info = self._surprisal(x)
        n, d = x.shape
        w = resolve_weights(self.weights, self.k, d)
        details = {
            "k": self.k,
            "weights": "none" if w[-1] == 1.0 and not np.any(w[:-1]) else "bsy",
            "max_neighbour": int(w.size),
            "norm": self.norm,
            "whiten": self.whiten,
            "seed": self.seed,
            **info,
            "pointwise_se": float(s.std() / math.sqrt(n)),
        }
        return Estimate(value=value, method=self.name, n=n, quantity="entropy", details=details)


MI_ESTIMATORS.register(
    "ksg",
    KSG,
    summary="Kraskov-Stoegbauer-Grassberger k-NN MI (2004), max-norm, any dims; non-neural baseline.",
)
ENTROPY_ESTIMATORS.register(
    "knn",
    KNNEntropy,
    summary="Kozachenko-Leonenko k-NN entropy, whitened; BSY weights for d=4-6; halves extrapolation d<=5.",
)
