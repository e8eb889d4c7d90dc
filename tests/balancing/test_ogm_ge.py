"""OGM-GE: scores and coefficients against the paper's formula and the official code, exact gradient effects."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from infomm.balancing.base import BALANCERS
from infomm.balancing.ogm_ge import OGMGE, ogm_coefficients, ogm_scores
from infomm.interface import InputError, MultimodalOutput
from infomm.models.late_fusion import LateFusion, MLPEncoder


def official_coefficients(score_a, score_v, alpha):
    """The two-modality branch of the official main.py (GeWu-Lab/OGM-GE_CVPR2022), in torch."""
    relu, tanh = nn.ReLU(), nn.Tanh()
    ratio_v = torch.tensor(score_v / score_a)
    ratio_a = 1 / ratio_v
    if ratio_v > 1:
        return 1.0, float(1 - tanh(alpha * relu(ratio_v)))
    return float(1 - tanh(alpha * relu(ratio_a))), 1.0


def test_scores_match_numpy():
    g = torch.Generator().manual_seed(0)
    z = {"a": torch.randn(7, 3, generator=g), "v": 4 * torch.randn(7, 3, generator=g)}
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    s = ogm_scores(z, y)
    for m, t in z.items():
        p = np.exp(t.double().numpy())
        p /= p.sum(1, keepdims=True)
        assert s[m] == pytest.approx(p[np.arange(7), y.numpy()].sum(), rel=1e-12)


@pytest.mark.parametrize("sa, sv", [(30.0, 10.0), (10.0, 30.0), (12.5, 12.5), (3.0, 40.0)])
def test_two_modalities_formula_and_official_code(sa, sv):
    """Eq. 10; the official code agrees except at a tie, where its else-branch damps audio (we follow Eq. 10)."""
    k, rho = ogm_coefficients({"a": sa, "v": sv}, alpha=0.1)
    assert rho["a"] == pytest.approx(sa / sv) and rho["v"] == pytest.approx(sv / sa)
    expect_a = 1 - math.tanh(0.1 * sa / sv) if sa > sv else 1.0
    expect_v = 1 - math.tanh(0.1 * sv / sa) if sv > sa else 1.0
    assert k["a"] == pytest.approx(expect_a, abs=1e-12) and k["v"] == pytest.approx(expect_v, abs=1e-12)
    off_a, off_v = official_coefficients(sa, sv, 0.1)
    if sa == sv:
        assert k == {"a": 1.0, "v": 1.0} and off_a == pytest.approx(1 - math.tanh(0.1)) and off_v == 1.0
        return
    assert k["a"] == pytest.approx(off_a, abs=1e-6) and k["v"] == pytest.approx(off_v, abs=1e-6)


def test_smooth_option():
    k, _ = ogm_coefficients({"a": 30.0, "v": 10.0}, alpha=0.5, smooth=True)
    assert k["a"] == pytest.approx(1 - math.tanh(0.5 * 2.0)) and k["v"] == 1.0
    k, _ = ogm_coefficients({"a": 10.0 + 1e-9, "v": 10.0}, alpha=0.5, smooth=True)
    assert k["a"] == pytest.approx(1.0)  # continuous at rho = 1 (the default jumps to 1 - tanh(alpha))


def test_three_modalities_against_mean_of_others():
    k, rho = ogm_coefficients({"a": 6.0, "b": 2.0, "c": 4.0}, alpha=0.3)
    assert rho == pytest.approx({"a": 6 / 3, "b": 2 / 5, "c": 4 / 4})
    assert k["a"] == pytest.approx(1 - math.tanh(0.3 * 2)) and k["b"] == 1.0 and k["c"] == 1.0


def setup_method_and_batch(n_param=(4, 3), grad_seed=12345, **kwargs):
    """A method set up on two fake encoders whose gradients are known, and a batch where 'a' dominates.

    (The gradients come from another seed than the method's noise: with the same seed the "noise"
    would replay the gradient's own draws.)
    """
    g = torch.Generator().manual_seed(grad_seed)
    params = {m: [nn.Parameter(torch.zeros(n_param)), nn.Parameter(torch.zeros(n_param[0]))] for m in "av"}
    for ps in params.values():
        for p in ps:
            p.grad = 3 * torch.randn(p.shape, generator=g) + 0.5
    method = OGMGE(**kwargs)
    method.setup(params)
    y = torch.tensor([0, 1, 2, 1])
    strong = 5 * nn.functional.one_hot(y, 3).float()
    partial = {"a": strong, "v": torch.zeros(4, 3)}
    out = MultimodalOutput(strong, {}, {"a": torch.zeros(4, 3), "v": strong}, partial)
    return method, params, out, y


def test_scaling_without_noise_is_exact():
    method, params, out, y = setup_method_and_batch(ge=False, alpha=0.2)
    before = {m: [p.grad.clone() for p in ps] for m, ps in params.items()}
    k, rho = ogm_coefficients(ogm_scores(out.partial_logits, y), alpha=0.2)
    assert k["a"] < 1 and k["v"] == 1.0
    method.after_backward(out, y, epoch=0)
    for m, ps in params.items():
        for p, g in zip(ps, before[m], strict=True):
            assert torch.equal(p.grad, g * k[m])
    assert method.coefficients() == {"k/a": k["a"], "rho/a": rho["a"], "k/v": 1.0, "rho/v": rho["v"]}


def test_score_from_heads():
    method, params, out, y = setup_method_and_batch(ge=False, score_from="heads")
    before = [p.grad.clone() for p in params["v"]]
    method.after_backward(out, y, epoch=0)  # the heads say 'v' dominates
    coefs = method.coefficients()
    assert coefs["k/a"] == 1.0 and coefs["k/v"] < 1.0
    assert all(torch.equal(p.grad, g * coefs["k/v"]) for p, g in zip(params["v"], before, strict=True))


def test_generalization_noise_has_the_gradient_std():
    method, params, out, y = setup_method_and_batch(n_param=(400, 500), alpha=0.1)
    g = params["a"][0].grad.clone()
    method.after_backward(out, y, epoch=0)
    k = method.coefficients()["k/a"]
    noise = params["a"][0].grad - k * g
    assert float(noise.std()) == pytest.approx(float(g.std()), rel=0.02)
    assert abs(float(noise.mean())) < 5 * float(g.std()) / math.sqrt(g.numel())
    # the noise is independent of the gradient it is added to
    assert abs(float(torch.corrcoef(torch.stack([noise.flatten(), g.flatten()]))[0, 1])) < 0.01


def test_inactive_outside_the_window():
    for epoch in (0, 3, 7):
        method, params, out, y = setup_method_and_batch(start_epoch=1, end_epoch=3)
        before = [p.grad.clone() for ps in params.values() for p in ps]
        method.after_backward(out, y, epoch)
        assert all(
            torch.equal(p.grad, b)
            for p, b in zip([p for ps in params.values() for p in ps], before, strict=True)
        )
        coefs = method.coefficients()
        assert coefs["k/a"] == 1.0 and coefs["rho/a"] > 1  # rho still reported
    method, params, out, y = setup_method_and_batch(start_epoch=1, end_epoch=3)
    g = params["v"][0].grad.clone()
    method.after_backward(out, y, 2)
    assert not torch.equal(params["v"][0].grad, g)  # k = 1 for 'v', but GE noise is added (official)


def test_seeded_noise_is_reproducible():
    def run(seed, steps=1):
        method, params, out, y = setup_method_and_batch(seed=seed)
        for _ in range(steps):
            method.after_backward(out, y, 0)
        return torch.cat([p.grad.flatten() for ps in params.values() for p in ps])

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))
    assert not torch.equal(run(3, steps=2), run(3, steps=1))


def test_late_fusion_model_scales_only_the_dominant_encoder():
    torch.manual_seed(0)
    model = LateFusion({"a": MLPEncoder(5, 4, hidden=8), "b": MLPEncoder(3, 4, hidden=8)}, 3)
    x = {"a": torch.randn(16, 5), "b": torch.randn(16, 3)}
    y = torch.randint(0, 3, (16,))
    method = OGMGE(alpha=0.5, ge=False)
    method.setup(model.modality_parameters())
    out = model(x)
    method.on_forward(out, y, 0)
    loss, _ = method.objective(out, y, 0)
    loss.backward()
    before = {m: [p.grad.clone() for p in ps] for m, ps in method.parameters.items()}
    method.after_backward(out, y, 0)
    k, _ = ogm_coefficients(ogm_scores(out.partial_logits, y), alpha=0.5)
    assert sorted(k.values())[0] < 1 == sorted(k.values())[1]
    for m, ps in method.parameters.items():
        assert all(torch.equal(p.grad, g * k[m]) for p, g in zip(ps, before[m], strict=True))
    assert BALANCERS.get("ogm-ge") is OGMGE


@pytest.mark.parametrize("kwargs", [{"alpha": -0.1}, {"score_from": "fused"}, {"end_epoch": 0}])
def test_bad_options_raise(kwargs):
    with pytest.raises(InputError):
        OGMGE(**kwargs)


def test_bad_use_raises():
    method, params, out, y = setup_method_and_batch()
    with pytest.raises(InputError, match="score_from='heads'"):
        method.after_backward(MultimodalOutput(out.logits, {}, out.unimodal_logits), y, 0)
    with pytest.raises(InputError, match="setup"):
        OGMGE().after_backward(out, y, 0)
    with pytest.raises(InputError, match=">= 2"):
        ogm_coefficients({"a": 1.0})


def test_noise_equals_one_draw_scaled_by_each_tensors_std():
    """GE noise, against a reference written out: per step one fresh N(0, 1) draw over all encoder
    tensors in order (modality, parameter), each slice times ``torch.std(g) + 1e-8`` of its unscaled
    gradient, added to ``k g``."""
    method, params, out, y = setup_method_and_batch(n_param=(30, 7), seed=5, alpha=0.3)
    k, _ = ogm_coefficients(ogm_scores(out.partial_logits, y), alpha=0.3)
    coefs = [k[m] for m, ps in params.items() for _ in ps]
    gen = torch.Generator().manual_seed(5)
    for _step in range(2):  # the second step draws anew (the buffer's memory is reused, not its values)
        grads = [p.grad.clone() for ps in params.values() for p in ps]
        eps = torch.randn(sum(g.numel() for g in grads), generator=gen).split([g.numel() for g in grads])
        expect = [c * g + (g.std() + 1e-8) * e.view_as(g) for g, c, e in zip(grads, coefs, eps, strict=True)]
        method.after_backward(out, y, epoch=0)
        got = [p.grad for ps in params.values() for p in ps]
        for a, b in zip(got, expect, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_noise_std_per_tensor_and_single_elements():
    """Each tensor's noise has that tensor's std (not a pooled one); a 1-element tensor gets 1e-8."""
    g = torch.Generator().manual_seed(1)
    params = {
        "a": [nn.Parameter(torch.zeros(300, 200)), nn.Parameter(torch.zeros(1))],
        "v": [nn.Parameter(torch.zeros(500))],
    }
    scales = [0.01, 5.0, 100.0]
    for p, s in zip([*params["a"], *params["v"]], scales, strict=True):
        p.grad = s * torch.randn(p.shape, generator=g)
    method = OGMGE(alpha=0.0)  # alpha = 0: k = 1 everywhere, the change is the noise alone
    method.setup(params)
    before = [p.grad.clone() for ps in params.values() for p in ps]
    y = torch.tensor([0, 1])
    out = MultimodalOutput(torch.zeros(2, 2), {}, {}, {"a": torch.zeros(2, 2), "v": torch.zeros(2, 2)})
    method.after_backward(out, y, epoch=0)
    after = [p.grad for ps in params.values() for p in ps]
    big, single, v = (a - b for a, b in zip(after, before, strict=True))
    assert float(big.std()) == pytest.approx(float(before[0].std()), rel=0.02)
    assert float(v.std()) == pytest.approx(float(before[2].std()), rel=0.1)
    assert abs(float(single)) < 1e-6  # N(0, (1e-8)^2)
