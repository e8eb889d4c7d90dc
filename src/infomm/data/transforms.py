"""Injective maps that leave mutual information unchanged, for building hard tasks with known truth.

If ``f`` and ``g`` are injective with measurable inverses (for example diffeomorphisms or strictly
monotone maps applied per coordinate), then ``I(f(X); g(Y)) = I(X; Y)``. Czyz et al. (2023) use this
to turn Gaussian and Student-t samplers into non-Gaussian benchmark tasks whose truth is still known:
P. Czyz, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx, "Beyond Normal: On the Evaluation of
Mutual Information Estimators", NeurIPS 2023, Sec. 3 (invariance of MI and the benchmark tasks);
the invariance is also used by Kraskov, Stoegbauer & Grassberger (2004), "Estimating mutual
information", Phys. Rev. E 69, 066138.

Every transform maps an array of shape (n, d) to (n, d + added_dims). Registered transforms:

====================  =======================================================  ==========
name                  map (per sample ``x`` of dimension d)                    dims
====================  =======================================================  ==========
``normal_cdf``        ``Phi(x_i)`` per coordinate (uniform margins if N(0,1))  d >= 1
``half_cube``         ``x_i * sqrt(|x_i|)`` per coordinate                     d >= 1
``asinh``             ``asinh(x_i)`` per coordinate (tames heavy tails)        d >= 1
``spiral``            rotate the (x_0, x_1) plane by ``speed * ||x||^2``       d >= 2
``swissroll``         ``u = Phi(x)``, ``t = 1.5 pi (1 + 2u)``,                 d == 1 -> 2
                      ``(t cos t, t sin t) / 21``
====================  =======================================================  ==========

``swissroll`` first maps the real line into (0, 1) with ``Phi`` so that the roll is injective for
any input; on a normal-CDF base (uniform margins) this reproduces the "Swiss roll 2 x 1" task of
Czyz et al. (2023). ``spiral`` keeps the norm (``||f(x)|| = ||x||``), so it is undone by rotating
back by ``-speed * ||f(x)||^2``.

Example:
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> y = TRANSFORMS.get("spiral")(x)
    >>> np.allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1))
    True
    >>> np.allclose(spiral_inverse(y), x)
    True
    >>> TRANSFORMS.get("swissroll")(np.zeros((3, 1))).shape
    (3, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtr

from infomm.interface import InputError
from infomm.registry import Registry

DEFAULT_SPIRAL_SPEED = 1.0 / 3.0


@dataclass(frozen=True)
class Transform:
    """An injective map applied to each sample (row) of an (n, d) array.

    Attributes:
        name: registry name, also used as the task-name prefix (``_`` becomes ``-``).
        fn: the vectorised map, (n, d) -> (n, d + added_dims). Top-level functions (or
            ``functools.partial`` of them) keep tasks picklable.
        min_dim, max_dim: the dimensions d the map accepts (``max_dim=None``: no limit).
        added_dims: how many dimensions the map adds (0 for a diffeomorphism of R^d).
        sides: which variables :func:`infomm.data.tasks.transformed` applies it to by default.
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    min_dim: int = 1
    max_dim: int | None = None
    added_dims: int = 0
    sides: Literal["both", "x", "y"] = "both"

    def check_dim(self, dim: int, what: str = "the input") -> None:
        """Raise :class:`InputError` if ``dim`` is outside [min_dim, max_dim]."""
        if dim < self.min_dim or (self.max_dim is not None and dim > self.max_dim):
            need = f"== {self.min_dim}" if self.max_dim == self.min_dim else f">= {self.min_dim}"
            if self.max_dim is not None and self.max_dim != self.min_dim:
                need = f"in [{self.min_dim}, {self.max_dim}]"
            raise InputError(
                f"transform {self.name!r} needs dimension {need} but {what} has dimension {dim}; "
                f"pick another transform (see infomm.data.transforms.TRANSFORMS.names()) or a task "
                f"of suitable dimension."
            )

    def __call__(self, a: np.ndarray) -> np.ndarray:
        arr = np.asarray(a, dtype=np.float64)
        if arr.ndim != 2:
            raise InputError(f"transform {self.name!r} expects an array (n, d), got shape {arr.shape}.")
        self.check_dim(arr.shape[1])
        return np.ascontiguousarray(self.fn(arr), dtype=np.float64)


def normal_cdf(a: np.ndarray) -> np.ndarray:
    """Standard normal CDF per coordinate, (n, d) -> (n, d) in (0, 1)."""
    return np.asarray(ndtr(a), dtype=np.float64)


def half_cube(a: np.ndarray) -> np.ndarray:
    """Signed power 3/2 per coordinate: ``x * sqrt(|x|)``, (n, d) -> (n, d)."""
    return a * np.sqrt(np.abs(a))


def asinh(a: np.ndarray) -> np.ndarray:
    """Inverse hyperbolic sine per coordinate, (n, d) -> (n, d)."""
    return np.arcsinh(a)


def _rotate01(a: np.ndarray, angle: np.ndarray) -> np.ndarray:
    out = a.copy()
    c, s = np.cos(angle), np.sin(angle)
    out[:, 0] = c * a[:, 0] - s * a[:, 1]
    out[:, 1] = s * a[:, 0] + c * a[:, 1]
    return out


def spiral(a: np.ndarray, speed: float = DEFAULT_SPIRAL_SPEED) -> np.ndarray:
    """Spiral diffeomorphism ``x -> R(speed * ||x||^2) x``, (n, d) -> (n, d), d >= 2.

    ``R(theta)`` rotates the plane of the first two coordinates by ``theta``; this is
    ``exp(theta * A) x`` with ``A`` the canonical so(d) generator of that plane, as in
    Czyz et al. (2023), Sec. 3 ("Spiral").
    """
    return _rotate01(a, speed * np.einsum("ij,ij->i", a, a))


def spiral_inverse(a: np.ndarray, speed: float = DEFAULT_SPIRAL_SPEED) -> np.ndarray:
    """Inverse of :func:`spiral` (the norm is preserved, so rotate back by ``-speed*||a||^2``)."""
    return _rotate01(np.asarray(a, dtype=np.float64), -speed * np.einsum("ij,ij->i", a, a))


def swissroll(a: np.ndarray) -> np.ndarray:
    """Swiss-roll embedding of a 1-D variable into 2-D, (n, 1) -> (n, 2).

    ``u = Phi(x)`` in (0, 1), ``t = 1.5 pi (1 + 2u)``, output ``(t cos t, t sin t) / 21`` (the
    scale used by Czyz et al. 2023). ``t`` is increasing in ``x`` and ``|output| = t / 21``, so the
    map is injective.
    """
    t = 1.5 * np.pi * (1.0 + 2.0 * ndtr(a[:, 0]))
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def spiral_transform(speed: float = DEFAULT_SPIRAL_SPEED) -> Transform:
    """A :class:`Transform` for :func:`spiral` with a chosen winding ``speed`` (radians per unit ||x||^2).

    Example:
        >>> t = spiral_transform(0.5)
        >>> t.name, t.min_dim
        ('spiral', 2)
    """
    if not np.isfinite(speed):
        raise InputError(f"speed={speed!r} must be a finite number (default {DEFAULT_SPIRAL_SPEED:.4g}).")
    return Transform("spiral", functools.partial(spiral, speed=float(speed)), min_dim=2)


_SUMMARIES = {
    "normal_cdf": "standard normal CDF per coordinate (uniform margins for N(0,1) input)",
    "half_cube": "x * sqrt(|x|) per coordinate",
    "asinh": "asinh per coordinate (shortens heavy tails)",
    "spiral": "rotate the first coordinate plane by speed * ||x||^2 (d >= 2)",
    "swissroll": "embed a 1-D variable as a 2-D Swiss roll (X only)",
}
TRANSFORMS: Registry[Transform] = Registry("transform")
for _t in (
    Transform("normal_cdf", normal_cdf),
    Transform("half_cube", half_cube),
    Transform("asinh", asinh),
    spiral_transform(),
    Transform("swissroll", swissroll, min_dim=1, max_dim=1, added_dims=1, sides="x"),
):
    TRANSFORMS.register(_t.name, _t, summary=_SUMMARIES[_t.name])


def get_transform(transform: str | Transform) -> Transform:
    """Look up a registered transform by name, or pass a :class:`Transform` through."""
    if isinstance(transform, Transform):
        return transform
    if not isinstance(transform, str):
        raise InputError(
            f"transform={transform!r} must be a name ({', '.join(TRANSFORMS.names())}) or a Transform."
        )
    return TRANSFORMS.get(transform)
