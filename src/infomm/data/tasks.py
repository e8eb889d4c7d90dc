"""Samplers with a known answer: mutual information and entropy tasks with closed-form truth.

A :class:`~infomm.interface.Task` pairs a sampler with its exact value in nats. MI tasks return
``(x, y)`` with shapes (n, dim_x) and (n, dim_y); entropy tasks return ``x`` of shape (n, dim_x).
All arrays are float64 and reproducible by seed (``task.sample(n, seed)``).

The MI family follows the benchmark of P. Czyz, F. Grabowski, J. E. Vogt, N. Beerenwinkel,
A. Marx (2023), "Beyond Normal: On the Evaluation of Mutual Information Estimators", NeurIPS 2023
(reference code: the ``benchmark-mi`` package, github.com/cbg-ethz/bmi). Closed forms for Gaussian
and uniform variables are from T. M. Cover & J. A. Thomas (2006), "Elements of Information Theory",
2nd ed., Ch. 8. :data:`TASKS` holds every task of :func:`benchmark_family` and
:func:`entropy_family` by name.

Example:
    >>> task = TASKS.get("gauss-2pair-5x5")
    >>> round(task.truth, 4)
    1.0217
    >>> x, y = task.sample(1000, seed=0)
    >>> x.shape, y.shape, x.dtype
    ((1000, 5), (1000, 5), dtype('float64'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from infomm.data.transforms import Transform, get_transform
from infomm.functional.closed_forms import (
    additive_uniform_mi,
    as_float,
    check_cov,
    check_int,
    check_open_interval,
    check_split,
    fmt,
    gaussian_mi,
    student_t_mi_correction,
)
from infomm.interface import InputError, Task
from infomm.registry import Registry

TASKS: Registry[Task] = Registry("task")


# ----------------------------------------------------------------------------- samplers (picklable)
def _split(xy: np.ndarray, dim_x: int) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(xy[:, :dim_x]), np.ascontiguousarray(xy[:, dim_x:])


@dataclass(frozen=True)
class _GaussianSampler:
    chol: np.ndarray
    dim_x: int

    def __call__(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return _split(rng.standard_normal((n, self.chol.shape[0])) @ self.chol.T, self.dim_x)


@dataclass(frozen=True)
class _StudentSampler:
    chol: np.ndarray
    dim_x: int
    df: float

    def __call__(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.chol.shape[0])) @ self.chol.T
        w = rng.chisquare(self.df, size=(n, 1))
        return _split(z * np.sqrt(self.df / w), self.dim_x)


@dataclass(frozen=True)
class _AdditiveUniformSampler:
    epsilon: float

    def __call__(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return x, x + rng.uniform(-self.epsilon, self.epsilon, size=(n, 1))


@dataclass(frozen=True)
class _TransformedSampler:
    base: Any
    fx: Transform | None
    fy: Transform | None

    def __call__(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.base(n, rng)
        return (x if self.fx is None else self.fx(x)), (y if self.fy is None else self.fy(y))


@dataclass(frozen=True)
class _GaussianEntropySampler:
    chol: np.ndarray

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, self.chol.shape[0])) @ self.chol.T


@dataclass(frozen=True)
class _UniformCubeSampler:
    dim: int
    side: float

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0.0, self.side, size=(n, self.dim))


# ----------------------------------------------------------------------------- MI task factories
def gaussian_task(cov: Any, dim_x: int, name: str | None = None) -> Task:
    """X, Y jointly Gaussian N(0, cov); X = the first ``dim_x`` coordinates. Truth: :func:`gaussian_mi`.

    Samples ``z @ L.T`` with ``L`` the Cholesky factor of ``cov``; shapes (n, dim_x) and (n, d - dim_x).
    The multivariate-normal tasks of Czyz et al. (2023) are all of this form.

    Example:
        >>> t = gaussian_task([[1.0, 0.5], [0.5, 1.0]], 1, name="my-gauss")
        >>> t.name, round(t.truth, 4)
        ('my-gauss', 0.1438)
    """
    s, chol = check_cov(cov)
    dx = check_split(dim_x, s.shape[0])
    dy = s.shape[0] - dx
    return Task(name or f"gauss-{dx}x{dy}", "mi", gaussian_mi(s, dx), dx, dy, _GaussianSampler(chol, dx))


def bivariate_normal(rho: float = 0.75, name: str | None = None) -> Task:
    """1 x 1 Gaussian with correlation ``rho``: ``I = -0.5 log(1 - rho^2)`` (Cover & Thomas 2006, Example 8.5.1).

    Czyz et al. (2023) use ``rho = 0.75`` (0.4133 nats) as the base of their one-dimensional tasks.

    Example:
        >>> round(bivariate_normal(0.75).truth, 4)
        0.4133
    """
    r = check_open_interval(rho, "rho", "0.75")
    return gaussian_task([[1.0, r], [r, 1.0]], 1, name or f"binormal-{fmt(r)}")


def sparse_pairs(
    dim_x: int, dim_y: int, n_pairs: int = 2, correlation: float = 0.8, name: str | None = None
) -> Task:
    """Gaussian with unit variances where only (X_i, Y_i), i < n_pairs, are correlated.

    The "2-pair" tasks of Czyz et al. (2023) (n_pairs=2, correlation=0.8, no correlation inside X or
    Y): ``I = -(n_pairs / 2) log(1 - correlation^2)``, 1.0217 nats whatever the dimensions.

    Example:
        >>> t = sparse_pairs(5, 5)
        >>> t.name, round(t.truth, 4)
        ('gauss-2pair-5x5', 1.0217)
    """
    dx, dy = check_int(dim_x, "dim_x"), check_int(dim_y, "dim_y")
    k = check_int(n_pairs, "n_pairs")
    if k > min(dx, dy):
        raise InputError(f"n_pairs={n_pairs!r} must be <= min(dim_x, dim_y) = {min(dx, dy)}.")
    c = check_open_interval(correlation, "correlation", "0.8")
    cov = np.eye(dx + dy)
    idx = np.arange(k)
    cov[idx, dx + idx] = cov[dx + idx, idx] = c
    default = f"gauss-{k}pair-{dx}x{dy}" + ("" if c == 0.8 else f"-r{fmt(c)}")
    return gaussian_task(cov, dx, name or default)


def dense(dim_x: int, dim_y: int, off_diag: float = 0.5, name: str | None = None) -> Task:
    """Gaussian with unit variances and correlation ``off_diag`` between every two of the dim_x + dim_y variables.

    The "dense" tasks of Czyz et al. (2023) (covariance ``0.5 I + 0.5``): 5 x 5 gives 0.5928 nats,
    25 x 25 gives 1.2922 nats. Positive definite iff ``-1/(dim_x + dim_y - 1) < off_diag < 1``.

    Example:
        >>> round(dense(5, 5).truth, 4), round(dense(25, 25).truth, 4)
        (0.5928, 1.2922)
    """
    dx, dy = check_int(dim_x, "dim_x"), check_int(dim_y, "dim_y")
    c = check_open_interval(off_diag, "off_diag", "0.5")
    cov = np.full((dx + dy, dx + dy), c) + (1.0 - c) * np.eye(dx + dy)
    default = f"gauss-dense-{dx}x{dy}" + ("" if c == 0.5 else f"-r{fmt(c)}")
    return gaussian_task(cov, dx, name or default)


def gaussian_pairs_with_mi(n_pairs: int, total_mi: float, name: str | None = None) -> Task:
    """``n_pairs`` independent Gaussian pairs (X_i, Y_i), each carrying ``total_mi / n_pairs`` nats.

    Each pair has correlation ``rho = sqrt(1 - exp(-2 m))`` with ``m = total_mi / n_pairs`` (inverting
    Cover & Thomas 2006, Example 8.5.1); MI adds over independent pairs. Shapes: n_pairs x n_pairs.

    Example:
        >>> t = gaussian_pairs_with_mi(5, 8.0)
        >>> t.name, round(t.truth, 6), t.dim_x
        ('gauss-5pairs-8nats', 8.0, 5)
    """
    k = check_int(n_pairs, "n_pairs")
    total_mi = as_float(total_mi, "total_mi")
    if not (0.0 <= total_mi <= 15.0 * k):
        raise InputError(
            f"total_mi={total_mi!r} must be in [0, {15 * k}] nats for {k} pairs (at most 15 nats per pair, "
            "beyond which the correlation rounds to 1 in float64)."
        )
    rho = math.sqrt(-math.expm1(-2.0 * total_mi / k))
    cov = np.eye(2 * k)
    idx = np.arange(k)
    cov[idx, k + idx] = cov[k + idx, idx] = rho
    return gaussian_task(cov, k, name or f"gauss-{k}pairs-{fmt(total_mi)}nats")


def independent(dim_x: int, dim_y: int, name: str | None = None) -> Task:
    """Independent standard normal X and Y: ``I(X; Y) = 0`` (Cover & Thomas 2006, Corollary of Theorem 8.6.1).

    Example:
        >>> independent(5, 5).truth
        0.0
    """
    dx, dy = check_int(dim_x, "dim_x"), check_int(dim_y, "dim_y")
    t = gaussian_task(np.eye(dx + dy), dx, name or f"independent-{dx}x{dy}")
    return Task(t.name, "mi", 0.0, dx, dy, t.sampler)


def additive_uniform(epsilon: float = 0.1, name: str | None = None) -> Task:
    """X ~ U(0, 1), N ~ U(-eps, eps) independent, Y = X + N; truth :func:`additive_uniform_mi`.

    The "additive noise" tasks of Czyz et al. (2023) (eps = 0.1: 1.7094 nats; eps = 0.75: 1/3 nat).

    Example:
        >>> round(additive_uniform(0.1).truth, 4)
        1.7094
    """
    eps = as_float(epsilon, "epsilon")
    truth = additive_uniform_mi(eps)
    return Task(name or f"additive-uniform-{fmt(eps)}", "mi", truth, 1, 1, _AdditiveUniformSampler(eps))


def student_t(dim_x: int, dim_y: int, df: float, dispersion: Any = None, name: str | None = None) -> Task:
    """Multivariate Student-t with ``df`` degrees of freedom and dispersion matrix (default identity).

    Samples ``(X, Y) = Z * sqrt(df / W)``, Z ~ N(0, dispersion), W ~ chi2(df). The dispersion is not the
    covariance (that is ``df / (df - 2) * dispersion`` for df > 2). Truth (Czyz et al. 2023, Student-t
    tasks; Arellano-Valle et al. 2013): ``gaussian_mi(dispersion) + student_t_mi_correction(df, dx, dy)``,
    positive even for an identity dispersion, where X and Y are uncorrelated but dependent.

    Example:
        >>> round(student_t(1, 1, df=1).truth, 4)
        0.2242
    """
    dx, dy = check_int(dim_x, "dim_x"), check_int(dim_y, "dim_y")
    df = as_float(df, "df")
    if not (df > 0 and math.isfinite(df)):
        raise InputError(f"df={df!r} must be a finite number > 0; for df = inf use gaussian_task.")
    disp = np.eye(dx + dy) if dispersion is None else dispersion
    s, chol = check_cov(disp, "dispersion")
    if s.shape[0] != dx + dy:
        raise InputError(
            f"dispersion has shape {s.shape} but dim_x + dim_y = {dx + dy}; pass a matching matrix."
        )
    truth = gaussian_mi(s, dx) + student_t_mi_correction(df, dx, dy)
    default = f"student-t-{dx}x{dy}-df{fmt(df)}"
    return Task(name or default, "mi", truth, dx, dy, _StudentSampler(chol, dx, df))


def transformed(
    task: Task,
    transform: str | Transform,
    *,
    apply_to: Literal["both", "x", "y"] | None = None,
    name: str | None = None,
) -> Task:
    """Apply an injective map (see :mod:`infomm.data.transforms`) to X and/or Y; truth is unchanged.

    ``I(f(X); g(Y)) = I(X; Y)`` for injective f, g (Czyz et al. 2023, Sec. 3). ``apply_to`` defaults to
    the transform's ``sides`` ("both", except "x" for ``swissroll``). Name: ``"<transform>-<task>"``
    with ``_`` replaced by ``-``, e.g. ``"spiral-gauss-2pair-5x5"``.

    Example:
        >>> t = transformed(sparse_pairs(5, 5), "spiral")
        >>> t.name, round(t.truth, 4)
        ('spiral-gauss-2pair-5x5', 1.0217)
    """
    if not isinstance(task, Task) or task.quantity != "mi":
        raise InputError(
            f"task={getattr(task, 'name', task)!r} must be an MI Task; entropy is not invariant under these maps."
        )
    tr = get_transform(transform)
    sides = tr.sides if apply_to is None else apply_to
    if sides not in ("both", "x", "y"):
        raise InputError(f"apply_to={apply_to!r} must be 'both', 'x' or 'y'.")
    fx = tr if sides in ("both", "x") else None
    fy = tr if sides in ("both", "y") else None
    if fx is not None:
        tr.check_dim(task.dim_x, f"X of task {task.name!r}")
    if fy is not None:
        tr.check_dim(task.dim_y, f"Y of task {task.name!r}")
    dx = task.dim_x + (tr.added_dims if fx is not None else 0)
    dy = task.dim_y + (tr.added_dims if fy is not None else 0)
    default = f"{tr.name.replace('_', '-')}-{task.name}"
    return Task(name or default, "mi", task.truth, dx, dy, _TransformedSampler(task.sampler, fx, fy))


# ----------------------------------------------------------------------------- entropy tasks
def gaussian_entropy_task(dim: int, cov: Any = None, name: str | None = None) -> Task:
    """X ~ N(0, cov) (default identity); ``h = 0.5 log((2 pi e)^d |cov|)`` (Cover & Thomas 2006, Theorem 8.4.1).

    Example:
        >>> round(gaussian_entropy_task(1).truth, 4)
        1.4189
    """
    d = check_int(dim, "dim")
    s, chol = check_cov(np.eye(d) if cov is None else cov)
    if s.shape[0] != d:
        raise InputError(f"cov has shape {s.shape} but dim={d}; pass a (dim, dim) matrix.")
    truth = 0.5 * (d * math.log(2 * math.pi * math.e) + float(np.linalg.slogdet(s)[1]))
    return Task(name or f"gauss-entropy-{d}d", "entropy", truth, d, 0, _GaussianEntropySampler(chol))


def uniform_cube_entropy_task(dim: int, side: float = 1.0, name: str | None = None) -> Task:
    """X uniform on [0, side]^dim; ``h = dim * log(side)`` (Cover & Thomas 2006, Example 8.1.1).

    Example:
        >>> round(uniform_cube_entropy_task(3, side=2.0).truth, 4)
        2.0794
    """
    d = check_int(dim, "dim")
    side = as_float(side, "side")
    if not (side > 0 and math.isfinite(side)):
        raise InputError(f"side={side!r} must be a finite number > 0 (the edge length of the cube).")
    default = f"uniform-cube-{d}d" + ("" if side == 1.0 else f"-side{fmt(side)}")
    return Task(name or default, "entropy", d * math.log(side), d, 0, _UniformCubeSampler(d, side))


# ----------------------------------------------------------------------------- families and registry
def benchmark_family() -> list[Task]:
    """The MI benchmark: 19 tasks after Czyz et al. (2023), with truth in nats.

    ==================================  =======  =======
    name                                dims     truth
    ==================================  =======  =======
    binormal-0.75                       1 x 1    0.4133
    additive-uniform-0.1                1 x 1    1.7094
    additive-uniform-0.75               1 x 1    0.3333
    student-t-1x1-df1                   1 x 1    0.2242
    normal-cdf-binormal-0.75            1 x 1    0.4133
    half-cube-binormal-0.75             1 x 1    0.4133
    asinh-student-t-1x1-df1             1 x 1    0.2242
    swissroll-binormal-0.75             2 x 1    0.4133
    gauss-2pair-5x5                     5 x 5    1.0217
    gauss-dense-5x5                     5 x 5    0.5928
    gauss-dense-25x25                   25 x 25  1.2922
    independent-5x5                     5 x 5    0
    gauss-5pairs-8nats                  5 x 5    8
    normal-cdf-gauss-2pair-5x5          5 x 5    1.0217
    half-cube-gauss-2pair-5x5           5 x 5    1.0217
    spiral-gauss-2pair-5x5              5 x 5    1.0217
    spiral-normal-cdf-gauss-2pair-5x5   5 x 5    1.0217
    student-t-3x3-df2                   3 x 3    0.2909
    asinh-student-t-3x3-df2             3 x 3    0.2909
    ==================================  =======  =======

    Example:
        >>> fam = benchmark_family()
        >>> len(fam), len({t.name for t in fam})
        (19, 19)
    """
    binormal = bivariate_normal(0.75)
    student_1 = student_t(1, 1, df=1)
    student_3 = student_t(3, 3, df=2)
    pair5 = sparse_pairs(5, 5)
    return [
        binormal,
        additive_uniform(0.1),
        additive_uniform(0.75),
        student_1,
        transformed(binormal, "normal_cdf"),
        transformed(binormal, "half_cube"),
        transformed(student_1, "asinh"),
        transformed(binormal, "swissroll"),
        pair5,
        dense(5, 5),
        dense(25, 25),
        independent(5, 5),
        gaussian_pairs_with_mi(5, 8.0),
        transformed(pair5, "normal_cdf"),
        transformed(pair5, "half_cube"),
        transformed(pair5, "spiral"),
        transformed(transformed(pair5, "normal_cdf"), "spiral"),
        student_3,
        transformed(student_3, "asinh"),
    ]


def entropy_family() -> list[Task]:
    """Entropy tasks with closed-form truth: 1-D and 5-D standard Gaussians, a correlated 3-D Gaussian,
    and uniform cubes (Cover & Thomas 2006, Theorem 8.4.1 and Example 8.1.1).

    Example:
        >>> [t.name for t in entropy_family()][:2]
        ['gauss-entropy-1d', 'gauss-entropy-5d']
    """
    corr3 = np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]])
    return [
        gaussian_entropy_task(1),
        gaussian_entropy_task(5),
        gaussian_entropy_task(3, 4.0 * corr3, name="gauss-entropy-3d-corr"),
        uniform_cube_entropy_task(3),
        uniform_cube_entropy_task(2, side=3.0),
    ]


for _task in benchmark_family() + entropy_family():
    _what = f"{_task.dim_x}x{_task.dim_y} MI" if _task.quantity == "mi" else f"{_task.dim_x}-D entropy"
    TASKS.register(_task.name, _task, summary=f"{_what}, truth {_task.truth:.4f} nats")
