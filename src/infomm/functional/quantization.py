"""Vector quantization with a shared codebook, as pure tensor functions.

The codebook part (:mod:`infomm.codebook`) keeps the state (codebook, EMA counts, idle counters)
and calls these. Shapes: features ``(n, D)``, codebook ``(K, D)``, one-hot assignments ``(n, K)``.

References:
    van den Oord, Vinyals, Kavukcuoglu (2017), "Neural Discrete Representation Learning"
    (VQ-VAE), NeurIPS: Eq. 3 (straight-through estimator, commitment term), Appendix A.1
    (EMA codebook updates, Eq. 6-8, with Laplace-smoothed counts as in its reference code).
    Xia, Huang, Xu, Zhou, Zhang, Chen, Zheng (2023), "Achieving Cross Modal Generalization with
    Multimodal Unified Representation", NeurIPS: Sec. 3.3 (multimodal EMA: a code moves toward
    a blend of the assigning modality's vector and its time-paired partner's vector; cross-modal
    commitment, Eq. 6-7).
    Huang, Xia, Ji, Wang, Wang, Fang, Zhu, Dong, Zhou, Zhao (2024), "Unlocking the Potential of
    Multimodal Unified Discrete Representation through Training-Free Codebook Optimization and
    Hierarchical Alignment" (arXiv 2403.05168 v1; v3: "Enhancing Multimodal Unified
    Representations for Cross Modal Generalization", ACL Findings 2025), Sec. 3 "TOC": a channel
    score from the codes' variance and mean pairwise product (0.3 / -0.7).

Example:
    >>> import torch
    >>> codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    >>> nearest_code(torch.tensor([[0.1, -0.2], [0.9, 1.2]]), codebook).tolist()
    [0, 1]
    >>> toc_scores(torch.tensor([[1.0, 5.0], [-1.0, 5.0]])).tolist()  # channel 1 is constant
    [1.0, -17.5]
"""

from __future__ import annotations

import torch
from torch import Tensor


def nearest_code(x: Tensor, codebook: Tensor) -> Tensor:
    """Index of the nearest code (squared Euclidean distance) for every row of ``x``: (n,) int64."""
    d = (x * x).sum(1, keepdim=True) - 2.0 * x @ codebook.t() + (codebook * codebook).sum(1)[None, :]
    return d.argmin(dim=1)


def straight_through(x: Tensor, quantized: Tensor) -> Tensor:
    """``x + sg(quantized - x)``: the value of ``quantized`` with the identity gradient into ``x``
    (VQ-VAE Eq. 3's straight-through estimator)."""
    return x + (quantized - x).detach()


def laplace_smoothed(count: Tensor, eps: float) -> Tensor:
    """EMA cluster sizes with Laplace smoothing: ``(N_k + eps) / (N + K eps) * N`` (no code ever has
    size 0, so the code vectors ``m_k / N_k`` stay finite; the total N is unchanged)."""
    n = count.sum()
    return (count + eps) / (n + count.numel() * eps) * n


def mm_ema_step(
    count: Tensor,
    weight: Tensor,
    onehot: Tensor,
    own: Tensor,
    partners: list[Tensor],
    *,
    decay: float = 0.99,
    eps: float = 1e-5,
    own_share: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """One multimodal EMA update for the assignments of one modality (CMG, Sec. 3.3).

    With ``onehot`` (n, K) the assignments of modality m's vectors ``own`` (n, D), and
    ``partners`` the time-paired vectors of the other modalities (same rows):

        N_k <- decay N_k + (1 - decay) sum_i onehot_ik                 (then Laplace-smoothed)
        m_k <- decay m_k + (1 - decay) [own_share sum_i onehot_ik own_i
                                        + (1 - own_share) / P sum_p sum_i onehot_ik partner_p,i]
        e_k  = m_k / N_k

    so a code moves toward a blend of the vectors that chose it and their partners (P partners;
    the official code uses 0.5 / 0.5 for two modalities and 0.5 / 0.25 / 0.25 for three). With
    ``partners=[]`` (or ``own_share=1``) this is the plain VQ-VAE EMA update (Eq. 6-8).

    Returns:
        ``(count, weight, codebook)``: new EMA counts (K,), sums (K, D) and code vectors (K, D).
    """
    count = decay * count + (1.0 - decay) * onehot.sum(0)
    count = laplace_smoothed(count, eps)
    share = own_share if partners else 1.0
    dw = share * (onehot.t() @ own)
    for p in partners:
        dw = dw + (1.0 - share) / len(partners) * (onehot.t() @ p)
    weight = decay * weight + (1.0 - decay) * dw
    return count, weight, weight / count[:, None]


def commitment(x: Tensor, own_code: Tensor, partner_codes: list[Tensor], cost: float = 0.25) -> Tensor:
    """Commitment of features to their own code plus cross commitment to the partners' codes (CMG Eq. 7):

    ``cost * (2 * ||x - sg(q_own)||^2 + mean_p ||x - sg(q_p)||^2)`` (mean squared error per element),
    i.e. the official code's ``2 cc * mse(x, q_a) + cc * mse(x, q_v)``; no partners: ``2 cc * mse``.
    """
    loss = 2.0 * torch.mean((x - own_code.detach()) ** 2)
    if partner_codes:
        loss = loss + sum(torch.mean((x - q.detach()) ** 2) for q in partner_codes) / len(partner_codes)
    return cost * loss


def perplexity(indices: Tensor, n_codes: int) -> Tensor:
    """exp(entropy of the code-usage histogram): the effective number of codes in use."""
    p = torch.bincount(indices.reshape(-1), minlength=n_codes).double()
    p = p / p.sum()
    nz = p[p > 0]
    return torch.exp(-(nz * nz.log()).sum())


def toc_scores(codebook: Tensor, var_weight: float = 0.3, product_weight: float = 0.7) -> Tensor:
    """Training-free codebook optimisation (TOC) score per channel (Huang et al., arXiv 2403.05168).

    For channel c with values e_1c ... e_Kc over the K codes:
    ``score_c = 0.3 * Var_k(e_kc) - 0.7 * mean_{i != j} e_ic e_jc``. Closed form of the pairwise
    mean: ``((sum_k e_kc)^2 - sum_k e_kc^2) / (K (K - 1))``. A high score marks a channel that
    separates codes (spread out, not a shared offset); keep the top channels.
    Variance is the population variance (divide by K).
    """
    k = codebook.shape[0]
    if k < 2:
        raise ValueError(f"codebook has {k} code(s); TOC needs at least 2.")
    s = codebook.sum(0)
    sq = (codebook * codebook).sum(0)
    pairwise = (s * s - sq) / (k * (k - 1))
    return var_weight * codebook.var(0, unbiased=False) - product_weight * pairwise


def toc_scores_pairwise(codebook: Tensor, var_weight: float = 0.3, product_weight: float = 0.7) -> Tensor:
    """:func:`toc_scores` from its definition (an explicit loop over code pairs; for tests, O(K^2 D))."""
    k = codebook.shape[0]
    total = torch.zeros(codebook.shape[1], dtype=codebook.dtype)
    for i in range(k):
        for j in range(k):
            if i != j:
                total = total + codebook[i] * codebook[j]
    return var_weight * codebook.var(0, unbiased=False) - product_weight * total / (k * (k - 1))
