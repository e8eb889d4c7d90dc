"""OMIB: the KL term, r (Eq. 11) and M_u (Prop. 5.7) against hand computations; the objective; the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import infomm.balancing.omib  # noqa: F401 (registers "omib" before balancing/__init__ imports it)
from infomm.balancing.base import BALANCERS
from infomm.balancing.omib import OMIB, OMIBModel, omib_beta_bound
from infomm.data.synthetic_mm import gaussian_multimodal
from infomm.functional.omib import (
    beta_upper_bound,
    expected_prediction_kls,
    gaussian_kl,
    omib_r,
    omib_r_from_logits,
    prediction_kl,
)
from infomm.interface import InputError, MultimodalOutput
from infomm.models import MLPEncoder


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_kl(p_logits: np.ndarray, q_logits: np.ndarray) -> np.ndarray:
    p, q = np_softmax(p_logits), np_softmax(q_logits)
    return (p * np.log(p / q)).sum(1)


def np_ce(logits: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np_softmax(logits)[np.arange(len(y)), y]).mean())


MU = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
LOGVAR = np.array([[0.0, -1.0, 0.7], [1.2, 0.1, -2.0]])
# three samples, three classes: modality 1's head agrees with the fusion more than modality 2's
FUSED = np.array([[2.0, 0.0, -1.0], [0.0, 1.5, 0.2], [0.3, 0.3, 1.0]])
UNI1 = np.array([[1.0, 0.5, -0.5], [0.5, 0.5, 0.0], [0.0, 1.0, 0.5]])
UNI2 = np.array([[0.0, 1.0, 0.0], [1.0, -0.5, 0.5], [1.0, 0.0, 0.0]])


def t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def test_gaussian_kl_equals_hand_formula():
    sigma2 = np.exp(LOGVAR)
    expect = 0.5 * (MU**2 + sigma2 - 1 - np.log(sigma2)).sum(1)
    np.testing.assert_allclose(gaussian_kl(t(MU), t(LOGVAR)).numpy(), expect, rtol=1e-12)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(t(MU), torch.exp(0.5 * t(LOGVAR))), torch.distributions.Normal(0.0, 1.0)
    ).sum(1)
    np.testing.assert_allclose(ref.numpy(), expect, rtol=1e-12)  # torch's closed form agrees
    assert float(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max()) == 0.0  # the prior itself


def test_prediction_kl_and_r_equal_hand_formula():
    k1, k2 = np_kl(UNI1, FUSED), np_kl(UNI2, FUSED)
    np.testing.assert_allclose(prediction_kl(t(UNI1), t(FUSED)).numpy(), k1, rtol=1e-12)
    r, e1, e2 = omib_r_from_logits(t(UNI1), t(UNI2), t(FUSED))
    assert (e1, e2) == pytest.approx((k1.mean(), k2.mean()), rel=1e-12)
    expect = 1 - math.tanh(math.log(k2.mean() / k1.mean()))  # ratio of the batch means (Eq. 11)
    assert r == pytest.approx(expect, rel=1e-12)
    assert 0 < r < 1  # modality 2 is further from the fusion: its KL weight drops below 1
    mean_of_ratios = 1 - math.tanh(math.log((k2 / k1).mean()))
    assert abs(r - mean_of_ratios) > 0.01  # the two readings differ; we implement the ratio of means


def test_r_limits_and_symmetry():
    assert omib_r(0.0, 0.0) == 1.0 and omib_r(0.0, 0.5) == 0.0 and omib_r(0.5, 0.0) == 2.0
    assert omib_r(0.3, 0.3) == pytest.approx(1.0)
    for a, b in [(0.1, 0.7), (2.0, 0.05), (1e-9, 3.0)]:
        assert omib_r(a, b) + omib_r(b, a) == pytest.approx(2.0, abs=1e-12)  # tanh is odd
    with pytest.raises(InputError, match="kl_1"):
        omib_r(-0.1, 1.0)


@pytest.mark.parametrize(
    "h1, h2, mi, r", [(3.0, 2.0, 1.0, 1.0), (5.5, 4.25, 0.75, 0.2), (1.0, 1.0, 0.5, 2.0)]
)
def test_beta_bound_equals_formula(h1, h2, mi, r):
    assert beta_upper_bound(h1, h2, mi, r) == pytest.approx(1.0 / ((1 + r) * (h1 + h2 - mi)), rel=1e-15)


def test_beta_bound_rejects_non_positive_denominator_and_bad_r():
    with pytest.raises(InputError, match="not positive"):
        beta_upper_bound(-2.0, 1.0, 0.0)
    with pytest.raises(InputError, match="not positive"):
        beta_upper_bound(1.0, 1.0, 2.0)
    with pytest.raises(InputError, match="r="):
        beta_upper_bound(1.0, 1.0, 0.0, r=-0.5)


def test_beta_bound_on_gaussian_features_matches_closed_form():
    """a ~ N(0, I_2), b = a + N(0, I_2): after z-scoring h(a) = h(b) = log(2 pi e), I = log 2."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20_000, 2))
    b = a + rng.standard_normal((20_000, 2))
    m_u, parts = omib_beta_bound({"a": a, "b": b}, r=0.5, entropy_method="gaussian", mi_method="gaussian")
    h, mi = math.log(2 * math.pi * math.e), math.log(2.0)
    assert parts["h/a"] == pytest.approx(h, abs=0.02) and parts["h/b"] == pytest.approx(h, abs=0.02)
    assert parts["mi"] == pytest.approx(mi, abs=0.02)
    assert m_u == pytest.approx(1 / (1.5 * (2 * h - mi)), rel=0.01)
    assert m_u == pytest.approx(1 / (1.5 * parts["denominator"]), rel=1e-12)
    with pytest.raises(InputError, match="exactly two"):
        omib_beta_bound({"a": a, "b": b, "c": a})
    with pytest.raises(InputError, match="rows"):
        omib_beta_bound({"a": a, "b": b[:10]})


def hand_output(requires_grad: bool = False) -> tuple[MultimodalOutput, torch.Tensor]:
    mu = {"a": t(np.vstack([MU, [1.0, 0.0, -0.5]])), "b": t(np.array([[0.1, 0.2], [-1.0, 0.4], [0.0, 0.0]]))}
    logvar = {
        "a": t(np.vstack([LOGVAR, [0.0, 0.2, -0.3]])),
        "b": t(np.array([[0.5, -0.5], [0.0, 1.0], [0.0, 0.0]])),
    }
    out = MultimodalOutput(
        t(FUSED).requires_grad_(requires_grad),
        {},
        {"a": t(UNI1), "b": t(UNI2)},
        extras={"mu": mu, "logvar": logvar},
    )
    return out, torch.tensor([0, 1, 2])


def test_objective_equals_hand_loss_and_warmup_uses_heads_only():
    out, y = hand_output()
    method = OMIB(beta=0.3, warmup_epochs=1, unimodal_weight=0.5)
    kl = {m: 0.5 * (out.extras["mu"][m].numpy() ** 2 + np.exp(out.extras["logvar"][m].numpy()) - 1).sum(1)
          - 0.5 * out.extras["logvar"][m].numpy().sum(1) for m in "ab"}  # fmt: skip
    ce1, ce2 = np_ce(UNI1, y.numpy()), np_ce(UNI2, y.numpy())
    warm, _ = method.objective(out, y, epoch=0)
    assert float(warm) == pytest.approx(ce1 + ce2, rel=1e-12)
    assert method.coefficients()["r"] == 1.0  # not used during warm-up
    loss, parts = method.objective(out, y, epoch=1)
    r = 1 - math.tanh(math.log(np_kl(UNI2, FUSED).mean() / np_kl(UNI1, FUSED).mean()))
    expect = np_ce(FUSED, y.numpy()) + 0.3 * (kl["a"].mean() + r * kl["b"].mean()) + 0.5 * (ce1 + ce2)
    assert float(loss) == pytest.approx(expect, rel=1e-12)
    coef = method.coefficients()
    assert coef["r"] == pytest.approx(r, rel=1e-12) and coef["beta"] == 0.3
    assert coef["kl/a"] == pytest.approx(kl["a"].mean()) and coef["kl/b"] == pytest.approx(kl["b"].mean())
    assert parts["loss/fused"] == pytest.approx(np_ce(FUSED, y.numpy()))


def test_objective_with_equal_code_sizes_equals_hand_loss():
    """Codes of the same size take the stacked KL pass; the loss is the same hand formula."""
    out, y = hand_output()
    rng = np.random.default_rng(0)
    out.extras["mu"]["b"], out.extras["logvar"]["b"] = t(rng.normal(size=(3, 3))), t(rng.normal(size=(3, 3)))
    method = OMIB(beta=0.7, warmup_epochs=0, unimodal_weight=0.25)
    kl = {m: 0.5 * (out.extras["mu"][m].numpy() ** 2 + np.exp(out.extras["logvar"][m].numpy()) - 1
                    - out.extras["logvar"][m].numpy()).sum(1).mean() for m in "ab"}  # fmt: skip
    r = 1 - math.tanh(math.log(np_kl(UNI2, FUSED).mean() / np_kl(UNI1, FUSED).mean()))
    ce1, ce2, cef = (np_ce(z, y.numpy()) for z in (UNI1, UNI2, FUSED))
    loss, parts = method.objective(out, y, epoch=0)
    assert float(loss) == pytest.approx(cef + 0.7 * (kl["a"] + r * kl["b"]) + 0.25 * (ce1 + ce2), rel=1e-12)
    assert parts == pytest.approx({"loss/a": ce1, "loss/b": ce2, "loss/fused": cef}, rel=1e-12)
    assert method.coefficients() == pytest.approx({"r": r, "beta": 0.7, "kl/a": kl["a"], "kl/b": kl["b"]})


def test_expected_prediction_kls_are_batch_means_of_prediction_kl():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 9, 5, generator=g)
    got = expected_prediction_kls(z)
    expect = [float(prediction_kl(z[m].double(), z[-1].double()).mean()) for m in range(3)]
    assert got == pytest.approx(expect, rel=1e-12)
    with pytest.raises(InputError, match="M \\+ 1"):
        expected_prediction_kls(z[0])
    with pytest.raises(InputError, match="must match"):
        omib_r_from_logits(z[0], z[1], z[2, :, :3])


def test_r_is_computed_without_gradient():
    out, y = hand_output(requires_grad=True)
    OMIB(beta=0.0, warmup_epochs=0, unimodal_weight=0.0).objective(out, y, epoch=0)[0].backward()
    p = np_softmax(FUSED)
    expect = (p - np.eye(3)) / 3  # d CE / d logits only: nothing flows through r
    np.testing.assert_allclose(out.logits.grad.numpy(), expect, rtol=1e-10)


def test_r_momentum_is_an_ema_of_the_two_expected_kls():
    out, y = hand_output()
    out2 = MultimodalOutput(out.logits, {}, {"a": t(UNI2), "b": t(UNI1)}, extras=out.extras)
    method = OMIB(warmup_epochs=0, r_momentum=0.75)
    method.objective(out, y, epoch=0)
    k1, k2 = np_kl(UNI1, FUSED).mean(), np_kl(UNI2, FUSED).mean()
    assert method.coefficients()["r"] == pytest.approx(omib_r(k1, k2))
    method.objective(out2, y, epoch=0)
    e1, e2 = 0.75 * k1 + 0.25 * k2, 0.75 * k2 + 0.25 * k1
    assert method.coefficients()["r"] == pytest.approx(1 - math.tanh(math.log(e2 / e1)), rel=1e-12)


def small_model() -> OMIBModel:
    torch.manual_seed(0)
    return OMIBModel({"a": MLPEncoder(4, 6, hidden=8), "b": MLPEncoder(3, 6, hidden=8)}, 3, latent_dim=5)


def test_model_codes_gradients_and_drop():
    model = small_model()
    x = {"a": torch.randn(7, 4), "b": torch.randn(7, 3)}
    model.eval()
    out = model(x)
    assert torch.equal(out.extras["zeta"]["a"], out.extras["mu"]["a"])  # eval: zeta = mu
    assert torch.equal(model(x).logits, out.logits)
    dropped = model(x, drop=("b",))
    assert (
        float(dropped.features["b"].abs().max()) == 0.0
        and float(dropped.extras["zeta"]["b"].abs().max()) == 0
    )
    assert torch.equal(dropped.features["a"], out.features["a"])
    model.train()
    noisy = model(x)
    assert not torch.equal(noisy.extras["zeta"]["a"], noisy.extras["mu"]["a"])  # reparameterised sample
    method = OMIB(beta=0.1, warmup_epochs=1)
    method.setup(model.modality_parameters())
    method.objective(noisy, torch.tensor([0, 1, 2, 0, 1, 2, 0]), epoch=0)[0].backward()
    assert all(p.grad is None for p in model.fusion.parameters())  # warm-up: no fused loss
    assert all(p.grad is None for p in model.variational.parameters())  # and no KL
    assert all(p.grad is not None for ps in model.modality_parameters().values() for p in ps)


def test_eval_prediction_is_the_monte_carlo_predictive():
    model = small_model().eval()
    x = {"a": torch.randn(7, 4), "b": torch.randn(7, 3)}
    state = torch.get_rng_state()
    out = model(x)
    assert torch.equal(torch.get_rng_state(), state)  # the draws leave the training stream alone
    assert torch.equal(model(x).logits, out.logits)  # and are the same at every call
    mu, logvar = out.extras["mu"], out.extras["logvar"]
    gen, k = torch.Generator().manual_seed(0), model.eval_samples
    draws = [mu[m] + torch.exp(0.5 * logvar[m]) * torch.randn((k, *mu[m].shape), generator=gen) for m in "ab"]
    probs = torch.softmax(model.fusion(torch.cat(draws, dim=-1)), dim=-1).mean(
        0
    )  # by hand: mean of k softmaxes
    assert k == 12 and torch.allclose(out.logits.exp(), probs, atol=1e-6)
    point = OMIBModel(model.encoders, 3, latent_dim=5, eval_samples=0).eval()
    point.load_state_dict(model.state_dict())
    assert torch.allclose(point(x).logits, model.fusion(torch.cat([mu["a"], mu["b"]], dim=1)), atol=1e-6)
    with torch.no_grad():  # codes with almost no noise: the predictive is the softmax at mu
        for layer in model.variational.values():
            layer.bias[5:] = -40.0
    sharp = model(x)
    assert torch.allclose(sharp.logits, torch.log_softmax(point(x).logits, -1), atol=1e-4)
    dropped = model(x, drop=("b",))  # a dropped modality's code sits at the prior mean in every draw
    by_hand = torch.log_softmax(model.fusion(torch.cat([mu["a"], torch.zeros_like(mu["b"])], 1)), -1)
    assert torch.allclose(dropped.logits, by_hand, atol=1e-4)


def test_registered_and_trains_through_the_engine(tmp_path):
    from infomm.training import train

    ds = gaussian_multimodal(600, seed=0)
    res = train(
        ds, "omib", tmp_path, epochs=4, batch_size=16, hidden=32, feature_dim=16,
        method_options={"beta": 0.01, "warmup_epochs": 1, "latent_dim": 8},
    )  # fmt: skip
    assert "omib" in BALANCERS.names()
    for row in res.history:
        assert {"r", "kl/m1", "kl/m2", "beta"} <= set(row)
        assert 0.0 <= row["r"] <= 2.0 and row["kl/m1"] >= 0 and row["beta"] == pytest.approx(0.01)
    assert res.history[0]["r"] == 1.0 and res.history[-1]["r"] != 1.0  # r is used after the warm-up
    assert res.test["accuracy"] > 0.45  # chance 0.25; Bayes-optimal joint ~0.83 (3 short epochs)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"beta": -0.1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"beta": "auto"}, "beta"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"r_momentum": 1.0}, "r_momentum"),
        ({"unimodal_weight": -1.0}, "unimodal_weight"),
        ({"eval_samples": -1}, "eval_samples"),
        ({"eval_samples": 2.5}, "eval_samples"),
    ],
)
def test_bad_options_raise(options, match):
    with pytest.raises(InputError, match=match):
        OMIB(**options)


def test_three_modalities_raise(tmp_path):
    enc = {m: MLPEncoder(2, 4) for m in "abc"}
    with pytest.raises(InputError, match="exactly two"):
        OMIB().build_model(enc, 3)
    with pytest.raises(InputError, match="exactly two"):
        OMIB().setup({m: list(e.parameters()) for m, e in enc.items()})
    from infomm.training import train

    ds = gaussian_multimodal(60, dims=(2, 2, 2), informativeness=(1.0, 1.0, 1.0), bayes_samples=0)
    with pytest.raises(InputError, match="exactly two"):
        train(ds, "omib", tmp_path, epochs=1)
