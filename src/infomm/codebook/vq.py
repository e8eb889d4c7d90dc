"""A vector-quantization codebook shared by several modalities, with multimodal EMA (MM-EMA).

Every modality's semantic features are quantized against one codebook; time-paired rows of the
modalities (row i of every modality is the same clip and step) pull their codes toward each
other. The arithmetic lives in :mod:`infomm.functional.quantization`; this module keeps the state.

References:
    van den Oord et al. (2017), "Neural Discrete Representation Learning", NeurIPS: Eq. 3
    (straight-through, commitment), App. A.1 (EMA updates).
    Xia et al. (2023), "Achieving Cross Modal Generalization with Multimodal Unified
    Representation", NeurIPS: Sec. 3.3 (MM-EMA, cross-modal commitment, Eq. 6-7).

Example:
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> vq = MultimodalVQ(["a", "b"], n_codes=8, dim=4)
    >>> z = torch.randn(32, 4)
    >>> out = vq({"a": z, "b": z + 0.01 * torch.randn(32, 4)})
    >>> out.quantized["a"].shape, float(out.agreement)  # near-identical partners share codes
    (torch.Size([32, 4]), 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from infomm.functional.quantization import commitment, mm_ema_step, nearest_code, perplexity, straight_through
from infomm.interface import InputError


@dataclass
class VQOutput:
    """What :class:`MultimodalVQ` returns for a batch.

    Attributes:
        quantized: modality -> code vectors with the straight-through gradient into the features.
        indices: modality -> code index per row (int64).
        loss: commitment (own + cross) summed over modalities (scalar; 0 in eval mode).
        perplexity: effective number of codes over all modalities' assignments in the batch.
        agreement: fraction of rows whose codes agree across all modalities.
    """

    quantized: dict[str, Tensor]
    indices: dict[str, Tensor]
    loss: Tensor
    perplexity: Tensor
    agreement: Tensor


class MultimodalVQ(nn.Module):
    """Shared codebook with MM-EMA updates, cross commitment and dead-code reset.

    In training mode each call (1) assigns every modality's rows to their nearest codes with the
    current codebook, (2) updates the codebook by :func:`mm_ema_step` once per modality, in the
    order of ``modalities`` (each code moves toward a blend of the vectors that chose it,
    ``own_share``, and their time-paired partners' vectors, the rest shared among the partners),
    (3) counts for every code the updates since any modality last chose it and re-seeds codes idle
    for more than ``dead_after`` updates on random rows of the batch (plus small noise). The
    codebook is initialised from random rows of the first training batch (all modalities pooled).

    Args:
        modalities: names, in update order (2 or more; 1 works as a plain VQ-VAE codebook).
        n_codes, dim: codebook size K and code dimension D.
        decay, eps: EMA decay and Laplace smoothing.
        commitment_cost: beta of the commitment loss (0.25 as in VQ-VAE and CMG).
        cross: ``True``: MM-EMA with partners and cross commitment (CMG); ``False``: every modality
            updates and commits to its own codes only (the no-alignment baseline).
        own_share: weight of the assigning modality's vectors in MM-EMA (CMG: 0.5).
        dead_after: idle updates after which a code is re-seeded (0 = never).
    """

    codebook: Tensor
    ema_count: Tensor
    ema_weight: Tensor
    idle: Tensor
    initialised: Tensor
    resets: Tensor

    def __init__(
        self,
        modalities: Sequence[str],
        n_codes: int = 64,
        dim: int = 32,
        *,
        decay: float = 0.99,
        eps: float = 1e-5,
        commitment_cost: float = 0.25,
        cross: bool = True,
        own_share: float = 0.5,
        dead_after: int = 300,
    ) -> None:
        super().__init__()
        if len(modalities) < 1 or len(set(modalities)) != len(modalities):
            raise InputError(f"modalities={list(modalities)!r}; pass distinct modality names.")
        if n_codes < 2 or dim < 1:
            raise InputError(f"n_codes={n_codes}, dim={dim}; a codebook needs n_codes >= 2 and dim >= 1.")
        if not 0.0 < decay < 1.0:
            raise InputError(f"decay={decay!r} must be in (0, 1).")
        if not 0.0 < own_share <= 1.0:
            raise InputError(f"own_share={own_share!r} must be in (0, 1].")
        self.modalities = list(modalities)
        self.n_codes, self.dim = int(n_codes), int(dim)
        self.decay, self.eps, self.cost = float(decay), float(eps), float(commitment_cost)
        self.cross, self.own_share, self.dead_after = bool(cross), float(own_share), int(dead_after)
        self.register_buffer("codebook", torch.zeros(n_codes, dim))
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_weight", torch.zeros(n_codes, dim))
        self.register_buffer("idle", torch.zeros(n_codes, dtype=torch.long))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self.register_buffer("resets", torch.zeros((), dtype=torch.long))

    def _check(self, features: Mapping[str, Tensor]) -> int:
        missing = [m for m in self.modalities if m not in features]
        if missing:
            raise InputError(
                f"features lacks modalities {missing}; the codebook was built for {self.modalities}."
            )
        n = None
        for m in self.modalities:
            x = features[m]
            if x.ndim != 2 or x.shape[1] != self.dim:
                raise InputError(f"features[{m!r}] has shape {tuple(x.shape)}; it must be (n, {self.dim}).")
            if n is not None and x.shape[0] != n:
                raise InputError(
                    f"features[{m!r}] has {x.shape[0]} rows, the others {n}; rows must be time-paired."
                )
            n = x.shape[0]
        assert n is not None
        return n

    @torch.no_grad()
    def _initialise(self, pooled: Tensor) -> None:
        g = torch.Generator(device="cpu").manual_seed(0)
        rows = torch.randint(pooled.shape[0], (self.n_codes,), generator=g).to(pooled.device)
        noise = 0.01 * torch.randn(self.n_codes, self.dim, generator=g).to(pooled.device)
        self.codebook.copy_(pooled[rows] + noise)
        self.ema_count.fill_(1.0)
        self.ema_weight.copy_(self.codebook)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, features: Mapping[str, Tensor], indices: Mapping[str, Tensor]) -> None:
        used = torch.zeros(self.n_codes, dtype=torch.bool, device=self.codebook.device)
        for m in self.modalities:
            onehot = torch.nn.functional.one_hot(indices[m], self.n_codes).to(features[m].dtype)
            partners = [features[p].detach() for p in self.modalities if p != m] if self.cross else []
            count, weight, book = mm_ema_step(
                self.ema_count,
                self.ema_weight,
                onehot,
                features[m].detach(),
                partners,
                decay=self.decay,
                eps=self.eps,
                own_share=self.own_share,
            )
            self.ema_count.copy_(count)
            self.ema_weight.copy_(weight)
            self.codebook.copy_(book)
            used |= onehot.sum(0) > 0
        self.idle.add_(1).masked_fill_(used, 0)
        if self.dead_after > 0:
            self.reset_dead(torch.cat([features[m].detach() for m in self.modalities]))

    @torch.no_grad()
    def reset_dead(self, pool: Tensor) -> int:
        """Re-seed every code idle for more than ``dead_after`` updates on a random row of ``pool``
        (plus noise of 1% of the rows' scale); returns how many were reset."""
        dead = torch.nonzero(self.idle > self.dead_after).reshape(-1)
        if dead.numel() == 0:
            return 0
        rows = torch.randint(pool.shape[0], (dead.numel(),), device=pool.device)
        fresh = pool[rows] + 0.01 * pool.std() * torch.randn(dead.numel(), self.dim, device=pool.device)
        self.codebook[dead] = fresh
        self.ema_count[dead] = 1.0
        self.ema_weight[dead] = fresh
        self.idle[dead] = 0
        self.resets.add_(dead.numel())
        return int(dead.numel())

    def encode(self, x: Tensor) -> Tensor:
        """Code index of every row of ``x`` (n, D) with the current codebook."""
        return nearest_code(x, self.codebook)

    def forward(self, features: Mapping[str, Tensor]) -> VQOutput:
        """Quantize time-paired ``features`` (modality -> (n, D)); update the codebook in training mode."""
        self._check(features)
        if self.training and not bool(self.initialised):
            self._initialise(torch.cat([features[m].detach() for m in self.modalities]))
        indices = {m: nearest_code(features[m].detach(), self.codebook) for m in self.modalities}
        codes = {m: self.codebook[i].detach() for m, i in indices.items()}
        loss = torch.zeros((), device=self.codebook.device)
        if self.training:
            for m in self.modalities:
                partner_codes = [codes[p] for p in self.modalities if p != m] if self.cross else []
                loss = loss + commitment(features[m], codes[m], partner_codes, self.cost)
            self._update(features, indices)
        stacked = torch.stack([indices[m] for m in self.modalities])
        agreement = (stacked == stacked[0]).all(0).float().mean()
        return VQOutput(
            {m: straight_through(features[m], codes[m]) for m in self.modalities},
            indices,
            loss,
            perplexity(stacked, self.n_codes),
            agreement,
        )
