"""Gaussian (second-moment) estimators of mutual information and entropy (numpy).

For a Gaussian vector (X, Y) with covariance S (blocks Sxx, Syy),

* ``I(X;Y) = 0.5 * (log det Sxx + log det Syy - log det S)``  (Cover & Thomas 2006,
  "Elements of Information Theory", Thm 8.4.1 applied to h(X) + h(Y) - h(X, Y));
* ``I(X;Y) = -0.5 * sum_i log(1 - rho_i^2)`` with ``rho_i`` the canonical correlations
  (Hotelling 1936, "Relations between two sets of variates", Biometrika 28; Kullback 1959,
  "Information Theory and Statistics", Ch. 9, Eq. 7.9);
* ``h(X) = 0.5 * log det(2 pi e S)`` (Cover & Thomas 2006, Thm 8.4.1).

Fitted to samples these give the MI / entropy of the best-fitting Gaussian: exact for
Gaussian data, a lower bound on MI for any data with the same covariance (Cover & Thomas,
Thm 8.6.5, maximum entropy), and invariant to invertible affine maps of X and of Y.

Columns are standardised first; a small ``ridge`` is added to each correlation block so a
singular covariance (collinear or constant columns) gives a finite number. The canonical
correlations are computed from the SVD of the data (Bjorck & Golub 1973, "Numerical methods
for computing angles between linear subspaces", Math. Comp. 27), never forming X^T X, so
:func:`cca_mi` equals :func:`gaussian_mi` (same ridge) in exact arithmetic and is the more
accurate of the two when the covariance is ill-conditioned.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((4000, 1))
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.standard_normal((4000, 1))
    >>> truth = -0.5 * np.log(1 - 0.75**2)  # 0.4133
    >>> bool(abs(gaussian_mi(x, y) - truth) < 0.03), bool(abs(cca_mi(x, y) - gaussian_mi(x, y)) < 1e-10)
    (True, True)
"""

from __future__ import annotations

import math

import numpy as np

from infomm.interface import InputError
from infomm.validation import as_paired, as_samples

#: default ridge added to correlation matrices (unit diagonal), so relative to the variances.
RIDGE = 1e-10
#: a canonical correlation within this of 1 is taken as exactly 1 (MI = inf), SVD rounding aside.
RHO_ONE_TOL = 1e-12


def _standardized(a: np.ndarray) -> np.ndarray:
    """Centre columns and scale them to unit sample variance (ddof=1); constant columns stay 0."""
    c = a - a.mean(axis=0)
    s = c.std(axis=0, ddof=1)
    return c / np.where(s > 0, s, 1.0)


def _check_ridge(ridge: float) -> None:
    if not (ridge >= 0 and math.isfinite(ridge)):
        raise InputError(f"ridge={ridge!r} must be a finite number >= 0 (e.g. 1e-10).")


def _logdet_spd(m: np.ndarray, name: str, fix: str = "pass ridge > 0 or drop redundant columns") -> float:
    try:
        chol = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        raise InputError(
            f"the covariance of {name} is singular (collinear or constant columns); {fix}."
        ) from None
    return 2.0 * float(np.sum(np.log(np.diag(chol))))


def gaussian_mi(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> float:
    """MI (nats) of the Gaussian fitted to paired samples x (n, dx), y (n, dy).

    ``0.5 * (log det Rxx + log det Ryy - log det R)`` with R the sample correlation matrix
    of (x, y) plus ``ridge`` on each diagonal (Cover & Thomas 2006, Thm 8.4.1).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(1).standard_normal((1000, 3))
        >>> round(gaussian_mi(x, x @ np.diag([1.0, 2.0, 3.0]) + 1.0), 1) > 10  # y = affine(x)
        True
    """
    xa, ya = as_paired(x, y, ("x", "y"), min_n=3)
    _check_ridge(ridge)
    z = np.hstack([_standardized(xa), _standardized(ya)])
    r = z.T @ z / (z.shape[0] - 1) + ridge * np.eye(z.shape[1])
    dx = xa.shape[1]
    return 0.5 * (_logdet_spd(r[:dx, :dx], "x") + _logdet_spd(r[dx:, dx:], "y") - _logdet_spd(r, "(x, y)"))


def _ridge_basis(a: np.ndarray, ridge: float) -> np.ndarray:
    """Orthonormal basis of the column space of a (n, d), columns shrunk by s / sqrt(s^2 + ridge)."""
    u, s, _ = np.linalg.svd(a / math.sqrt(a.shape[0] - 1), full_matrices=False)
    if ridge == 0:
        keep = s > s.max(initial=0.0) * a.shape[0] * np.finfo(float).eps
        return u[:, keep]
    return u * (s / np.sqrt(s**2 + ridge))


def canonical_correlations(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Sample canonical correlations of x (n, dx) and y (n, dy), largest first.

    Singular values of ``Qx^T Qy`` where ``Qx``, ``Qy`` are orthonormal bases of the
    standardised data (Bjorck & Golub 1973, Sec. 3), with the same ``ridge`` as
    :func:`gaussian_mi` (so the two MI formulas agree). Length ``min(dx, dy, n)``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(2)
        >>> x = rng.standard_normal((500, 2))
        >>> canonical_correlations(x, np.hstack([x[:, :1], rng.standard_normal((500, 1))])).round(2).tolist()[0]
        1.0
    """
    xa, ya = as_paired(x, y, ("x", "y"), min_n=3)
    _check_ridge(ridge)
    qx = _ridge_basis(_standardized(xa), ridge)
    qy = _ridge_basis(_standardized(ya), ridge)
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        return np.zeros(0)
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return np.clip(rho, 0.0, 1.0)


def cca_mi(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> float:
    """MI (nats) of the fitted Gaussian via canonical correlations: ``-0.5 * sum log(1 - rho_i^2)``.

    Kullback (1959), Ch. 9 Eq. 7.9; equals :func:`gaussian_mi` in exact arithmetic.
    x (n, dx), y (n, dy). A canonical correlation of 1 (to within ``RHO_ONE_TOL``; e.g. a
    column of y an affine map of x, with ``ridge=0``) gives ``inf``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 2))
        >>> abs(cca_mi(x, y) - gaussian_mi(x, y)) < 1e-10
        True
    """
    rho = canonical_correlations(x, y, ridge)
    one_minus = (1.0 - rho) * (1.0 + rho)
    if np.any(1.0 - rho <= RHO_ONE_TOL):  # 1 up to the rounding of the SVD
        return math.inf
    return float(-0.5 * np.sum(np.log(one_minus)))


def gaussian_entropy(x: np.ndarray) -> float:
    """Differential entropy (nats) of the Gaussian fitted to x (n, d): ``0.5 * log det(2 pi e S)``.

    S is the sample covariance (ddof=1); Cover & Thomas (2006), Thm 8.4.1. A singular S
    (constant or collinear columns) means h = -inf and raises :class:`InputError`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(4).standard_normal((5000, 2)) * [1.0, 3.0]
        >>> bool(abs(gaussian_entropy(x) - (np.log(2 * np.pi * np.e) + np.log(3.0))) < 0.05)
        True
    """
    xa = as_samples(x, "x", min_n=2)
    n, d = xa.shape
    s = xa.std(axis=0, ddof=1)
    if np.any(s <= 0):
        j = int(np.nonzero(s <= 0)[0][0])
        raise InputError(
            f"column {j} of x is constant, so its differential entropy is -inf; drop constant columns."
        )
    if n <= d:
        raise InputError(
            f"x has n={n} samples for d={d} dimensions, so its sample covariance is singular; "
            f"pass more than {d} samples."
        )
    z = _standardized(xa)
    fix = "its differential entropy is -inf; drop redundant columns"
    logdet_r = _logdet_spd(z.T @ z / (n - 1), "x", fix)
    return 0.5 * d * math.log(2 * math.pi * math.e) + float(np.sum(np.log(s))) + 0.5 * logdet_r
