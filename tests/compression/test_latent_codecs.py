"""Shared/private latent codecs, the file format and operational MI, without training a codec."""

from __future__ import annotations

import math

import pytest
import torch

from infomm.compression import (
    ConditionalLatentCodec,
    FactorizedDensity,
    SeparateLatentCodec,
    gaussian_toy_latents,
    operational_mi,
    pack,
    unpack,
    weights_hash,
)
from infomm.compression.latent_codecs import ChainedDensity
from infomm.interface import CompressedLatents, InputError

PRIVATE = {"depth": 3, "rgb": 5}


def _latents(batch: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, 4, 8, 8, generator=g) * 4
    return {
        "shared": s,
        "depth": s[:, :3] * 0.8 + torch.randn(batch, 3, 8, 8, generator=g),
        "rgb": torch.randn(batch, 5, 8, 8, generator=g) * 2 - s[:, 1:2],
    }


@pytest.fixture(scope="module")
def codecs() -> tuple[ConditionalLatentCodec, SeparateLatentCodec]:
    torch.manual_seed(0)
    joint, separate = ConditionalLatentCodec(4, PRIVATE, context_channels=2), SeparateLatentCodec(4, PRIVATE)
    for c in (joint, separate):
        c.update()
        c.eval()
    return joint, separate


def test_decoded_latents_equal_the_eval_forward_bit_for_bit(codecs):
    """Every latent of both codecs; the private models' parameters come from s_hat (and a context),
    computed per item, so a batch of 3 decodes to exactly the batched forward's values."""
    joint, separate = codecs
    lat, ctx = _latents(), torch.randn(3, 2, 8, 8)
    for codec, context in ((joint, ctx), (separate, None)):
        out = codec(lat, context=context)
        back = codec.decompress(codec.compress(lat, context=context), context=context)
        for k in lat:
            assert torch.equal(back[k], out.y_hat[k]), k
    fractional = out.y_hat  # the separate codec's are integers; the joint codec's are k + mean
    assert torch.equal(fractional["depth"], fractional["depth"].round())
    assert not torch.equal(
        joint(lat, context=ctx).y_hat["depth"], joint(lat, context=ctx).y_hat["depth"].round()
    )


def test_the_decoder_rebuilds_the_entropy_parameters_exactly(codecs):
    """The means and scale levels the decoder computes from the decoded shared latent equal the
    encoder's, item by item, whatever the batch they were computed in."""
    joint, _ = codecs
    lat, ctx = _latents(batch=4), torch.randn(4, 2, 8, 8)
    s_hat = joint.decompress(joint.compress(lat, context=ctx), context=ctx)["shared"]
    with torch.no_grad():
        mean_all, scale_all = joint.params("rgb", s_hat, ctx)
        mean_one, scale_one = joint.params("rgb", s_hat[2:3], ctx[2:3])
    assert torch.equal(mean_all[2:3], mean_one)
    levels = joint.gaussians["rgb"].levels
    assert torch.equal(levels(scale_all[2:3]), levels(scale_one))


def test_estimated_rate_is_the_chain_rule_sum(codecs):
    joint, _ = codecs
    lat, ctx = _latents(), torch.randn(3, 2, 8, 8)
    with torch.no_grad():
        out = joint(lat, context=ctx)
    bits = out.bits()
    total = sum(float(v.sum()) for v in bits.values())
    by_hand = sum(float(-(lik.clamp_min(2.0**-24).log2()).sum()) for lik in out.likelihoods.values())
    assert math.isclose(total, by_hand, rel_tol=1e-6)
    actual = sum(sum(v) for v in joint.compress(lat, context=ctx).nbytes().values()) * 8
    assert abs(actual - total) <= 3 * 3 * 16 * 8  # within 16 bytes per stream (3 items x 3 latents)


def test_codecs_refuse_bad_latents(codecs):
    joint, _ = codecs
    lat = _latents()
    with pytest.raises(InputError, match="missing"):
        joint({"shared": lat["shared"], "depth": lat["depth"]}, context=torch.zeros(3, 2, 8, 8))
    bad = dict(lat, rgb=lat["rgb"][:, :, :4])
    with pytest.raises(InputError, match=r"latents\['rgb'\]"):
        joint(bad, context=torch.zeros(3, 2, 8, 8))
    with pytest.raises(InputError, match="context"):
        joint(lat)
    with pytest.raises(InputError, match="missing"):
        joint.decompress(CompressedLatents(strings={"shared": [b""]}, shape=(8, 8)))
    with pytest.raises(InputError, match="rename"):
        SeparateLatentCodec(2, {"shared": 1})


def test_file_format_round_trip_and_refusals():
    model = FactorizedDensity(2)
    h = weights_hash(model)
    data = pack("toy", h, (1, 256, 256), [b"\x01\x02\x03\x04", b"", b"xyzw" * 3])
    header, streams = unpack(data, model_id="toy", weights=h)
    assert streams == [b"\x01\x02\x03\x04", b"", b"xyzw" * 3]
    assert header.shape == (1, 256, 256) and header.stream_lengths == (4, 0, 12)
    assert len(data) - 16 == 20 + 3 + 2 * 3 + 4 * 3  # the documented fixed cost
    with pytest.raises(InputError, match="truncated"):
        unpack(data[:-3])
    flipped = bytearray(data)
    flipped[30] ^= 0x10
    with pytest.raises(InputError, match="corrupted"):
        unpack(bytes(flipped))
    with pytest.raises(InputError, match="not an infomm"):
        unpack(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(InputError, match="not 'other'"):
        unpack(data, model_id="other")
    with torch.no_grad():
        model.biases[0].add_(1.0)
    with pytest.raises(InputError, match="other weights"):
        unpack(data, model_id="toy", weights=weights_hash(model))


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_operational_mi_matches_the_analytic_value(rho):
    """Actual bits saved by conditional coding of Gaussian toy latents, per element, within 5 % of
    I(s; p) = -1/2 log2(1 - rho^2); the 95 % bootstrap interval is reported around it."""
    toy = gaussian_toy_latents(rho=rho, n_items=32, channels=4, size=32, seed=1)
    result = operational_mi(*toy.codecs(), toy.latents, seed=0)
    truth = toy.mi_bits_per_element
    for name in ("depth", "rgb"):
        assert abs(result.per_element[name] / truth - 1) <= 0.05, (name, result.per_element[name], truth)
        lo, hi = result.interval[name]
        assert lo <= result.per_element[name] <= hi and hi - lo < 0.1 * truth
    for k in ("separate", "conditional"):
        assert abs(result.total_bits[k] / result.estimated_bits[k] - 1) <= 0.01


def test_operational_mi_of_independent_latents_is_zero():
    """The shuffled-pair control: no shared information, no saving (up to the streams' overhead)."""
    toy = gaussian_toy_latents(rho=0.0, n_items=16, seed=3)
    result = operational_mi(*toy.codecs(), toy.latents, seed=0)
    for name in ("depth", "rgb"):
        assert abs(result.per_element[name]) < 0.005
        lo, hi = result.interval[name]
        assert lo <= 0.005 and hi >= -0.005
    assert abs(result.saved_fraction) < 0.002


def test_operational_mi_refuses_a_single_item():
    toy = gaussian_toy_latents(rho=0.5, n_items=1)
    with pytest.raises(InputError, match="at least 2"):
        operational_mi(*toy.codecs(), toy.latents)
    with pytest.raises(InputError, match="rho"):
        gaussian_toy_latents(rho=1.0)


def _chain_toy(n: int, g: torch.Generator) -> torch.Tensor:
    """Two channels y1 ~ N(0, 4^2) and two y2 = y1 + N(0, 0.5^2): y2 is cheap given y1."""
    y1 = 4 * torch.randn(n, 2, 4, 4, generator=g)
    return torch.cat([y1, y1 + 0.5 * torch.randn(n, 2, 4, 4, generator=g)], dim=1)


def test_a_chained_density_codes_the_second_part_at_its_conditional_entropy():
    """Trained on a toy chain, the second part costs about the empirical entropy of
    ``round(y2 - y1_hat)`` (the best mean shift: E[y2 | y1_hat] = y1_hat), far below a factorized
    density's; the one stream decodes, in stages, to the eval forward bit for bit; the mean
    network starts at zero (the chain codes what two factorized densities code)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    chain, alone = ChainedDensity(2, 2), FactorizedDensity(4)
    assert all(torch.count_nonzero(p) == 0 for p in chain.mean[-1].parameters())
    opt = torch.optim.Adam([*chain.parameters(), *alone.parameters()], lr=1e-2)
    for _ in range(400):
        y = _chain_toy(32, g)
        loss = -(torch.log2(chain(y)[1]).sum() + torch.log2(alone(y)[1]).sum()) / y.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
    chain.eval().update()
    alone.eval().update()
    y = _chain_toy(256, g)
    with torch.no_grad():
        y_hat, lik = chain(y)
        bits_alone = float(-torch.log2(alone(y)[1][:, 2:]).mean())
    bits = float(-torch.log2(lik[:, 2:]).mean())
    _, counts = torch.unique(torch.round(y[:, 2:] - torch.round(y[:, :2])), return_counts=True)
    p = counts / counts.sum()
    entropy = float(-(p * torch.log2(p)).sum())  # about 1.4 bits; N(0, 4^2) rounded: about 4.1
    assert 0.97 * entropy <= bits <= 1.15 * entropy and bits_alone > 2.5 * entropy
    strings = chain.compress(y[:4])
    assert torch.equal(chain.decompress(strings, (4, 4)), y_hat[:4])
    for data, item in zip(strings, lik[:4], strict=True):  # the stream is the estimated code length
        assert abs(8 * len(data) - float(-torch.log2(item).sum())) <= 64
    with pytest.raises(
        InputError, match=r"ChainedDensity: latent of shape \(4, 3, 4, 4\); expected \(batch, 4,"
    ):
        chain.compress(y[:4, :3])
