"""MMPareto: weights and the replaced encoder gradients equal the formulas of Wei & Hu (2024), Alg. 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from infomm.balancing import BALANCERS
from infomm.balancing.mmpareto import MMPareto, pareto_weights
from infomm.interface import InputError
from infomm.models import LateFusion, MLPEncoder


def _min_norm_bruteforce(g1: np.ndarray, g2: np.ndarray) -> float:
    grid = np.linspace(0.0, 1.0, 200001)
    norms = [np.linalg.norm(a * g1 + (1 - a) * g2) for a in grid[::100]]
    a0 = grid[::100][int(np.argmin(norms))]
    fine = grid[(grid >= a0 - 1e-3) & (grid <= a0 + 1e-3)]
    return float(fine[int(np.argmin([np.linalg.norm(a * g1 + (1 - a) * g2) for a in fine]))])


@pytest.mark.parametrize("seed", range(5))
def test_weights_are_half_when_aligned_else_min_norm(seed):
    rng = np.random.default_rng(seed)
    g1, g2 = rng.normal(size=7), rng.normal(size=7)
    a, b = pareto_weights(torch.tensor(g1), torch.tensor(g2))
    assert a + b == pytest.approx(1.0)
    if g1 @ g2 > 0:
        assert (a, b) == (0.5, 0.5)
    else:
        assert a == pytest.approx(_min_norm_bruteforce(g1, g2), abs=2e-5)


def test_encoder_gradients_are_replaced_by_the_combination():
    torch.manual_seed(0)
    model = LateFusion({"a": MLPEncoder(3, 4, hidden=5), "b": MLPEncoder(2, 4, hidden=5)}, n_classes=3)
    model.head_gradient = True
    method = MMPareto(gamma=1.5)
    method.setup(model.modality_parameters())
    x = {"a": torch.randn(32, 3), "b": torch.randn(32, 2)}
    y = torch.randint(0, 3, (32,))
    out = model(x)
    # independent reference gradients per modality
    ref = {}
    for m in ("a", "b"):
        ps = model.modality_parameters()[m]
        g_mm = torch.autograd.grad(TF.cross_entropy(out.logits, y), ps, retain_graph=True)
        g_m = torch.autograd.grad(TF.cross_entropy(out.unimodal_logits[m], y), ps, retain_graph=True)
        ref[m] = (g_mm, g_m)
    loss, _ = method.objective(out, y, epoch=0)
    loss.backward()
    for m in ("a", "b"):  # before the hook: the plain sum
        for p, gmm, gm in zip(model.modality_parameters()[m], *ref[m], strict=True):
            assert torch.allclose(p.grad, gmm + gm, atol=1e-6)
    method.after_backward(out, y, epoch=0)
    for m in ("a", "b"):
        g_mm, g_m = ref[m]
        a_mm, a_m = pareto_weights(
            torch.cat([g.flatten() for g in g_mm]), torch.cat([g.flatten() for g in g_m])
        )
        for p, gmm, gm in zip(model.modality_parameters()[m], g_mm, g_m, strict=True):
            new = 2 * (a_mm * gmm + a_m * gm)
            scale = max(1.0, float((gmm + gm).norm() / new.norm()))
            assert torch.allclose(p.grad, 1.5 * scale * new, atol=1e-6)
        assert method.coefficients()[f"alpha_mm/{m}"] == pytest.approx(a_mm)


def test_window_options_and_registry():
    assert "mmpareto" in BALANCERS.names()
    with pytest.raises(InputError, match="gamma"):
        MMPareto(gamma=0)
    m = MMPareto(start_epoch=2)
    assert not m.active(1) and m.active(2)
