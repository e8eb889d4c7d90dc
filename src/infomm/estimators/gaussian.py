"""Gaussian (second-moment) estimators: MI by log-determinants or canonical correlations, entropy.

Thin classes over :mod:`infomm.functional.gaussian`; they register as ``"gaussian"`` and
``"cca"`` in :data:`~infomm.estimators.base.MI_ESTIMATORS` and as ``"gaussian"`` in
:data:`~infomm.estimators.base.ENTROPY_ESTIMATORS`. Exact for Gaussian data; for other data
the MI is that of the best-fitting Gaussian (with ``transform="rank"``: the Gaussian-copula
MI, invariant to monotone maps of each column).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((5000, 1))
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.standard_normal((5000, 1))
    >>> e = MI_ESTIMATORS.get("cca")().estimate(x, y)
    >>> round(e.details["canonical_correlations"][0], 2), bool(abs(e.value - 0.4133) < 0.02)
    (0.75, True)
"""

from __future__ import annotations

import math

import numpy as np

from infomm.estimators.base import ENTROPY_ESTIMATORS, MI_ESTIMATORS, EntropyEstimatorBase, MIEstimatorBase
from infomm.functional.gaussian import RIDGE, canonical_correlations, cca_mi, gaussian_entropy, gaussian_mi
from infomm.interface import Estimate, Flag, FlagCode, InputError

#: fewer samples than this many per dimension earn a FEW_SAMPLES flag.
SAMPLES_PER_DIM = 10


def _few_samples(n: int, d: int) -> tuple[Flag, ...]:
    if n >= SAMPLES_PER_DIM * d:
        return ()
    return (
        Flag(
            FlagCode.FEW_SAMPLES,
            f"n={n} samples for {d} dimensions: sample correlations are biased upward (the plug-in MI "
            f"by about dx*dy/(2n) nats, and spuriously infinite when n <= dx+dy); use at least "
            f"{SAMPLES_PER_DIM * d} samples or fewer dimensions.",
        ),
    )


class GaussianMI(MIEstimatorBase):
    """I(X;Y) of the Gaussian fitted to (x, y): ``0.5 (log det Sxx + log det Syy - log det S)``.

    Cover & Thomas (2006), "Elements of Information Theory", Thm 8.4.1; see
    :func:`infomm.functional.gaussian.gaussian_mi`. x (n, dx), y (n, dy).

    Args:
        ridge: added to the diagonal of each correlation block (finite MI for singular data).
        transform: per-column transform first: None, "asinh" or "rank" (Gaussian copula).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(1).standard_normal((3000, 2))
        >>> bool(abs(GaussianMI().estimate(x[:, :1], x[:, :1] + x[:, 1:]).value - 0.5 * np.log(2)) < 0.03)
        True
    """

    name = "gaussian"
    min_samples = 3

    def __init__(self, ridge: float = RIDGE, transform: str | None = None) -> None:
        if not (ridge >= 0 and math.isfinite(ridge)):
            raise InputError(f"ridge={ridge!r} must be a finite number >= 0 (e.g. 1e-10).")
        if transform not in (None, "none", "asinh", "rank"):
            raise InputError(f"transform={transform!r} is not known; use None, 'asinh' or 'rank'.")
        self.ridge, self.transform = ridge, transform

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        value = gaussian_mi(x, y, self.ridge)
        details = {"ridge": self.ridge, "transform": self.transform}
        flags = _few_samples(x.shape[0], x.shape[1] + y.shape[1])
        return Estimate(value=value, method=self.name, n=x.shape[0], details=details, flags=flags)


class CCAMI(GaussianMI):
    """I(X;Y) of the fitted Gaussian from canonical correlations: ``-0.5 sum_i log(1 - rho_i^2)``.

    Hotelling (1936), "Relations between two sets of variates", Biometrika 28; Kullback
    (1959), "Information Theory and Statistics", Ch. 9 Eq. 7.9; correlations by the SVD
    method of Bjorck & Golub (1973). Same value as :class:`GaussianMI` (to rounding), more
    accurate for ill-conditioned covariances; ``details["canonical_correlations"]`` lists
    the rho_i, largest first. x (n, dx), y (n, dy).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(2)
        >>> x = rng.standard_normal((2000, 3))
        >>> e = CCAMI().estimate(x, x[:, :1] + rng.standard_normal((2000, 1)))
        >>> len(e.details["canonical_correlations"]), round(e.details["canonical_correlations"][0], 1)
        (1, 0.7)
    """

    name = "cca"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        rho = canonical_correlations(x, y, self.ridge)
        details = {
            "ridge": self.ridge,
            "transform": self.transform,
            "canonical_correlations": [float(r) for r in rho],
        }
        flags = _few_samples(x.shape[0], x.shape[1] + y.shape[1])
        value = cca_mi(x, y, self.ridge)
        return Estimate(value=value, method=self.name, n=x.shape[0], details=details, flags=flags)


class GaussianEntropy(EntropyEstimatorBase):
    """h(X) of the Gaussian fitted to x (n, d): ``0.5 log det(2 pi e S)``, S the sample covariance.

    Cover & Thomas (2006), Thm 8.4.1; an upper bound on h(X) for any distribution with that
    covariance (Thm 8.6.5). See :func:`infomm.functional.gaussian.gaussian_entropy`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(3).standard_normal((4000, 3))
        >>> bool(abs(GaussianEntropy().estimate(x).value - 1.5 * np.log(2 * np.pi * np.e)) < 0.05)
        True
    """

    name = "gaussian"
    min_samples = 3

    def _estimate(self, x: np.ndarray) -> Estimate:
        value = gaussian_entropy(x)
        flags = _few_samples(x.shape[0], x.shape[1])
        return Estimate(value=value, method=self.name, n=x.shape[0], quantity="entropy", flags=flags)


MI_ESTIMATORS.register(
    "gaussian",
    GaussianMI,
    summary="MI of the fitted Gaussian via log-determinants (exact for Gaussian data).",
)
MI_ESTIMATORS.register(
    "cca",
    CCAMI,
    summary="MI of the fitted Gaussian via canonical correlations; details list the correlations.",
)
ENTROPY_ESTIMATORS.register(
    "gaussian",
    GaussianEntropy,
    summary="Entropy of the fitted Gaussian, 0.5 log det(2 pi e S); an upper bound.",
)
