"""MMPareto: multimodal and unimodal gradients combined without conflict.

Wei & Hu (2024), "MMPareto: Boosting Multimodal Learning with Innocent Unimodal Assistance", ICML,
Sec. 4 and Algorithm 1 (official code: GeWu-Lab/MMPareto_ICML2024, ``code/MMPareto.py``). Each
modality m's encoder gets two gradients per batch: ``g_mm`` from the fused loss and ``g_m`` from its
own head's loss (auxiliary unimodal loss). If they agree (cos > 0) both weigh 1/2; if they conflict
the weights are the minimum-norm point of their convex hull (the Pareto-stationary direction of
Desideri's MGDA; closed form for two vectors)::

    alpha* = clip(((g_m - g_mm) . g_m) / ||g_mm - g_m||^2, 0, 1),   weights (alpha*, 1 - alpha*)

and each encoder tensor's gradient becomes ``gamma * s * 2 (a_mm g_mm + a_m g_m)`` with
``s = max(1, ||g_mm + g_m|| / ||2 (a_mm g_mm + a_m g_m)||)`` per tensor: the direction of the
combination with at least the magnitude of the plain sum, as in the official code (gamma = 1.5).

Example:
    >>> import torch
    >>> pareto_weights(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))  # orthogonal: cos = 0 -> MGDA
    (0.5, 0.5)
    >>> pareto_weights(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0]))  # conflicting
    (0.6, 0.4)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as TF
from torch import Tensor

from infomm.balancing.base import BALANCERS, Balancer
from infomm.interface import InputError, MultimodalOutput


def pareto_weights(g_mm: Tensor, g_m: Tensor) -> tuple[float, float]:
    """Weights (a_mm, a_m) of Wei & Hu (2024), Alg. 1: 1/2 each if cos(g_mm, g_m) > 0, else the
    minimum-norm convex combination of the two (flattened) gradients."""
    if float(TF.cosine_similarity(g_mm, g_m, dim=0)) > 0:
        return 0.5, 0.5
    diff = g_mm - g_m
    denom = float(diff.dot(diff))
    if denom <= 0:
        return 0.5, 0.5
    a = min(1.0, max(0.0, float((g_m - g_mm).dot(g_m)) / denom))
    return a, 1.0 - a


class MMPareto(Balancer):
    """MMPareto gradient integration (Wei & Hu, ICML 2024); unimodal head losses reach the encoders.

    Args:
        gamma: magnitude factor of the combined gradient (official code: 1.5).
        start_epoch, end_epoch: window where the combination replaces the plain summed gradient.
    """

    name = "mmpareto"
    head_gradient = True

    def __init__(self, gamma: float = 1.5, start_epoch: int = 0, end_epoch: int | None = None) -> None:
        super().__init__(start_epoch, end_epoch)
        if not gamma > 0:
            raise InputError(f"gamma={gamma!r} must be > 0 (the official value is 1.5).")
        self.gamma = float(gamma)
        self._grads: dict[str, tuple[list[Tensor], list[Tensor]]] = {}

    def objective(self, out: MultimodalOutput, y: Tensor, epoch: int) -> tuple[Tensor, dict[str, float]]:
        loss, parts = super().objective(out, y, epoch)
        self._grads = {}
        if not self.active(epoch):
            return loss, parts
        fused = TF.cross_entropy(out.logits, y)
        for m, logits in out.unimodal_logits.items():
            params = self.parameters[m]
            g_mm = torch.autograd.grad(fused, params, retain_graph=True, allow_unused=True)
            g_m = torch.autograd.grad(
                TF.cross_entropy(logits, y), params, retain_graph=True, allow_unused=True
            )
            zero = [torch.zeros_like(p) for p in params]
            self._grads[m] = (
                [g if g is not None else z for g, z in zip(g_mm, zero, strict=True)],
                [g if g is not None else z for g, z in zip(g_m, zero, strict=True)],
            )
        return loss, parts

    def after_backward(self, out: MultimodalOutput, y: Tensor, epoch: int) -> None:
        coef: dict[str, Any] = {}
        for m, (g_mm, g_m) in self._grads.items():
            flat_mm, flat_m = torch.cat([g.flatten() for g in g_mm]), torch.cat([g.flatten() for g in g_m])
            a_mm, a_m = pareto_weights(flat_mm, flat_m)
            coef[f"cos/{m}"] = float(TF.cosine_similarity(flat_mm, flat_m, dim=0))
            coef[f"alpha_mm/{m}"] = a_mm
            for p, gmm, gm in zip(self.parameters[m], g_mm, g_m, strict=True):
                if p.grad is None:
                    continue
                new = 2.0 * (a_mm * gmm + a_m * gm)
                new_norm = float(new.norm())
                ratio = float(p.grad.norm()) / new_norm if new_norm > 0 else 1.0
                p.grad = new * (self.gamma * max(ratio, 1.0))
        self._grads = {}
        self._coefficients = coef


BALANCERS.register(
    "mmpareto",
    MMPareto,
    summary="MMPareto (Wei & Hu, ICML 2024): conflict-free multimodal + unimodal gradients",
)
