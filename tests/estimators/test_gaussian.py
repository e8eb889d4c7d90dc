"""Truth tests for the Gaussian (second-moment) MI and entropy estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infomm.estimators.base import ENTROPY_ESTIMATORS, MI_ESTIMATORS
from infomm.estimators.gaussian import CCAMI, GaussianEntropy, GaussianMI
from infomm.functional.gaussian import canonical_correlations, cca_mi, gaussian_entropy, gaussian_mi
from infomm.interface import InputError

TRUTH_2PAIR = -math.log(1 - 0.8**2)  # 1.0217 nats
LOG_2PIE = math.log(2 * math.pi * math.e)


def two_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
    y[:, :2] = 0.8 * x[:, :2] + 0.6 * y[:, :2]
    return x, y


def random_gaussian(n: int, dx: int, dy: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples of a Gaussian with a random covariance, and its exact MI."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((dx + dy, dx + dy))
    cov = a @ a.T / (dx + dy) + 0.2 * np.eye(dx + dy)
    z = rng.standard_normal((n, dx + dy)) @ np.linalg.cholesky(cov).T
    ld = np.linalg.slogdet
    truth = 0.5 * (ld(cov[:dx, :dx])[1] + ld(cov[dx:, dx:])[1] - ld(cov)[1])
    return z[:, :dx], z[:, dx:], float(truth)


@pytest.mark.parametrize(("dx", "dy"), [(1, 1), (3, 2), (5, 5), (2, 7)])
def test_cca_equals_logdet_formula(dx: int, dy: int) -> None:
    x, y, _ = random_gaussian(800, dx, dy, seed=dx * 10 + dy)
    assert cca_mi(x, y) == pytest.approx(gaussian_mi(x, y), abs=1e-8)
    assert cca_mi(x, y, ridge=0.0) == pytest.approx(gaussian_mi(x, y, ridge=0.0), abs=1e-8)


@pytest.mark.parametrize(("dx", "dy"), [(1, 1), (3, 2), (4, 4)])
def test_gaussian_mi_matches_closed_form(dx: int, dy: int) -> None:
    x, y, truth = random_gaussian(20000, dx, dy, seed=dx + dy)
    # sampling sd of the plug-in estimate is below 0.02 here; its bias is about dx*dy/(2n)
    assert gaussian_mi(x, y) == pytest.approx(truth, abs=0.04)


def test_two_pair_5x5_truth_and_canonical_correlations() -> None:
    x, y = two_pair(5000, 0)
    est = CCAMI().estimate(x, y)
    assert est.value == pytest.approx(TRUTH_2PAIR, abs=0.04)
    rho = np.asarray(est.details["canonical_correlations"])
    assert rho.shape == (5,)
    assert rho[:2] == pytest.approx([0.8, 0.8], abs=0.02)
    assert np.all(rho[2:] < 0.06)
    assert GaussianMI().estimate(x, y).value == pytest.approx(est.value, abs=1e-8)


def test_invariant_to_affine_maps() -> None:
    x, y, _ = random_gaussian(1000, 3, 2, seed=1)
    rng = np.random.default_rng(2)
    ax, ay = rng.standard_normal((3, 3)) + 2 * np.eye(3), rng.standard_normal((2, 2)) + 2 * np.eye(2)
    base = gaussian_mi(x, y)
    assert gaussian_mi(x @ ax + 7.0, y @ ay - 3.0) == pytest.approx(base, abs=1e-8)
    assert cca_mi(1e4 * x, 1e-4 * y) == pytest.approx(base, abs=1e-8)


def test_independent_is_near_zero_and_nonnegative() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5000, 3)), rng.standard_normal((5000, 2))
    v = gaussian_mi(x, y)
    assert 0.0 <= v < 0.005  # bias about dx*dy/(2n) = 0.0006


def test_rank_transform_gives_gaussian_copula_mi() -> None:
    x, y, truth = random_gaussian(5000, 1, 1, seed=4)
    est = GaussianMI(transform="rank").estimate(np.exp(x), y**3)
    assert est.value == pytest.approx(truth, abs=0.03)


def test_singular_covariance() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((500, 2))
    y = np.hstack([x[:, :1], rng.standard_normal((500, 1))])  # y1 = x1: MI is infinite
    assert math.isinf(cca_mi(x, y, ridge=0.0))
    big = gaussian_mi(x, y)  # the default ridge keeps it finite and large
    assert 5.0 < big < 20.0 and cca_mi(x, y) == pytest.approx(big, abs=1e-4)
    assert canonical_correlations(x, y, ridge=0.0)[0] == pytest.approx(1.0, abs=1e-12)
    const = np.hstack([x, np.ones((500, 1))])  # a constant column carries no information
    assert gaussian_mi(const, y[:, 1:]) == pytest.approx(gaussian_mi(x, y[:, 1:]), abs=1e-8)
    assert cca_mi(const, y[:, 1:], ridge=0.0) == pytest.approx(gaussian_mi(x, y[:, 1:], ridge=0.0), abs=1e-8)
    with pytest.raises(InputError, match="ridge"):
        gaussian_mi(const, y, ridge=0.0)


def test_gaussian_entropy_closed_form() -> None:
    rng = np.random.default_rng(6)
    cov = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]])
    x = rng.standard_normal((20000, 3)) @ np.linalg.cholesky(cov).T + 4.0
    truth = 0.5 * (3 * LOG_2PIE + np.linalg.slogdet(cov)[1])
    assert gaussian_entropy(x) == pytest.approx(truth, abs=0.02)
    est = ENTROPY_ESTIMATORS.get("gaussian")().estimate(x)
    assert est.value == pytest.approx(gaussian_entropy(x)) and est.quantity == "entropy"


def test_registry_details_and_flags() -> None:
    assert MI_ESTIMATORS.get("gaussian") is GaussianMI
    assert MI_ESTIMATORS.get("cca") is CCAMI
    assert ENTROPY_ESTIMATORS.get("gaussian") is GaussianEntropy
    x, y = two_pair(40, 1)  # 40 samples for 10 dims
    est = MI_ESTIMATORS.get("cca")().estimate(x, y)
    assert est.flagged("few_samples") and len(est.details["canonical_correlations"]) == 5
    assert not GaussianMI().estimate(*two_pair(200, 1)).flagged("few_samples")


def test_bad_input_raises() -> None:
    x, y = two_pair(50, 2)
    with pytest.raises(InputError, match="same number of rows"):
        GaussianMI().estimate(x, y[:40])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        CCAMI().estimate(bad, y)
    with pytest.raises(InputError, match="ridge"):
        GaussianMI(ridge=-1.0)
    with pytest.raises(InputError, match="transform"):
        CCAMI(transform="log")
    with pytest.raises(InputError, match="constant"):
        gaussian_entropy(np.hstack([x, np.zeros((50, 1))]))
    with pytest.raises(InputError, match="-inf"):
        gaussian_entropy(np.hstack([x, x[:, :1] + x[:, 1:2]]))
    with pytest.raises(InputError, match="more than 5 samples"):
        gaussian_entropy(x[:5])
    with pytest.raises(InputError, match="at least 3"):
        GaussianMI().estimate(x[:2], y[:2])
