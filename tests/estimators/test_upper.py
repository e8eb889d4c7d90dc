"""Truths for CLUB, L1Out, DoE and the differentiable CLUB loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special, stats

from infomm.estimators.base import MI_ESTIMATORS
from infomm.estimators.fitting import split_indices
from infomm.estimators.upper import CLUBLoss, DoEMI, GaussianConditional, VariationalUpperMI
from infomm.functional.bounds import club_bound, club_sampled_bound, l1out_bound
from infomm.functional.mixture import pairwise_log_prob
from infomm.interface import InputError

RHO = 0.75
TRUTH = -0.5 * np.log(1 - RHO**2)  # 0.4133 nats
CLUB_TRUE = RHO**2 / (1 - RHO**2)  # CLUB with the true conditional: I + lautum information = 1.2857


def _pair(n: int, seed: int, rho: float = RHO) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, 1))


def _true_log_q(x: np.ndarray, y: np.ndarray) -> torch.Tensor:
    """(n, n) matrix log p(y_j | x_i) of the analytic conditional N(rho x, 1 - rho^2)."""
    prec = torch.full((len(x), 1), 1 / np.sqrt(1 - RHO**2), dtype=torch.float64)
    return pairwise_log_prob(torch.tensor(y), torch.tensor(RHO * x), prec)


def _heldout(n: int, seed: int = 0) -> np.ndarray:
    return split_indices(n, 0.3, seed, min_side=4)[1]


# ---------------------------------------------------------------- the bounds with the true conditional


def test_pairwise_matches_scipy() -> None:
    x, y = _pair(30, 0)
    m = _true_log_q(x, y).numpy()
    ref = stats.norm.logpdf(y[None, :, 0], RHO * x[:, None, 0], np.sqrt(1 - RHO**2))
    np.testing.assert_allclose(m, ref, atol=1e-10)


def test_bounds_with_the_analytic_conditional() -> None:
    x, y = _pair(3000, 1)
    m = _true_log_q(x, y)
    club = float(club_bound(m))
    assert club > TRUTH and abs(club - CLUB_TRUE) < 0.1  # an upper bound, loose by the lautum information
    assert abs(float(l1out_bound(m)) - TRUTH) < 0.05
    perm = torch.tensor(np.random.default_rng(2).permutation(3000))
    sampled = float(club_sampled_bound(torch.diagonal(m), m[torch.arange(3000), perm]))
    assert abs(sampled - CLUB_TRUE) < 0.15


def test_l1out_equals_reference_formula() -> None:
    m = np.random.default_rng(3).normal(size=(6, 6))
    n = 6
    ref = np.mean([m[i, i] - (special.logsumexp(np.delete(m[:, i], i)) - np.log(n - 1)) for i in range(n)])
    assert float(l1out_bound(torch.tensor(m))) == pytest.approx(ref, abs=1e-12)
    assert float(club_bound(torch.tensor(m))) == pytest.approx(np.diag(m).mean() - m.mean(), abs=1e-12)


def test_full_covariance_conditional_matches_scipy() -> None:
    torch.manual_seed(0)
    q = GaussianConditional(2, 3, hidden=8, layers=1, covariance="full").double()
    x, y = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    mean, chol = q.params(x)
    ours = q.log_prob(y, x).detach()
    for i in range(4):
        L = chol[i].detach().numpy()
        assert np.allclose(L, np.tril(L))
        ref = stats.multivariate_normal(mean[i].detach().numpy(), np.linalg.inv(L @ L.T)).logpdf(y[i].numpy())
        assert float(ours[i]) == pytest.approx(ref, abs=1e-8)
    assert torch.allclose(q.pairwise(y, x).diagonal(), ours)


# ---------------------------------------------------------------- trained estimators


def test_club_and_l1out_track_their_analytic_values() -> None:
    n = 2000
    x, y = _pair(n, 4)
    he = _heldout(n)
    oracle = _true_log_q(x[he], y[he])
    club = VariationalUpperMI("club", seed=0).estimate(x, y)
    assert club.value > TRUTH
    assert abs(club.value - float(club_bound(oracle))) < 0.2  # q's variance error scales the read-out
    l1 = VariationalUpperMI("l1out", seed=0).estimate(x, y)
    assert abs(l1.value - float(l1out_bound(oracle))) < 0.05
    assert abs(l1.value - TRUTH) < 0.1
    assert l1.train_value is not None and l1.details["readout_size"] == len(he)


def test_doe_close_to_truth_and_zero_when_independent() -> None:
    n = 3000
    x, y = _pair(n, 5)
    he = _heldout(n)
    oracle = float(
        np.mean(stats.norm.logpdf(y[he], RHO * x[he], np.sqrt(1 - RHO**2)) - stats.norm.logpdf(y[he]))
    )
    est = DoEMI(seed=0).estimate(x, y)
    assert abs(est.value - oracle) < 0.03  # the same held-out samples with the true densities
    assert abs(est.value - TRUTH) < 0.05
    assert est.details["h_y"] - est.details["h_y_given_x"] == pytest.approx(est.value, abs=1e-6)
    rng = np.random.default_rng(6)
    indep = DoEMI(seed=0).estimate(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)))
    assert abs(indep.value) < 0.03


def test_registry_names_and_options() -> None:
    for name in ("club", "club_sampled", "l1out", "doe"):
        est = MI_ESTIMATORS.get(name)(hidden=8, seed=3)
        assert est.name == name and est.config.hidden == 8 and est.seed == 3
    assert MI_ESTIMATORS.get("doe")().config.covariance == "full"
    assert MI_ESTIMATORS.get("club")().config.covariance == "diagonal"


def test_sampled_club_runs_and_is_positive_on_dependent_data() -> None:
    x, y = _pair(600, 7)
    est = VariationalUpperMI("club_sampled", seed=0, max_epochs=30).estimate(x, y)
    assert est.value > TRUTH - 0.2


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: VariationalUpperMI("vub"), "kind='vub'"),
        (lambda: VariationalUpperMI("club", covariance="spherical"), "covariance"),
        (lambda: DoEMI(depth=3), "unknown option 'depth'"),
        (lambda: VariationalUpperMI("l1out", readout_size=1), "readout_size"),
        (lambda: CLUBLoss(0, 1), "dim_x"),
    ],
)
def test_bad_arguments(make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=match):
        make()


def test_too_few_samples() -> None:
    x, y = _pair(10, 0)
    with pytest.raises(InputError, match="at least 20"):
        VariationalUpperMI("club").estimate(x, y)
    with pytest.raises(InputError, match="at least 2"):
        CLUBLoss(1, 1)(torch.zeros(1, 1), torch.zeros(1, 1))


# ---------------------------------------------------------------- the differentiable loss


def _encoder_mi(w: np.ndarray, noise: float) -> float:
    """I(w.x; y) for x ~ N(0, I_2), y = x_1 + noise * e: a Gaussian pair with corr w_1 / (|w| sqrt(1 + noise^2))."""
    c = w[0] / (np.linalg.norm(w) * np.sqrt(1 + noise**2))
    return float(-0.5 * np.log(1 - c**2))


@pytest.mark.parametrize("sampled", [False, True])
def test_club_loss_reduces_mi_of_an_encoder(sampled: bool) -> None:
    torch.manual_seed(0)
    noise = 0.5
    enc = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        enc.weight.copy_(torch.tensor([[1.0, 0.3]]))
    before = _encoder_mi(enc.weight.detach().numpy()[0], noise)
    club = CLUBLoss(1, 1, hidden=16, sampled=sampled)
    opt_q = torch.optim.Adam(club.parameters(), lr=1e-2)
    opt_enc = torch.optim.Adam(enc.parameters(), lr=1e-2)
    for _ in range(150):
        x = torch.randn(256, 2)
        y = x[:, :1] + noise * torch.randn(256, 1)
        z = enc(x)
        opt_q.zero_grad()
        club.learning_loss(z.detach(), y).backward()
        opt_q.step()
        opt_enc.zero_grad()
        club(z, y).backward()
        opt_enc.step()
    after = _encoder_mi(enc.weight.detach().numpy()[0], noise)
    assert after < 0.5 * before, (before, after)


def test_club_loss_learning_loss_is_negative_log_likelihood() -> None:
    torch.manual_seed(1)
    club = CLUBLoss(2, 1, hidden=4, layers=1)
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    mean, prec = club.q.params(x)
    ref = -stats.norm.logpdf(y.numpy(), mean.detach().numpy(), 1 / prec.detach().numpy()).mean()
    assert float(club.learning_loss(x, y).detach()) == pytest.approx(ref, abs=1e-5)


@pytest.mark.slow
def test_benchmark_doe_five_pairs_eight_nats() -> None:
    """Benchmark target: five Gaussian pairs with I = 8 nats, N = 5000: DoE >= 7.5."""
    rho = np.sqrt(1 - np.exp(-3.2))
    rng = np.random.default_rng(10)
    x = rng.normal(size=(5000, 5))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(5000, 5))
    assert DoEMI(seed=0).estimate(x, y).value >= 7.5
