"""OGM-GE: on-the-fly gradient modulation with generalization enhancement.

Peng, Wei, Deng, Wang & Hu, 2022, "Balanced Multimodal Learning via On-the-fly Gradient
Modulation", CVPR; Eq. 6-10 and the official code (github.com/GeWu-Lab/OGM-GE_CVPR2022,
``main.py``). Per batch, with ``z^m`` the modality's logits (by default its additive share
``W_m f_m + b / M`` of the linear fusion layer, as in the official code):

    s^m   = sum_i softmax(z^m)_i[y_i]                                        (Eq. 6-7)
    rho^m = s^m / mean_{m' != m} s^m'           (two modalities: s^a / s^v, Eq. 8-9)
    k^m   = 1 - tanh(alpha * rho^m)  if rho^m > 1  else 1                    (Eq. 10)
            [smooth=True: 1 - tanh(alpha * (rho^m - 1)), continuous at rho = 1]

and after backward every gradient ``g`` of modality ``m``'s encoder becomes
``k^m g + N(0, (std(g) + 1e-8)^2)`` (GE; ``ge=False``: ``k^m g`` only). As in the official code
the noise is added to every modality (also where ``k = 1``). Differences from the official
code: all encoder parameters are modulated (it touches only 4-D convolution weights, which
would skip an MLP encoder entirely), the window is ``start_epoch <= epoch < end_epoch``
(``end_epoch=None`` runs to the end; the official default stops at epoch 50 of 100), at a tie
``rho = 1`` both ``k = 1`` as in Eq. 10 (the official else-branch damps audio there), and the
noise comes from a generator owned by the method (``seed``).

Example:
    >>> k, rho = ogm_coefficients({"audio": 30.0, "video": 10.0}, alpha=0.1)
    >>> round(rho["audio"], 4), round(k["audio"], 4), k["video"]
    (3.0, 0.7087, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from infomm.balancing.base import BALANCERS, Balancer
from infomm.interface import InputError, MultimodalOutput

SCORE_SOURCES = ("partial", "heads")


def ogm_scores(logits: Mapping[str, Tensor], y: Tensor) -> dict[str, float]:
    """``s^m``: the summed softmax probability of the true class under each modality's logits."""
    names = list(logits)
    with torch.no_grad():  # one stacked pass (M, n, C) and one host transfer: it runs every step
        z = torch.stack([logits[m] for m in names]).double()
        idx = y.long().view(1, -1, 1).expand(len(names), -1, 1)
        s = torch.softmax(z, -1).gather(2, idx).sum((1, 2)).tolist()
    return dict(zip(names, s, strict=True))


def ogm_coefficients(
    scores: Mapping[str, float], alpha: float = 0.1, smooth: bool = False
) -> tuple[dict[str, float], dict[str, float]]:
    """``(k, rho)`` per modality from the scores (>= 2 modalities), Eq. 8-10."""
    if len(scores) < 2:
        raise InputError(f"OGM-GE compares modalities: need >= 2 scores, got {sorted(scores)}.")
    k, rho = {}, {}
    for m, s in scores.items():
        others = [v for n, v in scores.items() if n != m]
        ref = sum(others) / len(others)
        r = s / ref if ref > 0 else (math.inf if s > 0 else 1.0)
        rho[m] = r
        k[m] = 1.0 - math.tanh(alpha * ((r - 1.0) if smooth else r)) if r > 1 else 1.0
    return k, rho


class OGMGE(Balancer):
    """On-the-fly gradient modulation (+ Gaussian noise, GE) of the dominant modality's encoder.

    Args:
        alpha: modulation strength (>= 0; official default 0.1 for CREMA-D).
        ge: add the generalization-enhancement noise (``False``: plain OGM).
        smooth: use ``1 - tanh(alpha (rho - 1))`` (continuous at ``rho = 1``).
        score_from: ``"partial"`` (the modality's share of the fused linear logits, official) or
            ``"heads"`` (its own head's logits).
        seed: seed of the method's noise generator.
        start_epoch, end_epoch: modulation window ``[start_epoch, end_epoch)``.

    :meth:`coefficients` gives ``k/<m>`` (the applied coefficient: 1.0 outside the window) and
    ``rho/<m>`` (always computed) of the last batch.
    """

    name = "ogm-ge"

    def __init__(
        self,
        alpha: float = 0.1,
        ge: bool = True,
        smooth: bool = False,
        score_from: str = "partial",
        seed: int = 0,
        start_epoch: int = 0,
        end_epoch: int | None = None,
    ) -> None:
        super().__init__(start_epoch, end_epoch)
        if not alpha >= 0:
            raise InputError(f"alpha={alpha}: the modulation strength must be >= 0 (official default 0.1).")
        if score_from not in SCORE_SOURCES:
            raise InputError(f"score_from={score_from!r}: choose one of {', '.join(SCORE_SOURCES)}.")
        self.alpha, self.ge, self.smooth, self.score_from = float(alpha), bool(ge), bool(smooth), score_from
        self.seed = int(seed)
        self._generators: dict[torch.device, torch.Generator] = {}
        # (device, dtype) -> (shapes, flat noise buffer, its per-tensor views, 1 / sqrt(n - 1)): _noise
        self._buffers: dict[tuple[torch.device, torch.dtype], tuple[Any, Tensor, list[Tensor], Tensor]] = {}

    def state_dict(self) -> dict[str, Any]:
        """The noise generators' states, so a resumed run draws the same noise."""
        return {str(d): g.get_state() for d, g in self._generators.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for dev, st in state.items():
            self._generator(torch.device(dev)).set_state(st)

    def _generator(self, device: torch.device) -> torch.Generator:
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def after_backward(self, out: MultimodalOutput, y: Tensor, epoch: int) -> None:
        """Scale (and perturb) each encoder's gradients by its modality's ``k``."""
        if not self.parameters:
            raise InputError(
                "OGM-GE has no encoder parameters: call setup(model.modality_parameters()) first."
            )
        source = out.partial_logits if self.score_from == "partial" else out.unimodal_logits
        missing = [m for m in self.parameters if m not in source]
        if missing:
            fix = " (non-linear fusion: use score_from='heads')" if self.score_from == "partial" else ""
            raise InputError(f"score_from={self.score_from!r}: the output lacks logits for {missing}{fix}.")
        k, rho = ogm_coefficients(
            ogm_scores({m: source[m] for m in self.parameters}, y), self.alpha, self.smooth
        )
        active = self.active(epoch)
        self._coefficients = {}
        grads: list[Tensor] = []
        coefs: list[float] = []
        for m, params in self.parameters.items():
            coef = k[m] if active else 1.0
            self._coefficients.update({f"k/{m}": coef, f"rho/{m}": rho[m]})
            if active:
                found = [p.grad for p in params if p.grad is not None]
                grads += found
                coefs += [coef] * len(found)
        if not grads:
            return
        # all tensors at once (foreach ops: one call each instead of a Python loop over parameters)
        groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for i, g in enumerate(grads):
            groups.setdefault((g.device, g.dtype), []).append(i)
        for (device, _), idx in groups.items():
            gs = [grads[i] for i in idx]
            # the noise uses the unscaled gradient's std (official code), so it is drawn before k g
            noise = self._noise(gs, device) if self.ge else None
            scaled = [i for i in idx if coefs[i] != 1.0]  # k = 1: g * 1 is g, skip the pass
            if scaled:
                torch._foreach_mul_([grads[i] for i in scaled], [coefs[i] for i in scaled])
            if noise is not None:  # g <- k g + std(g) * eps, eps ~ N(0, 1)
                torch._foreach_addcmul_(gs, *noise)

    def _noise(self, grads: list[Tensor], device: torch.device) -> tuple[list[Tensor], list[Tensor]]:
        """``(eps, std)``: fresh ``eps ~ N(0, 1)`` shaped like each ``g``, and ``std(g) + 1e-8`` (0-dim).

        ``std`` is the sample std (``torch.std``'s default, Bessel-corrected; 1e-8 alone for a
        single element), computed in two passes as ``||g - mean(g)|| / sqrt(n - 1)``. The noise of
        all tensors is one ``normal_`` over a flat buffer kept between steps (its memory, never its
        values, is reused: every step draws all of it anew).
        """
        key, shapes = (device, grads[0].dtype), tuple(g.shape for g in grads)
        cache = self._buffers.get(key)
        if cache is None or cache[0] != shapes:
            numels = [g.numel() for g in grads]
            flat = torch.empty(sum(numels), device=device, dtype=grads[0].dtype)
            views = [v.view(s) for v, s in zip(flat.split(numels), shapes, strict=True)]
            scale = torch.tensor(
                [(n - 1) ** -0.5 if n > 1 else 0.0 for n in numels], device=device, dtype=flat.dtype
            )
            cache = self._buffers[key] = (shapes, flat, views, scale)
        _, flat, views, scale = cache
        torch._foreach_copy_(views, grads)
        torch._foreach_sub_(views, [g.mean() for g in grads])
        std = torch.stack(torch._foreach_norm(views)).mul_(scale).add_(1e-8)
        flat.normal_(generator=self._generator(device))
        return views, list(std.unbind())


BALANCERS.register(
    "ogm-ge",
    OGMGE,
    summary="on-the-fly gradient modulation + Gaussian noise (Peng et al., CVPR 2022)",
)
