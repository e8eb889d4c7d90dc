"""Truth tests for the k-NN estimators: KSG mutual information and Kozachenko-Leonenko entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln
from sklearn.feature_selection import mutual_info_regression

from infomm.estimators.base import ENTROPY_ESTIMATORS, MI_ESTIMATORS
from infomm.estimators.knn import KSG, KNNEntropy
from infomm.functional.knn import bsy_weights, kl_entropy, kl_surprisal, ksg_mi, ksg_pointwise
from infomm.interface import InputError

RHO = 0.75
TRUTH_BIVARIATE = -0.5 * math.log(1 - RHO**2)  # 0.4133 nats
TRUTH_2PAIR = -math.log(1 - 0.8**2)  # two pairs with correlation 0.8: 1.0217 nats
LOG_2PIE = math.log(2 * math.pi * math.e)


def bivariate(n: int, seed: int, rho: float = RHO) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1))
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, 1))


def two_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X, Y in R^5; (x1, y1) and (x2, y2) have correlation 0.8, everything else independent."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
    y[:, :2] = 0.8 * x[:, :2] + 0.6 * y[:, :2]
    return x, y


# ---------------------------------------------------------------- KSG


def test_ksg_bivariate_normal_fixed_seed_and_mean_over_seeds() -> None:
    assert ksg_mi(*bivariate(5000, 0)) == pytest.approx(TRUTH_BIVARIATE, abs=0.015)
    values = [ksg_mi(*bivariate(5000, s)) for s in range(5)]
    assert float(np.mean(values)) == pytest.approx(TRUTH_BIVARIATE, abs=0.01)


@pytest.mark.parametrize("k", [3, 5])
def test_ksg_agrees_with_sklearn_reference(k: int) -> None:
    for seed in range(2):
        x, y = bivariate(2000, seed)
        ref = mutual_info_regression(x, y.ravel(), n_neighbors=k, random_state=0)[0]
        assert ksg_mi(x, y, k=k) == pytest.approx(ref, abs=0.02)
        assert ksg_mi(x, y, k=k, variant=2) == pytest.approx(ref, abs=0.02)


def test_ksg_matches_brute_force_multivariate() -> None:
    """The tree-based counts equal an O(n^2) evaluation of Kraskov et al. (2004) Eq. 8."""
    from scipy.special import digamma

    from infomm.functional.knn import standardize

    x, y = two_pair(400, 3)
    xs, ys = standardize(x), standardize(y)
    dx = np.max(np.abs(xs[:, None] - xs[None]), axis=2)
    dy = np.max(np.abs(ys[:, None] - ys[None]), axis=2)
    d = np.maximum(dx, dy)
    for m in (d, dx, dy):
        np.fill_diagonal(m, np.inf)
    eps = np.sort(d, axis=1)[:, 2]  # k = 3
    nx, ny = (dx < eps[:, None]).sum(1), (dy < eps[:, None]).sum(1)
    brute = digamma(3) + digamma(400) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    assert ksg_mi(x, y, k=3, noise=0.0) == pytest.approx(brute, abs=1e-12)


def test_ksg_invariant_to_monotone_column_maps() -> None:
    x, y = bivariate(5000, 1)
    base = ksg_mi(x, y)
    assert ksg_mi(np.exp(x), y) == pytest.approx(base, abs=0.02)  # approximately, by geometry
    assert ksg_mi(x, y**3 + y) == pytest.approx(base, abs=0.02)
    ranked = KSG(transform="rank")
    assert ranked.estimate(np.exp(x), y).value == pytest.approx(ranked.estimate(x, y).value, abs=1e-12)


def test_ksg_independent_is_near_zero() -> None:
    rng = np.random.default_rng(5)
    for dx, dy in [(1, 1), (3, 2)]:
        x, y = rng.standard_normal((5000, dx)), rng.standard_normal((5000, dy))
        assert abs(ksg_mi(x, y)) < 0.02


def test_ksg_two_pair_5x5_within_known_bias() -> None:
    """KSG underestimates here: the 3+3 independent dims inflate the joint max-norm radius.

    Measured at n=5000, k=3 over seeds 0-2: -0.30, -0.30, -0.26 nats (variant 2: -0.28 ..).
    The brute-force test above shows this is the estimator, not the implementation.
    """
    x, y = two_pair(5000, 0)
    v1, v2 = ksg_mi(x, y), ksg_mi(x, y, variant=2)
    for v in (v1, v2):
        assert TRUTH_2PAIR - 0.35 < v < TRUTH_2PAIR


def test_ksg_pointwise_mean_is_estimate_and_class_agrees() -> None:
    x, y = bivariate(1000, 2)
    t = ksg_pointwise(x, y, k=4, variant=2, seed=7)
    est = KSG(k=4, variant=2, seed=7).estimate(x, y)
    assert t.mean() == pytest.approx(est.value, abs=1e-12)
    assert KSG(k=4, variant=2, seed=7).pointwise(x, y) == pytest.approx(t)
    assert est.method == "ksg" and est.details["k"] == 4 and est.details["pointwise_se"] > 0


def test_ksg_seed_spread_and_registry() -> None:
    assert MI_ESTIMATORS.get("ksg") is KSG
    x, y = bivariate(500, 3)
    # seeds would move only the 1e-10 jitter (a zero-width "spread"), so only folds are offered
    with pytest.raises(InputError, match="use kind='folds'"):
        MI_ESTIMATORS.get("ksg")(k=3).estimate_with_spread(x, y, kind="seeds", repeats=3)
    est = MI_ESTIMATORS.get("ksg")(k=3).estimate_with_spread(x, y, repeats=3)
    assert est.spread is not None and est.spread.kind == "folds" and est.spread.std > 0


def test_knn_methods_refuse_bootstrap_but_give_folds() -> None:
    """Bootstrap duplicates rows (neighbours at distance ~0): KSG 0.40 -> 1.2 nats, so it is refused."""
    x, y = bivariate(1000, 4)
    with pytest.raises(InputError, match="folds"):
        KSG().estimate_with_spread(x, y, kind="bootstrap")
    with pytest.raises(InputError, match="folds"):
        KNNEntropy().estimate_with_spread(x, kind="bootstrap")
    est = KSG().estimate_with_spread(x, y, kind="folds", repeats=4)
    assert (
        est.spread is not None
        and est.spread.low < TRUTH_BIVARIATE + 0.1
        and est.spread.high > TRUTH_BIVARIATE - 0.1
    )


def test_ksg_bad_input_raises() -> None:
    x, y = bivariate(10, 0)
    with pytest.raises(InputError, match="k=10"):
        ksg_mi(x, y, k=10)
    with pytest.raises(InputError, match=r"x and y has 10 samples but at least 11"):
        KSG(k=10).estimate(x, y)
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        KSG().estimate(bad, y)
    with pytest.raises(InputError, match="same number of rows"):
        KSG().estimate(x, y[:9])
    with pytest.raises(InputError, match="variant"):
        KSG(variant=3)
    with pytest.raises(InputError, match="k=0"):
        KSG(k=0)
    with pytest.raises(InputError, match="noise"):
        KSG(noise=-1.0)


def test_ksg_negative_value_flag_tolerates_noise() -> None:
    rng = np.random.default_rng(11)
    est = KSG().estimate(rng.standard_normal((400, 1)), rng.standard_normal((400, 1)))
    assert abs(est.value) < 2 * est.details["pointwise_se"] + 0.05
    assert not est.flagged("negative") or est.value < -2 * est.details["pointwise_se"]


# ---------------------------------------------------------------- Kozachenko-Leonenko entropy


@pytest.mark.parametrize("d", [1, 2])
def test_kl_entropy_standard_gaussian_low_d(d: int) -> None:
    x = np.random.default_rng(d).standard_normal((5000, d))
    assert kl_entropy(x) == pytest.approx(0.5 * d * LOG_2PIE, abs=0.05)
    assert kl_entropy(x, norm="max") == pytest.approx(0.5 * d * LOG_2PIE, abs=0.05)


def test_kl_entropy_standard_gaussian_d5_mean_over_seeds() -> None:
    """Bias at d=5, n=5000 (8 draws): weighted -0.037, plain -0.069 nats; one draw has sd 0.03."""
    truth = 2.5 * LOG_2PIE
    errors = [kl_entropy(np.random.default_rng(s).standard_normal((5000, 5))) - truth for s in range(8)]
    assert abs(float(np.mean(errors))) < 0.05
    assert max(abs(e) for e in errors) < 0.1


def test_kl_entropy_is_affine_equivariant() -> None:
    """Whitening makes h_hat(A x + b) = h_hat(x) + log|det A| (the law of h itself)."""
    rng = np.random.default_rng(4)
    z = rng.standard_normal((2000, 3))
    a = np.array([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.3, -0.2, 1.5]])
    x = z @ a.T + 5.0
    logdet = math.log(abs(np.linalg.det(a)))
    assert kl_entropy(x) == pytest.approx(kl_entropy(z) + logdet, abs=1e-6)
    assert kl_entropy(x) == pytest.approx(1.5 * LOG_2PIE + logdet, abs=0.05)


@pytest.mark.parametrize("d", [1, 2])
def test_kl_entropy_uniform_cube_is_zero(d: int) -> None:
    u = np.random.default_rng(10 + d).uniform(size=(5000, d))
    assert abs(kl_entropy(u)) < 0.03


def test_surprisal_mean_equals_entropy() -> None:
    x = np.random.default_rng(6).standard_normal((1500, 5)) * [1, 2, 3, 4, 5]
    for weights in ("none", "bsy", "auto"):
        s = kl_surprisal(x, 3, weights=weights)  # type: ignore[arg-type]
        assert s.shape == (1500,)
        assert s.mean() == pytest.approx(kl_entropy(x, 3, weights=weights), abs=1e-12)  # type: ignore[arg-type]
    est = KNNEntropy().estimate(x)
    assert KNNEntropy().surprisal(x).mean() == pytest.approx(est.value, abs=1e-12)
    assert (
        est.quantity == "entropy" and est.details["weights"] == "bsy" and est.details["max_neighbour"] == 10
    )


@pytest.mark.parametrize("d", [4, 5, 9, 12])
def test_bsy_weights_satisfy_constraints(d: int) -> None:
    """Berrett, Samworth & Yuan (2019): sum w = 1, sum_j w_j Gamma(j + 2l/d)/Gamma(j) = 0."""
    k = 3 * d
    w = bsy_weights(k, d)
    j = np.arange(1, k + 1)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    for ell in range(1, d // 4 + 1):
        assert float(w @ np.exp(gammaln(j + 2 * ell / d) - gammaln(j))) == pytest.approx(0.0, abs=1e-9)


def test_knn_entropy_registry_and_spread() -> None:
    assert ENTROPY_ESTIMATORS.get("knn") is KNNEntropy
    x = np.random.default_rng(7).standard_normal((400, 2))
    est = ENTROPY_ESTIMATORS.get("knn")().estimate_with_spread(x, repeats=2)
    assert est.spread is not None and est.spread.kind == "folds" and est.spread.std > 0


def test_knn_entropy_bad_input_raises() -> None:
    x = np.random.default_rng(8).standard_normal((5, 2))
    with pytest.raises(InputError, match="k=5"):
        kl_entropy(x, k=5)
    with pytest.raises(InputError, match="at least 6"):
        KNNEntropy(k=5).estimate(x)
    with pytest.raises(InputError, match="max\\(k, 2d\\)"):
        kl_entropy(np.random.default_rng(0).standard_normal((8, 4)), k=3, weights="bsy")
    with pytest.raises(InputError, match="linearly dependent"):
        kl_entropy(np.hstack([x, x[:, :1]]), k=2)
    with pytest.raises(InputError, match="duplicate rows"):
        kl_entropy(np.vstack([x, x]), k=1, noise=0.0)
    with pytest.raises(InputError, match="non-finite"):
        KNNEntropy().estimate(np.array([[0.0], [1.0], [np.inf], [2.0], [3.0]]))
    with pytest.raises(InputError, match="weights"):
        KNNEntropy(weights="uniform")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="norm"):
        kl_entropy(x, k=2, norm="l1")  # type: ignore[arg-type]
