"""The codebook's arithmetic without training: MM-EMA, straight-through, commitment, dead codes, TOC."""

from __future__ import annotations

import pytest
import torch

from infomm.codebook import MultimodalVQ, toc_channels
from infomm.functional.quantization import (
    commitment,
    laplace_smoothed,
    mm_ema_step,
    nearest_code,
    perplexity,
    straight_through,
    toc_scores,
    toc_scores_pairwise,
)
from infomm.interface import InputError

torch.set_num_threads(1)


def test_mm_ema_step_matches_a_hand_computation():
    # 3 codes in 2-d; modality a's rows chose codes 0, 0, 2; partner b's rows are their time pairs
    count = torch.tensor([2.0, 1.0, 1.0])
    weight = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    own = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    partner = torch.tensor([[0.0, 2.0], [1.0, 0.0], [2.0, 0.0]])
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 0, 2]), 3).float()
    c, w, book = mm_ema_step(count, weight, onehot, own, [partner], decay=0.9, eps=0.0, own_share=0.5)
    # N: 0.9 * [2, 1, 1] + 0.1 * [2, 0, 1] = [2.0, 0.9, 1.0]
    assert torch.allclose(c, torch.tensor([2.0, 0.9, 1.0]))
    # code 0: blend 0.5 * (own 1+3, 0) + 0.5 * (partner 0+1, 2) = (2.5, 1.0); m = 0.9 * (2, 0) + 0.1 * (2.5, 1)
    # code 2: 0.5 * (0, 2) + 0.5 * (2, 0) = (1, 1); m = 0.9 * (1, 1) + 0.1 * (1, 1) = (1, 1)
    expected_w = torch.tensor([[2.05, 0.1], [0.0, 0.9], [1.0, 1.0]])
    assert torch.allclose(w, expected_w)
    assert torch.allclose(book, expected_w / torch.tensor([2.0, 0.9, 1.0])[:, None])


def test_mm_ema_without_partners_is_the_vqvae_update_and_laplace_keeps_the_total():
    count, weight = torch.ones(2), torch.zeros(2, 1)
    onehot = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    own = torch.tensor([[2.0], [4.0]])
    _, w, _ = mm_ema_step(count, weight, onehot, own, [], decay=0.5, eps=0.0)
    assert torch.allclose(w, torch.tensor([[3.0], [0.0]]))  # 0.5 * 0 + 0.5 * (2 + 4)
    raw = torch.tensor([3.0, 0.0, 1.0])
    smooth = laplace_smoothed(raw, 0.1)
    assert torch.isclose(smooth.sum(), raw.sum()) and bool((smooth > 0).all())
    assert torch.allclose(smooth, (raw + 0.1) / (4.0 + 0.3) * 4.0)


def test_straight_through_gradient_is_the_identity():
    x = torch.randn(5, 3, requires_grad=True)
    q = torch.randn(5, 3)
    y = straight_through(x, q)
    assert torch.equal(y, x + (q - x))  # the value is the code
    g = torch.randn(5, 3)
    (y * g).sum().backward()
    assert torch.equal(x.grad, g)


def test_commitment_values():
    x = torch.tensor([[1.0, 1.0]], requires_grad=True)
    qa, qb = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 3.0]])
    # own: mean((1, 0)^2) = 0.5; cross: mean((0, -2)^2) = 2; 0.25 * (2 * 0.5 + 2) = 0.75
    assert float(commitment(x, qa, [qb], 0.25).detach()) == pytest.approx(0.75)
    assert float(commitment(x, qa, [], 0.25).detach()) == pytest.approx(0.25)
    commitment(x, qa, [qb], 0.25).backward()
    # d/dx of 0.25 * (2 * mean((x - qa)^2) + mean((x - qb)^2)) = 0.25 * ((x - qa) * 2 + (x - qb))
    assert torch.allclose(x.grad, torch.tensor([[0.5, -0.5]]))


def test_nearest_code_and_perplexity():
    book = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.tensor([[1.0, 1.0], [9.0, -1.0], [-1.0, 8.0], [0.2, 0.1]])
    assert nearest_code(x, book).tolist() == [0, 1, 2, 0]
    assert float(perplexity(torch.tensor([0, 1, 2, 3]), 8)) == pytest.approx(4.0)
    assert float(perplexity(torch.tensor([5, 5, 5]), 8)) == pytest.approx(1.0)


def test_vq_counts_idle_codes_and_resets_dead_ones():
    torch.manual_seed(0)
    vq = MultimodalVQ(["a", "b"], n_codes=4, dim=2, dead_after=2)
    z = torch.tensor([[5.0, 5.0]] * 8)
    vq({"a": z, "b": z})  # initialises on the batch, then every code sits near (5, 5)
    with torch.no_grad():
        book = torch.tensor([[5.0, 5.0], [-50.0, 0.0], [0.0, -50.0], [50.0, 50.0]])
        vq.codebook.copy_(book)
        vq.ema_weight.copy_(book)  # consistent EMA state: code = weight / count
        vq.ema_count.fill_(1.0)
        vq.idle.zero_()
    for _ in range(2):
        vq({"a": z, "b": z})
    assert vq.idle.tolist() == [0, 2, 2, 2] and int(vq.resets) == 0
    vq({"a": z, "b": z})  # third idle update > dead_after: codes 1-3 are re-seeded near the batch
    assert int(vq.resets) == 3 and vq.idle.tolist() == [0, 0, 0, 0]
    assert torch.allclose(vq.codebook[1:], torch.full((3, 2), 5.0), atol=0.5)


def test_vq_baseline_has_no_cross_terms_and_refuses_bad_input():
    torch.manual_seed(0)
    za, zb = torch.randn(16, 3), torch.randn(16, 3)
    cross = MultimodalVQ(["a", "b"], n_codes=4, dim=3, commitment_cost=1.0)
    plain = MultimodalVQ(["a", "b"], n_codes=4, dim=3, commitment_cost=1.0, cross=False)
    oc, op = cross({"a": za, "b": zb}), plain({"a": za, "b": zb})
    # same initial codebook (fixed generator) and assignments: only the cross term differs
    assert torch.equal(oc.indices["a"], op.indices["a"])
    qa, qb = oc.quantized["a"].detach(), oc.quantized["b"].detach()
    own = 2.0 * (((za - qa) ** 2).mean() + ((zb - qb) ** 2).mean())
    assert float(op.loss) == pytest.approx(float(own), rel=1e-5)
    extra = ((za - qb) ** 2).mean() + ((zb - qa) ** 2).mean()
    assert float(oc.loss) == pytest.approx(float(own + extra), rel=1e-5)
    with pytest.raises(InputError, match="time-paired"):
        cross({"a": za, "b": zb[:8]})
    with pytest.raises(InputError, match="lacks modalities"):
        cross({"a": za})


def test_toc_closed_form_equals_the_pairwise_definition():
    torch.manual_seed(0)
    book = torch.randn(12, 7, dtype=torch.float64) + torch.linspace(-1, 1, 7, dtype=torch.float64)
    assert torch.allclose(toc_scores(book), toc_scores_pairwise(book), atol=1e-12)


def test_toc_drops_planted_constant_channels():
    torch.manual_seed(1)
    book = torch.randn(32, 10)
    book[:, 3] = 2.0  # a constant offset: no variance, large pairwise product
    book[:, 7] = -1.5
    keep = toc_channels(book, 8)
    assert 3 not in keep.tolist() and 7 not in keep.tolist() and keep.numel() == 8
    with pytest.raises(InputError, match="keep"):
        toc_channels(book, 11)


def test_mm_ema_with_two_partners_splits_the_partner_share_evenly():
    # three modalities: own 0.5, each partner 0.25 (the official code's weights)
    onehot = torch.tensor([[1.0, 0.0]])
    own, p1, p2 = torch.tensor([[4.0]]), torch.tensor([[8.0]]), torch.tensor([[0.0]])
    _, w, _ = mm_ema_step(torch.ones(2), torch.zeros(2, 1), onehot, own, [p1, p2], decay=0.0, eps=0.0)
    assert torch.allclose(w, torch.tensor([[0.5 * 4.0 + 0.25 * 8.0 + 0.25 * 0.0], [0.0]]))
