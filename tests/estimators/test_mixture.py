"""Truths for the Gaussian-mixture log-density and the mixture entropy estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from infomm.estimators.base import ENTROPY_ESTIMATORS
from infomm.estimators.fitting import split_indices
from infomm.estimators.mixture import MixtureConfig, MixtureDensity, MixtureEntropy
from infomm.functional.mixture import gaussian_log_prob, gmm_log_prob, precision_factor
from infomm.interface import DensityModel, InputError


def _gauss_entropy(d: int) -> float:
    return 0.5 * d * np.log(2 * np.pi * np.e)


# ---------------------------------------------------------------- pure log-density math


@pytest.mark.parametrize("kind", ["full", "unit_triangular", "diagonal"])
def test_one_component_equals_scipy(kind: str) -> None:
    rng = np.random.default_rng(0)
    d = 3
    log_diag = torch.tensor(rng.normal(scale=0.5, size=(1, d)))
    off = torch.tensor(rng.normal(size=(1, d, d)))
    L = precision_factor(kind, log_diag, None if kind == "diagonal" else off)
    Lm = torch.diag_embed(L)[0].numpy() if kind == "diagonal" else L[0].numpy()
    assert np.allclose(Lm, np.tril(Lm)) and np.all(np.diag(Lm) > 0)
    cov = np.linalg.inv(Lm @ Lm.T)  # precision = L L^T
    mean = rng.normal(size=d)
    x = rng.normal(size=(50, d)) * 2
    ours = gmm_log_prob(torch.tensor(x), torch.zeros(1, dtype=torch.float64), torch.tensor(mean[None]), L)
    ref = stats.multivariate_normal(mean, cov).logpdf(x)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-5)


def test_unit_triangular_log_det_is_sum_of_log_scales() -> None:
    log_diag = torch.tensor([[0.3, -0.2, 0.7]], dtype=torch.float64)
    L = precision_factor("unit_triangular", log_diag, torch.randn(1, 3, 3, dtype=torch.float64))
    assert torch.allclose(torch.logdet(L[0]), log_diag.sum())


def test_two_components_equal_weighted_scipy_sum() -> None:
    rng = np.random.default_rng(1)
    d = 2
    L = precision_factor(
        "full", torch.tensor(rng.normal(size=(2, d))), torch.tensor(rng.normal(size=(2, d, d)))
    )
    means = rng.normal(size=(2, d))
    logits = torch.tensor([0.4, -1.0], dtype=torch.float64)
    w = torch.softmax(logits, 0).numpy()
    x = rng.normal(size=(40, d))
    ref = sum(
        w[k] * stats.multivariate_normal(means[k], np.linalg.inv(L[k].numpy() @ L[k].numpy().T)).pdf(x)
        for k in range(2)
    )
    ours = gmm_log_prob(torch.tensor(x), logits, torch.tensor(means), L)
    np.testing.assert_allclose(ours.numpy(), np.log(ref), atol=1e-5)
    # the single-Gaussian function agrees with the 1-component mixture
    one = gaussian_log_prob(torch.tensor(x), torch.tensor(means[:1]), L[:1])
    np.testing.assert_allclose(
        one.numpy(), gmm_log_prob(torch.tensor(x), logits[:1], torch.tensor(means[:1]), L[:1])
    )


# ---------------------------------------------------------------- the entropy estimator


@pytest.mark.parametrize("d", [2, 5])
def test_gaussian_entropy_close_to_closed_form(d: int) -> None:
    x = np.random.default_rng(d).normal(size=(2000, d)) @ np.diag(np.linspace(0.5, 2.0, d))
    truth = _gauss_entropy(d) + np.log(np.linspace(0.5, 2.0, d)).sum()
    est = MixtureEntropy(seed=0).estimate(x)
    assert est.quantity == "entropy" and est.method == "mixture"
    assert abs(est.value - truth) < 0.1, (est.value, truth)
    assert est.train_value is not None and est.heldout_value == est.value


def test_surprisal_mean_is_the_estimate_and_density_is_a_density_model() -> None:
    x = np.random.default_rng(3).normal(size=(1000, 2))
    est = MixtureEntropy(seed=4, n_components=3, max_epochs=40)
    value = est.estimate(x).value
    _, he = split_indices(1000, est.config.fit.heldout_fraction, 4, min_side=4)
    assert est.density is not None and isinstance(est.density, DensityModel)
    assert est.density.surprisal(x[he]).mean() == pytest.approx(value, abs=1e-9)


def test_surprisal_is_on_the_original_scale() -> None:
    d = 2
    x = np.random.default_rng(5).normal(size=(1000, d))
    a = MixtureEntropy(seed=0, n_components=3, max_epochs=40).estimate(x).value
    b = MixtureEntropy(seed=0, n_components=3, max_epochs=40).estimate(10.0 * x + 3.0).value
    assert b - a == pytest.approx(d * np.log(10.0), abs=1e-3)


def test_density_fit_returns_self_and_integrates_to_one() -> None:
    x = np.random.default_rng(6).normal(1.0, 0.5, size=(800, 1))
    m = MixtureDensity(n_components=3, max_epochs=40)
    assert m.fit(x) is m
    grid = np.linspace(-3, 5, 4001)[:, None]
    mass = np.trapezoid(np.exp(-m.surprisal(grid)), grid[:, 0])
    assert mass == pytest.approx(1.0, abs=1e-3)


def test_bimodal_1d_matches_numerical_integration() -> None:
    def pdf(t: float) -> float:
        return 0.4 * stats.norm.pdf(t, -2, 0.5) + 0.6 * stats.norm.pdf(t, 1.5, 1.0)

    truth = integrate.quad(lambda t: -pdf(t) * np.log(pdf(t)), -12, 12, limit=200)[0]
    rng = np.random.default_rng(7)
    pick = rng.uniform(size=2000) < 0.4
    x = np.where(pick, rng.normal(-2, 0.5, 2000), rng.normal(1.5, 1.0, 2000))
    est = MixtureEntropy(seed=1).estimate(x)
    assert abs(est.value - truth) < 0.05, (est.value, truth)


def test_uniform_cube() -> None:
    u1 = np.random.default_rng(8).uniform(size=(2000, 1))
    assert abs(MixtureEntropy(seed=0).estimate(u1).value) < 0.05
    # in 2-D the Gaussian components fit the edges less well; the cross-entropy stays above h = 0
    v2 = MixtureEntropy(seed=0).estimate(np.random.default_rng(9).uniform(size=(2000, 2))).value
    assert -0.03 < v2 < 0.15


def test_registered_and_options() -> None:
    est = ENTROPY_ESTIMATORS.get("mixture")(n_components=4, precision="diagonal", lr=0.05)
    assert isinstance(est, MixtureEntropy)
    assert est.config.n_components == 4 and est.config.fit.lr == 0.05
    assert MixtureConfig().fit.lr != est.config.fit.lr  # the default config is not mutated


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_components": 0}, "n_components"),
        ({"precision": "spherical"}, "precision"),
        ({"colour": 1}, "unknown option 'colour'"),
        ({"init_scale": -1.0}, "init_scale"),
    ],
)
def test_bad_arguments(options: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        MixtureEntropy(**options)


def test_too_few_samples_and_misuse() -> None:
    with pytest.raises(InputError, match="at least 20"):
        MixtureEntropy().estimate(np.zeros((5, 1)))
    with pytest.raises(InputError, match="not fitted"):
        MixtureDensity().surprisal(np.zeros((3, 1)))
    m = MixtureDensity(n_components=1, max_epochs=2).fit(np.random.default_rng(0).normal(size=(100, 2)))
    with pytest.raises(InputError, match="columns"):
        m.surprisal(np.zeros((3, 1)))


@pytest.mark.slow
@pytest.mark.parametrize("d", [1, 2, 5, 10])
def test_benchmark_gaussian_bias(d: int) -> None:
    """Benchmark target: |held-out bias| <= 0.1 nats for Gaussian data at N = 5000."""
    x = np.random.default_rng(100).normal(size=(5000, d))
    assert abs(MixtureEntropy(seed=0).estimate(x).value - _gauss_entropy(d)) <= 0.1
