"""Entropy coding without training a codec: likelihoods, real bitstreams, estimated vs actual bits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from infomm.compression.coder import decode_gaussian, decode_tables, encode_gaussian, encode_tables
from infomm.compression.entropy_models import FactorizedDensity, GaussianConditional, GaussianMarginal
from infomm.functional.rate import (
    gaussian_likelihood,
    logistic_bin_likelihood,
    scale_index,
    scale_table,
    total_bits,
)
from infomm.interface import InputError


def test_gaussian_likelihood_is_the_bin_mass_and_sums_to_one():
    k = torch.arange(-120, 121, dtype=torch.float64)
    for mean, scale in [(0.0, 1.0), (2.3, 0.4), (-7.1, 9.0)]:
        p = gaussian_likelihood(
            k, torch.tensor(mean, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64)
        )
        ref = norm.cdf(k + 0.5, mean, scale) - norm.cdf(k - 0.5, mean, scale)
        np.testing.assert_allclose(p.numpy(), ref, rtol=1e-9, atol=1e-15)
        assert abs(float(p.sum()) - 1.0) < 1e-9


def test_logistic_bin_likelihood_matches_the_plain_difference_and_keeps_far_tails():
    lo, hi = torch.tensor([-3.0, 0.1, 40.0]), torch.tensor([-1.0, 2.0, 41.0])
    plain = torch.sigmoid(hi.double()) - torch.sigmoid(lo.double())
    got = logistic_bin_likelihood(lo.double(), hi.double())
    np.testing.assert_allclose(got[:2].numpy(), plain[:2].numpy(), rtol=1e-12)
    # at logits 40..41 the plain difference underflows to 0 in float32; the flipped form does not
    assert float(torch.sigmoid(hi[2]) - torch.sigmoid(lo[2])) == 0.0
    assert float(logistic_bin_likelihood(lo[2:], hi[2:])) > 0


def test_scale_index_snaps_up_to_the_table():
    table = scale_table(0.5, 8.0, 5)  # 0.5, 1, 2, 4, 8
    idx = scale_index(torch.tensor([0.1, 0.499, 0.6, 3.9, 4.1, 100.0]), table)
    assert idx.tolist() == [0, 0, 1, 3, 4, 4]


def test_gaussian_stream_round_trips_and_lands_at_the_ideal_length():
    rng = np.random.default_rng(0)
    table = scale_table().numpy()
    levels = rng.integers(0, 300, 50_000)  # scales 0.11 .. about 10
    sym = np.round(rng.normal(0, table[levels])).astype(np.int32)
    data = encode_gaussian(sym, levels, table)
    assert np.array_equal(decode_gaussian(data, levels, table), sym)
    lik = gaussian_likelihood(torch.from_numpy(sym).double(), torch.zeros(1), torch.from_numpy(table[levels]))
    ideal = float(total_bits(lik))
    assert 0 <= 8 * len(data) - ideal <= 16 * 8  # at most 16 bytes above the ideal code length


def test_table_stream_round_trips_several_groups():
    rng = np.random.default_rng(1)
    tables = [np.array([0.7, 0.2, 0.1]), np.array([0.25] * 4), np.array([1.0])]
    groups = [rng.choice(3, 500, p=tables[0]), rng.integers(0, 4, 300), np.zeros(10, dtype=int)]
    data = encode_tables(groups, tables)
    back = decode_tables(data, [500, 300, 10], tables)
    assert all(np.array_equal(a, b) for a, b in zip(back, groups, strict=True))
    ideal = sum(-np.log2(t[g]).sum() for g, t in zip(groups, tables, strict=True))
    assert 0 <= 8 * len(data) - ideal <= 16 * 8


def test_coder_refuses_bad_input():
    table = np.array([0.5, 2.0])
    with pytest.raises(InputError, match="one per symbol"):
        encode_gaussian(np.zeros(3, dtype=np.int32), np.zeros(2, dtype=int), table)
    with pytest.raises(InputError, match="clamp"):
        encode_gaussian(np.array([65]), np.array([0]), table)  # the alphabet of scale 0.5 is +-64
    with pytest.raises(InputError, match="outside its table"):
        encode_tables([np.array([3])], [np.array([0.5, 0.5])])
    with pytest.raises(InputError, match="32-bit words"):
        decode_gaussian(b"abc", np.zeros(2, dtype=int), table)


def _fit(model: FactorizedDensity, y: torch.Tensor, steps: int = 300) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.train()
    for _ in range(steps):
        _, lik = model(y)
        loss = total_bits(lik) / y.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_factorized_density_learns_a_gaussian_to_its_entropy():
    torch.manual_seed(0)
    sigma = torch.tensor([1.5, 6.0]).view(1, 2, 1, 1)
    y = torch.randn(4, 2, 64, 64) * sigma
    model = FactorizedDensity(2)
    _fit(model, y)
    model.update()
    _, lik = model.eval()(y)
    got = (-lik.log2()).mean(dim=(0, 2, 3))
    k = np.arange(-200, 201)
    pmfs = [norm.cdf(k + 0.5, 0, s) - norm.cdf(k - 0.5, 0, s) for s in (1.5, 6.0)]
    truth = [-(p[p > 0] * np.log2(p[p > 0])).sum() for p in pmfs]
    np.testing.assert_allclose(
        got.detach().numpy(), truth, rtol=0.02
    )  # within 2 % of the entropy of round(Y)


@pytest.fixture(scope="module")
def fitted_density() -> tuple[FactorizedDensity, torch.Tensor]:
    torch.manual_seed(1)
    sigma = torch.linspace(0.3, 6.0, 8).view(1, 8, 1, 1)  # from nearly-constant to wide channels
    y = torch.randn(2, 8, 32, 32) * sigma + torch.linspace(-2, 2, 8).view(1, 8, 1, 1)
    model = FactorizedDensity(8)
    _fit(model, y, steps=200)
    model.update()
    return model.eval(), y


def test_factorized_round_trip_equals_eval_forward_bit_for_bit(fitted_density):
    model, y = fitted_density
    far = y.clone()
    far[0, 0, 0, 0] = 1e4  # beyond the table: eval clamps, the coder codes the clamped value
    y_hat, _ = model(far)
    back = model.decompress(model.compress(far), (32, 32))
    assert torch.equal(back, y_hat)
    assert y_hat[0, 0, 0, 0] == model._offset[0] + model._length[0] - 1


def test_update_survives_a_state_dict_round_trip(fitted_density):
    model, y = fitted_density
    other = FactorizedDensity(8)
    other.load_state_dict(model.state_dict())
    other.eval()
    assert torch.equal(other(y)[1], model(y)[1])
    assert model.compress(y) == other.compress(y)


def test_coding_before_update_is_refused():
    with pytest.raises(InputError, match="update"):
        FactorizedDensity(2).compress(torch.zeros(1, 2, 2, 2))
    with pytest.raises(InputError, match="expected"):
        FactorizedDensity(2)(torch.zeros(1, 3, 2, 2))


def test_gaussian_conditional_round_trip_is_bit_exact_with_fractional_means():
    g = torch.Generator().manual_seed(2)
    mean = torch.randn(3, 4, 16, 16, generator=g) * 5
    scale = torch.rand(3, 4, 16, 16, generator=g) * 10
    y = mean + scale * torch.randn(3, 4, 16, 16, generator=g)
    model = GaussianConditional().eval()
    y_hat, _ = model(y, mean, scale)
    assert torch.equal(model.decompress(model.compress(y, mean, scale), mean, scale), y_hat)
    assert not torch.equal(y_hat, torch.round(y_hat))  # the means are fractional: y_hat = k + mu


def _frame_latents(seed: int, size: int) -> dict[str, torch.Tensor]:
    """Latents shaped and scaled like a trained codec's for a ``size`` x ``size`` frame
    (16x downsampling; channels from well-used to nearly idle, the pattern of trained models)."""
    g = torch.Generator().manual_seed(seed)
    h = size // 16
    scales = torch.exp(torch.linspace(np.log(0.15), np.log(12.0), 96)).view(1, 96, 1, 1)
    return {"y": torch.randn(1, 96, h, h, generator=g) * scales, "scale": scales.expand(1, 96, h, h)}


@pytest.mark.parametrize(("size", "tolerance"), [(256, 0.01), (512, 0.005)])
def test_estimated_bits_match_actual_bits_per_frame(size, tolerance):
    """|actual - estimated| / estimated within 1 % at 256x256 and 0.5 % at 512x512, for both model
    families, and at most 16 bytes above the estimate per stream."""
    lat = _frame_latents(0, size)
    gauss = GaussianConditional().eval()
    mean = torch.zeros_like(lat["y"])
    _, lik = gauss(lat["y"], mean, lat["scale"])
    est, (data,) = float(total_bits(lik)), gauss.compress(lat["y"], mean, lat["scale"])
    assert abs(8 * len(data) - est) / est <= tolerance
    assert 8 * len(data) - est <= 16 * 8

    marginal = FactorizedDensity(96, init_scale=4.0)
    _fit(marginal, lat["y"], steps=60)
    marginal.update()
    marginal.eval()
    _, lik = marginal(lat["y"])
    est, (data,) = float(total_bits(lik)), marginal.compress(lat["y"])
    assert abs(8 * len(data) - est) / est <= tolerance
    assert 8 * len(data) - est <= 16 * 8


def test_gaussian_marginal_matches_the_conditional_model_with_constant_parameters():
    y = torch.randn(2, 3, 8, 8) * 4
    m = GaussianMarginal(3, scale=4.0).eval()
    y_hat, lik = m(y)
    ref_hat, ref_lik = GaussianConditional().eval()(y, torch.zeros_like(y), torch.full_like(y, 4.0))
    assert torch.equal(y_hat, ref_hat) and torch.allclose(lik, ref_lik)
    assert torch.equal(m.decompress(m.compress(y), (8, 8)), y_hat)


def test_rate_floor_keeps_the_gradient_that_lifts_a_symbol():
    """-log2 of a likelihood below the coder's floor counts 24 bits, and its gradient still pulls
    the likelihood up (a plain clamp would leave it at zero and the symbol stuck)."""
    from infomm.functional.rate import LIKELIHOOD_MIN, bits

    p = torch.tensor([1e-12, 0.5], requires_grad=True)
    b = bits(p)
    assert b[0].item() == pytest.approx(24.0) and b[1].item() == pytest.approx(1.0)
    b.sum().backward()
    assert p.grad is not None and p.grad[0] < 0 and p.grad[1] == pytest.approx(-1 / (0.5 * np.log(2)))
    assert LIKELIHOOD_MIN == 2.0**-24


def test_non_finite_latents_are_refused_with_a_reason():
    y = torch.zeros(1, 2, 4, 4)
    y[0, 1, 2, 2] = float("nan")
    for model in (GaussianMarginal(2), FactorizedDensity(2)):
        model.eval()
        model.update()
        with pytest.raises(InputError, match="NaN or inf"):
            model.compress(y)
