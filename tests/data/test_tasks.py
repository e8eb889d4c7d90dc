"""Tasks with known truth: published values, closed forms vs numerical references, sampler structure."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import integrate, stats

from infomm.data import tasks as T
from infomm.data import transforms as TR
from infomm.interface import InputError, Task

N = 20_000


def plugin_gaussian_mi(x: np.ndarray, y: np.ndarray) -> float:
    """Gaussian plug-in MI from the sample covariance (a reference, not a library estimator)."""
    return T.gaussian_mi(np.cov(np.hstack([x, y]), rowvar=False), x.shape[1])


def copula_mi(x: np.ndarray, y: np.ndarray) -> float:
    """Rank-based Gaussian-copula MI: normal scores of ranks, then the Gaussian plug-in."""

    def scores(a: np.ndarray) -> np.ndarray:
        ranks = stats.rankdata(a, axis=0)
        return stats.norm.ppf(ranks / (a.shape[0] + 1))

    return plugin_gaussian_mi(scores(x), scores(y))


# ----------------------------------------------------------------------------- published values
@pytest.mark.parametrize(
    ("task", "published"),
    [
        (T.bivariate_normal(0.75), 0.4133),
        (T.sparse_pairs(5, 5, n_pairs=2, correlation=0.8), 1.0217),
        (T.dense(5, 5, 0.5), 0.5928),
        (T.dense(25, 25, 0.5), 1.2922),
        (T.gaussian_pairs_with_mi(5, 8.0), 8.0),
        (T.additive_uniform(0.75), 1.0 / 3.0),
        (T.independent(5, 5), 0.0),
    ],
    ids=lambda v: v.name if isinstance(v, Task) else "",
)
def test_published_truth(task: Task, published: float) -> None:
    assert abs(task.truth - published) < 1e-4


def test_registry_holds_the_published_tasks() -> None:
    assert abs(T.TASKS.get("binormal-0.75").truth - 0.4133) < 1e-4
    assert abs(T.TASKS.get("gauss-2pair-5x5").truth - 1.0217) < 1e-4
    assert abs(T.TASKS.get("gauss-dense-5x5").truth - 0.5928) < 1e-4
    assert abs(T.TASKS.get("GAUSS-DENSE-25x25").truth - 1.2922) < 1e-4
    assert T.TASKS.get("spiral-gauss-2pair-5x5").truth == T.TASKS.get("gauss-2pair-5x5").truth
    family = T.benchmark_family()
    assert 12 <= len(family) <= 20
    names = [t.name for t in family + T.entropy_family()]
    assert len(set(names)) == len(names) == len(T.TASKS)
    assert all(n in T.TASKS and T.TASKS.summary(n) for n in names)
    with pytest.raises(InputError, match="unknown task"):
        T.TASKS.get("no-such-task")


def test_gaussian_mi_matches_entropy_decomposition() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T + 0.5 * np.eye(6)
    h = lambda s: stats.multivariate_normal(cov=s).entropy()  # noqa: E731
    ref = h(cov[:2, :2]) + h(cov[2:, 2:]) - h(cov)
    assert T.gaussian_mi(cov, 2) == pytest.approx(ref, abs=1e-10)
    assert T.gaussian_mi(_pairs_cov(4, 3.0), 4) == pytest.approx(3.0, abs=1e-10)
    assert T.gaussian_pairs_with_mi(4, 3.0).sampler.chol == pytest.approx(
        np.linalg.cholesky(_pairs_cov(4, 3.0))
    )


def _pairs_cov(k: int, total: float) -> np.ndarray:
    rho = math.sqrt(1 - math.exp(-2 * total / k))
    return np.block([[np.eye(k), rho * np.eye(k)], [rho * np.eye(k), np.eye(k)]])


# ----------------------------------------------------------------------------- Student-t
@pytest.mark.parametrize(("dx", "dy", "df"), [(1, 1, 1.0), (3, 3, 2.0), (2, 5, 3.5)])
def test_student_correction_matches_scipy_entropies(dx: int, dy: int, df: float) -> None:
    h = lambda k: stats.multivariate_t(shape=np.eye(k), df=df).entropy()  # noqa: E731
    assert T.student_t_mi_correction(df, dx, dy) == pytest.approx(h(dx) + h(dy) - h(dx + dy), abs=1e-10)


def test_student_1x1_by_numerical_integration() -> None:
    """I = h(X) + h(Y) - h(X, Y); the joint entropy by a radial integral (identity dispersion)."""
    df = 1.0
    h_x = integrate.quad(lambda x: -stats.t.pdf(x, df) * stats.t.logpdf(x, df), -np.inf, np.inf)[0]
    joint = stats.multivariate_t(shape=np.eye(2), df=df)

    def radial(r: float) -> float:
        lp = joint.logpdf([r, 0.0])
        return -2 * np.pi * r * np.exp(lp) * lp

    h_xy = integrate.quad(radial, 0, np.inf, limit=200)[0]
    assert T.student_t(1, 1, df=1).truth == pytest.approx(2 * h_x - h_xy, abs=1e-6)
    assert abs(T.student_t(1, 1, df=1).truth - 0.2242) < 1e-4


def test_student_monte_carlo_with_exact_densities() -> None:
    """Mean of log p(x,y) - log p(x) - log p(y) over the task's own samples matches the truth."""
    disp = np.array(
        [[1.0, 0.3, 0.5, 0.0], [0.3, 1.0, 0.0, -0.4], [0.5, 0.0, 1.0, 0.2], [0.0, -0.4, 0.2, 1.0]]
    )
    df = 3.0
    task = T.student_t(2, 2, df=df, dispersion=disp)
    x, y = task.sample(N, seed=3)
    pmi = (
        stats.multivariate_t(shape=disp, df=df).logpdf(np.hstack([x, y]))
        - stats.multivariate_t(shape=disp[:2, :2], df=df).logpdf(x)
        - stats.multivariate_t(shape=disp[2:, 2:], df=df).logpdf(y)
    )
    se = pmi.std() / math.sqrt(N)
    assert abs(pmi.mean() - task.truth) < 4 * se
    assert task.truth > T.gaussian_mi(disp, 2)  # heavy tails add dependence


# ----------------------------------------------------------------------------- additive uniform
@pytest.mark.parametrize("eps", [0.1, 0.5, 0.75, 2.0])
def test_additive_uniform_by_numerical_integration(eps: float) -> None:
    def p_y(y: float) -> float:  # density of X + N: overlap of [y - eps, y + eps] with [0, 1]
        return max(0.0, min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    pts = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y = sum(
        integrate.quad(lambda y: -p_y(y) * math.log(p_y(y)) if p_y(y) > 0 else 0.0, a, b)[0]
        for a, b in zip(pts[:-1], pts[1:], strict=True)
    )
    assert T.additive_uniform_mi(eps) == pytest.approx(h_y - math.log(2 * eps), abs=1e-8)


def test_additive_uniform_samples() -> None:
    x, y = T.additive_uniform(0.1).sample(N, seed=0)
    assert x.min() >= 0 and x.max() <= 1 and np.abs(y - x).max() <= 0.1
    assert stats.kstest((y - x).ravel(), stats.uniform(-0.1, 0.2).cdf).pvalue > 1e-3


# ----------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("task", T.benchmark_family(), ids=lambda t: t.name)
def test_sampler_contract(task: Task) -> None:
    x, y = task.sample(64, seed=7)
    assert x.shape == (64, task.dim_x) and y.shape == (64, task.dim_y)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert np.isfinite(x).all() and np.isfinite(y).all()
    x2, y2 = task.sample(64, seed=7)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = task.sample(64, seed=8)
    assert not np.array_equal(x, x3)
    clone = pickle.loads(pickle.dumps(task))
    assert np.array_equal(clone.sample(64, seed=7)[0], x)


@pytest.mark.parametrize(
    "task",
    [
        T.bivariate_normal(0.75),
        T.sparse_pairs(5, 5),
        T.dense(5, 5),
        T.independent(5, 5),
        T.gaussian_pairs_with_mi(5, 8.0),
    ],
    ids=lambda t: t.name,
)
def test_gaussian_samples_have_promised_structure(task: Task) -> None:
    x, y = task.sample(N, seed=11)
    cov = task.sampler.chol @ task.sampler.chol.T
    assert np.abs(np.cov(np.hstack([x, y]), rowvar=False) - cov).max() < 0.05
    assert abs(plugin_gaussian_mi(x, y) - task.truth) < 0.02


@pytest.mark.parametrize("name", ["normal_cdf", "half_cube", "asinh"])
def test_monotone_transforms_keep_the_copula(name: str) -> None:
    """Per-coordinate increasing maps keep ranks, so the rank-based copula MI is unchanged."""
    base = T.sparse_pairs(5, 5)
    task = T.transformed(base, name)
    assert task.name == f"{name.replace('_', '-')}-gauss-2pair-5x5" and task.truth == base.truth
    x, y = task.sample(N, seed=5)
    bx, by = base.sample(N, seed=5)
    assert np.array_equal(stats.rankdata(x, axis=0), stats.rankdata(bx, axis=0))
    assert copula_mi(x, y) == pytest.approx(copula_mi(bx, by), abs=1e-12)
    assert abs(copula_mi(x, y) - task.truth) < 0.02


def test_normal_cdf_gives_uniform_margins() -> None:
    x, y = T.transformed(T.bivariate_normal(0.75), "normal_cdf").sample(N, seed=2)
    assert stats.kstest(x.ravel(), "uniform").pvalue > 1e-3
    assert abs(copula_mi(x, y) - 0.4133) < 0.02
    # Pearson correlation of Phi(X), Phi(Y) is Spearman's rho of the Gaussian: (6 / pi) asin(rho / 2)
    assert np.corrcoef(x.ravel(), y.ravel())[0, 1] == pytest.approx(6 / np.pi * np.arcsin(0.375), abs=0.01)


def test_spiral_is_an_invertible_rotation_of_the_base() -> None:
    base = T.sparse_pairs(5, 5)
    task = T.transformed(base, "spiral")
    x, y = task.sample(2000, seed=4)
    bx, by = base.sample(2000, seed=4)
    assert np.allclose(np.linalg.norm(x, axis=1), np.linalg.norm(bx, axis=1))
    assert np.allclose(TR.spiral_inverse(x), bx) and np.allclose(TR.spiral_inverse(y), by)
    assert np.array_equal(x[:, 2:], bx[:, 2:]) and np.abs(x - bx).max() > 1.0
    assert T.transformed(base, TR.spiral_transform(0.1)).truth == base.truth


def test_swissroll_embeds_x_injectively() -> None:
    base = T.bivariate_normal(0.75)
    task = T.transformed(base, "swissroll")
    assert (task.dim_x, task.dim_y, task.name) == (2, 1, "swissroll-binormal-0.75")
    x, y = task.sample(5000, seed=9)
    bx, by = base.sample(5000, seed=9)
    t = 21.0 * np.linalg.norm(x, axis=1)  # radius = t / 21 with t increasing in bx
    u = t / (3 * np.pi) - 0.5
    assert np.allclose(stats.norm.ppf(u), bx[:, 0], atol=1e-6)
    assert np.array_equal(y, by)


# ----------------------------------------------------------------------------- entropy tasks
@pytest.mark.parametrize(("dim", "side"), [(1, 1.0), (3, 2.0), (4, 0.5)])
def test_uniform_cube_entropy(dim: int, side: float) -> None:
    task = T.uniform_cube_entropy_task(dim, side)
    assert task.quantity == "entropy" and task.dim_y == 0
    assert task.truth == pytest.approx(dim * math.log(side), abs=1e-12)
    x = task.sample(1000, seed=0)
    assert x.shape == (1000, dim) and x.dtype == np.float64 and 0 <= x.min() and x.max() <= side


def test_gaussian_entropy_matches_scipy_and_samples() -> None:
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    task = T.gaussian_entropy_task(3, cov)
    assert task.truth == pytest.approx(stats.multivariate_normal(cov=cov).entropy(), abs=1e-10)
    x = task.sample(N, seed=1)
    assert np.abs(np.cov(x, rowvar=False) - cov).max() < 0.05
    surprisal = -stats.multivariate_normal(cov=cov).logpdf(x)
    assert abs(surprisal.mean() - task.truth) < 4 * surprisal.std() / math.sqrt(N)
    assert T.gaussian_entropy_task(1).truth == pytest.approx(0.5 * math.log(2 * math.pi * math.e))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: T.bivariate_normal(1.0), "rho=1.0"),
        (lambda: T.bivariate_normal(-1.5), "rho=-1.5"),
        (lambda: T.additive_uniform(-0.1), "epsilon=-0.1"),
        (lambda: T.additive_uniform(0.0), "epsilon=0.0"),
        (lambda: T.transformed(T.bivariate_normal(0.5), "spiral"), "spiral"),
        (lambda: T.transformed(T.sparse_pairs(5, 5), "swissroll"), "swissroll"),
        (lambda: T.transformed(T.sparse_pairs(5, 5), "no-such-map"), "unknown transform"),
        (lambda: T.transformed(T.gaussian_entropy_task(2), "asinh"), "MI Task"),
        (lambda: T.gaussian_task([[1.0, 2.0], [2.0, 1.0]], 1), "not positive definite"),
        (lambda: T.gaussian_task([[1.0, 0.2], [0.1, 1.0]], 1), "not symmetric"),
        (lambda: T.gaussian_task(np.eye(3), 3), "dim_x=3"),
        (lambda: T.dense(5, 5, -0.5), "not positive definite"),
        (lambda: T.sparse_pairs(2, 5, n_pairs=3), "n_pairs=3"),
        (lambda: T.student_t(1, 1, df=0), "df=0"),
        (lambda: T.student_t(1, 1, df=2, dispersion=np.eye(3)), "dim_x + dim_y = 2"),
        (lambda: T.gaussian_pairs_with_mi(5, -1.0), "total_mi=-1.0"),
        (lambda: T.uniform_cube_entropy_task(2, side=0.0), "side=0.0"),
        (lambda: T.gaussian_entropy_task(0), "dim=0"),
        (lambda: T.bivariate_normal(0.5).sample(0), "n=0"),
    ],
)
def test_bad_arguments_raise_input_error(call, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace("+", r"\+")):
        call()
