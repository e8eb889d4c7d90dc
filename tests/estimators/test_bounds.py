"""Bounds as pure functions: checked with the analytically optimal critic of a Gaussian pair."""

import math

import numpy as np
import pytest
import torch

from infomm.functional import bounds as B

RHO = 0.75
TRUTH = -0.5 * math.log(1 - RHO**2)  # 0.4133 nats


def optimal_scores(n: int, seed: int = 0) -> torch.Tensor:
    """scores[i, j] = log p(x_i, y_j) / (p(x_i) p(y_j)) for a standard bivariate normal."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    y = RHO * x + math.sqrt(1 - RHO**2) * torch.randn(n, generator=g, dtype=torch.float64)
    xi, yj = x[:, None], y[None, :]
    q = 1 - RHO**2
    return -0.5 * math.log(q) - (xi**2 - 2 * RHO * xi * yj + yj**2) / (2 * q) + (xi**2 + yj**2) / 2


@pytest.mark.parametrize("bound", [B.dv, B.smile, B.js_nwj])
def test_bounds_with_optimal_critic_equal_truth(bound):
    s = optimal_scores(3000)
    assert abs(float(bound(s)) - TRUTH) < 0.03


def test_nwj_is_tight_at_log_ratio_plus_one():
    s = optimal_scores(3000)
    assert abs(float(B.nwj(s + 1.0)) - TRUTH) < 0.03
    # any other shift gives a lower value (the bound is tight only at f* + 1)
    assert float(B.nwj(s + 1.0)) > float(B.nwj(s)) and float(B.nwj(s + 1.0)) > float(B.nwj(s + 2.0))


def test_infonce_below_log_batch_and_close_to_truth_for_small_mi():
    s = optimal_scores(2000)
    v = float(B.infonce(s))
    assert v <= math.log(2000)
    assert abs(v - TRUTH) < 0.03
    perfect = 50.0 * torch.eye(16, dtype=torch.float64) - 25.0
    assert float(B.infonce(perfect)) <= math.log(16) + 1e-9
    assert abs(float(B.infonce(perfect)) - math.log(16)) < 1e-6


def test_bounds_are_lower_bounds_for_bad_critics():
    s = optimal_scores(2000)
    for bad in (0.5 * s, s + 3.0, s**2 / 10):
        for bound in (B.dv, B.nwj, B.infonce):
            assert float(bound(bad)) <= TRUTH + 0.03


def test_smile_clip_reduces_to_dv_for_large_tau():
    s = optimal_scores(500)
    assert float(B.smile(s, tau=1e6)) == pytest.approx(float(B.dv(s)), abs=1e-9)
    assert float(B.smile(s * 10, tau=1.0)) != pytest.approx(float(B.dv(s * 10)))


def test_smile_surrogate_has_js_gradient_and_smile_value():
    s = optimal_scores(200).clone().requires_grad_(True)
    sur = B.smile_surrogate(s)
    assert float(sur.detach()) == pytest.approx(float(B.smile(s.detach())), abs=1e-9)
    (g1,) = torch.autograd.grad(sur, s)
    (g2,) = torch.autograd.grad(B.js_objective(s), s)
    assert torch.allclose(g1, g2)


def test_mine_surrogate_value_and_gradient():
    s = optimal_scores(200).clone().requires_grad_(True)
    sur, log_ema = B.mine_surrogate(s, torch.tensor(-math.inf))
    assert float(sur.detach()) == pytest.approx(float(B.dv(s.detach())), abs=1e-9)
    # with the moving average equal to the batch value, MINE's gradient is the DV gradient
    (g1,) = torch.autograd.grad(sur, s)
    (g2,) = torch.autograd.grad(B.dv(s), s)
    assert torch.allclose(g1, g2, atol=1e-12)
    # the moving average moves by alpha toward a new batch's value
    s2 = s.detach() + 1.0
    _, new = B.mine_surrogate(s2, log_ema, alpha=0.5)
    expect = math.log(0.5 * math.exp(float(log_ema)) + 0.5 * math.exp(float(B.log_mean_exp_offdiag(s2))))
    assert float(new) == pytest.approx(expect, rel=1e-9)


def test_bad_score_shapes_raise():
    for bad in (torch.zeros(3), torch.zeros(3, 4), torch.zeros(1, 1)):
        with pytest.raises(ValueError, match="square"):
            B.dv(bad)


def test_independent_scores_give_zero():
    s = torch.as_tensor(np.zeros((10, 10)))
    for b in (B.dv, B.infonce, B.js_nwj, B.smile):
        assert abs(float(b(s))) < 1e-12
    assert abs(float(B.nwj(s + 1.0))) < 1e-12  # NWJ's constant optimum is f = 1
