"""EGH: the per-sample multipliers against an independent numpy formula, and the hook's exact effect."""

import numpy as np
import pytest
import torch

from infomm.balancing.base import BALANCERS, Balancer
from infomm.balancing.egh import EGH, egh_weights
from infomm.interface import InputError, MultimodalOutput
from infomm.models.late_fusion import LateFusion, MLPEncoder

N, C, D = 6, 4, 3


def numpy_lambda(logits, beta, eps=1e-6, clip=(0.1, 10.0), suppress_only=False):
    """The EGH formula written out in numpy (float64), independently of the implementation."""
    ents = {}
    for m, z in logits.items():
        z = np.asarray(z, dtype=np.float64)
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        ents[m] = -(p * np.log(p)).sum(1)
    mean = np.mean(list(ents.values()), axis=0)
    lam = {m: np.clip(((mean + eps) / (h + eps)) ** (-beta), *clip) for m, h in ents.items()}
    if suppress_only:
        lam = {m: np.minimum(v, 1.0) for m, v in lam.items()}
    return lam, ents


def batch(seed=0, scale=(3.0, 1.0, 0.3)):
    """Leaf inputs x[m], features = 2 x[m] (part of a graph) and fixed head logits of three modalities."""
    g = torch.Generator().manual_seed(seed)
    xs = {m: torch.randn(N, D, generator=g, requires_grad=True) for m in "abc"}
    feats = {m: 2 * x for m, x in xs.items()}
    heads = {m: s * torch.randn(N, C, generator=g) for m, s in zip("abc", scale, strict=True)}
    return xs, MultimodalOutput(torch.zeros(N, C), feats, heads)


def hooked_grads(method, epoch, seed=0):
    """Gradient reaching the leaves behind the features for L = sum_m sum(features[m] * c_m)."""
    xs, out = batch(seed)
    method.on_forward(out, torch.zeros(N, dtype=torch.long), epoch)
    c = {"a": 0.5, "b": -1.25, "c": 3.0}
    sum((out.features[m] * c[m]).sum() for m in xs).backward()
    return {m: x.grad for m, x in xs.items()}, out, c


def test_weights_match_numpy_formula():
    _, out = batch()
    z = {m: t.numpy() for m, t in out.unimodal_logits.items()}
    for beta in (0.5, 1.0, 2.0):
        lam, ent = egh_weights(out.unimodal_logits, beta=beta, clip_min=1e-3, clip_max=1e3)
        ref_lam, ref_ent = numpy_lambda(z, beta, clip=(1e-3, 1e3))
        for m in z:
            np.testing.assert_allclose(ent[m].numpy(), ref_ent[m], rtol=1e-6)
            np.testing.assert_allclose(lam[m].numpy(), ref_lam[m], rtol=1e-6)
    # the confident head (large logits) is damped on average, the uncertain one boosted
    assert lam["a"].mean() < 1 < lam["c"].mean()


def test_neutral_cases():
    z = torch.randn(N, C)
    lam, _ = egh_weights({"a": z, "b": z.clone()})  # identical heads: rho = 1
    assert torch.allclose(lam["a"], torch.ones(N)) and torch.allclose(lam["b"], torch.ones(N))
    certain = torch.tensor([[100.0, 0, 0, 0]]).repeat(N, 1)  # all entropies 0: rho = 1, not 0
    lam, _ = egh_weights({"a": certain, "b": certain})
    assert torch.allclose(lam["a"], torch.ones(N))
    lam, _ = egh_weights({"a": z, "b": 5 * z}, beta=0.0)
    assert torch.equal(lam["a"], torch.ones(N))


def test_clip_and_suppress_only():
    _, out = batch(seed=1, scale=(20.0, 1.0, 0.05))
    z = {m: t.numpy() for m, t in out.unimodal_logits.items()}
    lam, _ = egh_weights(out.unimodal_logits, beta=4.0, clip_min=0.2, clip_max=5.0)
    ref, _ = numpy_lambda(z, 4.0, clip=(0.2, 5.0))
    allv = torch.cat(list(lam.values()))
    assert (allv == 0.2).any() and (allv == 5.0).any()  # both bounds bind on this batch
    for m in z:
        np.testing.assert_allclose(lam[m].numpy(), ref[m], rtol=1e-6)
    sup, _ = egh_weights(out.unimodal_logits, beta=4.0, clip_min=0.2, clip_max=5.0, suppress_only=True)
    ref, _ = numpy_lambda(z, 4.0, clip=(0.2, 5.0), suppress_only=True)
    for m in z:
        assert (sup[m] <= 1).all()
        np.testing.assert_allclose(sup[m].numpy(), ref[m], rtol=1e-6)


def test_hook_scales_each_sample_exactly():
    method = EGH(beta=1.5, start_epoch=0)
    grads, out, c = hooked_grads(method, epoch=0)
    lam, _ = egh_weights(out.unimodal_logits, beta=1.5)
    for m, g in grads.items():
        # d/dx sum(2x * c) = 2c, times lambda_i on row i
        assert torch.equal(g, 2 * (c[m] * torch.ones(N, D) * lam[m][:, None]))


def test_inactive_in_warm_up_and_after_the_window():
    method = EGH(start_epoch=2, end_epoch=4)
    for epoch in (0, 1, 4):
        grads, _, c = hooked_grads(method, epoch)
        for m, g in grads.items():
            assert torch.equal(g, torch.full((N, D), 2 * c[m]))
        assert all(method.coefficients()[f"lambda/{m}"] == 1.0 for m in "abc")
    grads, _, c = hooked_grads(method, epoch=2)
    assert not torch.equal(grads["a"], torch.full((N, D), 2 * c["a"]))


def test_coefficients_report_mean_lambda_and_entropy():
    method = EGH(beta=2.0, start_epoch=0)
    _, out, _ = hooked_grads(method, epoch=0)
    lam, _ = egh_weights(out.unimodal_logits, beta=2.0)
    _, ent = numpy_lambda({m: t.numpy() for m, t in out.unimodal_logits.items()}, 2.0)
    coefs = method.coefficients()
    assert set(coefs) == {f"{k}/{m}" for k in ("lambda", "entropy") for m in "abc"}
    for m in "abc":
        assert coefs[f"lambda/{m}"] == pytest.approx(float(lam[m].mean()), rel=1e-6)
        assert coefs[f"entropy/{m}"] == pytest.approx(float(ent[m].mean()), rel=1e-6)


def test_head_gradient_is_an_instance_option():
    assert EGH().head_gradient is True and EGH(head_gradient=False).head_gradient is False
    assert Balancer.head_gradient is False  # the class-wide default is untouched
    assert EGH().start_epoch == 2 and BALANCERS.get("egh") is EGH


def test_encoder_gradient_in_a_late_fusion_model():
    """Through a real model (heads attached), the encoder gradient is the lambda-weighted one."""
    torch.manual_seed(0)
    model = LateFusion(
        {"a": MLPEncoder(5, 4, hidden=8), "b": MLPEncoder(3, 4, hidden=8)}, C, head_gradient=True
    )
    x = {"a": torch.randn(N, 5), "b": torch.randn(N, 3)}
    y = torch.randint(0, C, (N,))
    method = EGH(start_epoch=0)
    method.setup(model.modality_parameters())
    out = model(x)  # reference: d loss / d features without the hook, then weighted by hand
    loss, _ = method.objective(out, y, 0)
    lam, _ = egh_weights(out.unimodal_logits)
    gf = torch.autograd.grad(loss, [out.features["a"], out.features["b"]], retain_graph=True)
    ref = {
        m: torch.autograd.grad(out.features[m], method.parameters[m], grad_outputs=lam[m][:, None] * g)
        for m, g in zip("ab", gf, strict=True)
    }
    out = model(x)
    method.on_forward(out, y, 0)
    loss, _ = method.objective(out, y, 0)
    loss.backward()
    for m in "ab":
        for p, r in zip(method.parameters[m], ref[m], strict=True):
            assert torch.allclose(p.grad, r, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{"beta": -0.5}, {"eps": 0.0}, {"clip_min": 2.0, "clip_max": 1.5}, {"clip_min": 0.0}, {"clip_max": 0.5}],
)
def test_bad_options_raise(kwargs):
    with pytest.raises(InputError):
        EGH(**kwargs)


def test_heads_with_different_class_counts_match_numpy_formula():
    """Heads of different shapes take the per-modality path; same formula."""
    g = torch.Generator().manual_seed(3)
    logits = {"a": 2 * torch.randn(N, 3, generator=g), "b": torch.randn(N, 7, generator=g)}
    lam, ent = egh_weights(logits, beta=1.5)
    ref_lam, ref_ent = numpy_lambda({m: z.numpy() for m, z in logits.items()}, 1.5)
    for m in logits:
        np.testing.assert_allclose(ent[m].numpy(), ref_ent[m], rtol=1e-6)
        np.testing.assert_allclose(lam[m].numpy(), ref_lam[m], rtol=1e-6)


def test_weights_carry_no_graph():
    _, out = batch()
    logits = {m: z.requires_grad_() for m, z in out.unimodal_logits.items()}
    lam, ent = egh_weights(logits)
    assert not any(t.requires_grad for t in (*lam.values(), *ent.values()))
