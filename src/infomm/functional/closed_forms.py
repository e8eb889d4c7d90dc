"""Closed-form information quantities of the known-truth tasks (nats), with argument checks.

Gaussian MI from log-determinants (Cover & Thomas 2006, "Elements of Information Theory",
2nd ed., Ch. 8), the Student-t correction term (Arellano-Valle, Contreras-Reyes & Genton
2013), and the additive-uniform-noise MI, as used by Czyz et al. (2023), "Beyond Normal: On
the Evaluation of Mutual Information Estimators", NeurIPS.

Example:
    >>> round(gaussian_mi([[1.0, 0.75], [0.75, 1.0]], 1), 4)
    0.4133
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from infomm.interface import InputError


# ----------------------------------------------------------------------------- argument checks
def check_int(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{name}={value!r} must be an integer >= {low}.")
    return int(value)


def as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r} must be a real number.") from None


def check_open_interval(value: Any, name: str, example: str) -> float:
    v = as_float(value, name)
    if not (-1.0 < v < 1.0):
        raise InputError(
            f"{name}={value!r} must lie strictly between -1 and 1 (|{name}| = 1 makes the MI infinite); "
            f"pass e.g. {name}={example}."
        )
    return v


def check_cov(cov: Any, name: str = "cov") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(cov, cholesky factor)`` or raise :class:`InputError`."""
    try:
        s = np.array(cov, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} could not be read as a matrix of numbers ({err}).") from None
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 1:
        raise InputError(f"{name} has shape {s.shape}; pass a square (d, d) matrix.")
    if not np.isfinite(s).all():
        raise InputError(f"{name} contains NaN or inf; pass a finite matrix.")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12):
        raise InputError(f"{name} is not symmetric; pass a symmetric matrix, e.g. ({name} + {name}.T) / 2.")
    try:
        chol = np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(s).min())
        raise InputError(
            f"{name} is not positive definite (smallest eigenvalue {lam:.3g}); pass a positive-definite "
            "matrix (for equicorrelation over D variables the correlation must exceed -1/(D-1))."
        ) from None
    return s, chol


def check_split(dim_x: Any, total: int) -> int:
    dx = check_int(dim_x, "dim_x")
    if dx >= total:
        raise InputError(
            f"dim_x={dim_x!r} must be smaller than the matrix size {total} so that Y is not empty."
        )
    return dx


def fmt(v: float) -> str:
    return f"{v:g}"


# ----------------------------------------------------------------------------- closed forms
def gaussian_mi(cov: Any, dim_x: int) -> float:
    """Mutual information (nats) between the first ``dim_x`` and the other coordinates of N(0, cov).

    ``I(X; Y) = 0.5 * (log|S_xx| + log|S_yy| - log|S|)``, from the Gaussian entropy
    ``h = 0.5 log((2 pi e)^d |S|)`` (Cover & Thomas 2006, Theorem 8.4.1) and ``I = h(X) + h(Y) - h(X, Y)``;
    for one pair it is ``-0.5 log(1 - rho^2)`` (Cover & Thomas 2006, Example 8.5.1).

    Args:
        cov: symmetric positive-definite matrix, shape (dim_x + dim_y, dim_x + dim_y).
        dim_x: number of leading coordinates that form X.

    Example:
        >>> round(gaussian_mi([[1.0, 0.75], [0.75, 1.0]], 1), 4)
        0.4133
    """
    s, _ = check_cov(cov)
    dx = check_split(dim_x, s.shape[0])

    def logdet(m: np.ndarray) -> float:
        return float(np.linalg.slogdet(m)[1])

    return 0.5 * (logdet(s[:dx, :dx]) + logdet(s[dx:, dx:]) - logdet(s))


def t_entropy_standard(k: int, df: float) -> float:
    """Entropy (nats) of a k-dimensional Student-t with identity dispersion and ``df`` degrees of freedom."""
    a = 0.5 * (df + k)
    return float(
        gammaln(0.5 * df)
        - gammaln(a)
        + 0.5 * k * math.log(df * math.pi)
        + a * (digamma(a) - digamma(0.5 * df))
    )


def student_t_mi_correction(df: float, dim_x: int, dim_y: int) -> float:
    """The part of the Student-t MI that does not depend on the dispersion (nats, >= 0).

    ``c = h_t(dim_x) + h_t(dim_y) - h_t(dim_x + dim_y)`` with ``h_t(k)`` the entropy of a standard
    k-dimensional t (identity dispersion) from R. B. Arellano-Valle, J. E. Contreras-Reyes, M. G. Genton
    (2013), "Shannon entropy and mutual information for multivariate skew-elliptical distributions",
    Scand. J. Stat. 40:42-62; used by Czyz et al. (2023) for their Student-t tasks.

    Example:
        >>> round(student_t_mi_correction(1.0, 1, 1), 4)
        0.2242
    """
    return (
        t_entropy_standard(dim_x, df) + t_entropy_standard(dim_y, df) - t_entropy_standard(dim_x + dim_y, df)
    )


def additive_uniform_mi(epsilon: float) -> float:
    """I(X; X + N) for X ~ U(0, 1), N ~ U(-eps, eps): ``eps - log(2 eps)`` if eps <= 1/2 else ``1/(4 eps)``.

    Derived as ``h(Y) - h(N)`` with ``h(N) = log(2 eps)`` (Cover & Thomas 2006, Example 8.1.1) and the
    trapezoidal density of Y; as in Czyz et al. (2023), "additive noise" task.

    Example:
        >>> round(additive_uniform_mi(0.75), 4)
        0.3333
    """
    epsilon = as_float(epsilon, "epsilon")
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise InputError(f"epsilon={epsilon!r} must be a finite number > 0 (the noise half-width); e.g. 0.1.")
    return epsilon - math.log(2 * epsilon) if epsilon <= 0.5 else 0.25 / epsilon
