"""EGH: entropy-guided gradient harmonization, per sample and per modality.

The method is specified in the infomm issue ("entropy-guided gradient harmonization (EGH), as
specified in the infomm issue"); it has no paper of its own. Its ingredients are the predictive
entropy of each modality's head as a per-sample confidence signal (entropy of a softmax head is
only meaningful as confidence once the head is trained; cf. Guo et al., 2017, "On Calibration
of Modern Neural Networks", ICML) and a per-sample gradient rescaling of each encoder.

For sample ``i`` and modality ``m`` with head logits ``z_i^m`` (detached):

    H_i^m      = -sum_c p_ic log p_ic,  p_i = softmax(z_i^m)                  (entropy, nats)
    rho_i^m    = (mean_m' H_i^m' + eps) / (H_i^m + eps)                       (confidence ratio)
    lambda_i^m = clip(rho_i^m ** -beta, clip_min, clip_max)   [min(., 1) if suppress_only]

and the gradient reaching ``features[m][i]`` is multiplied by ``lambda_i^m`` (a backward hook
registered in :meth:`EGH.on_forward`). A head more confident than the others on sample ``i``
(``rho > 1``) has its modality's gradient damped there; an uncertain one is boosted. (``eps``
sits in the numerator too, so that ``rho = 1`` when every head is certain, instead of 0.)

Why the defaults (``head_gradient=True``, ``start_epoch=2``): a first sketch with probe heads
(detached, trained only as read-outs) did not beat plain concatenation on hard audio. Two likely reasons:
an untrained head's entropy is close to ``log C`` on every sample, so early ``lambda`` is noise
around 1; and a probe-EGH encoder's only signal is the fused loss, which the strong modality soon
fits, so the other modality's gradient is small and rescaling it (at most ``clip_max``) adds
little. With ``head_gradient=True`` each head's own cross-entropy trains its encoder (EGH on top
of concat + auxiliary losses) and EGH redistributes that signal over samples. In a small study on
AV-digits with noisy audio (validation split) the heads' losses gave most of EGH's gain over
concat, and EGH added to concat + aux; the warm-up changed nothing measurable there and is kept
as a cheap guard against steering by untrained heads. Note
that these entropies are measured on training batches: a head that memorizes its inputs becomes
"confident" there whatever it does on new data, so ``lambda`` tracks fit, not generalization.

Example:
    >>> import torch
    >>> z = {"a": torch.tensor([[4.0, 0.0], [0.0, 0.0]]), "b": torch.tensor([[0.0, 0.0], [4.0, 0.0]])}
    >>> lam, ent = egh_weights(z)
    >>> bool(lam["a"][0] < 1 < lam["b"][0]), bool(lam["b"][1] < 1 < lam["a"][1])
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from infomm.balancing.base import BALANCERS, Balancer
from infomm.interface import InputError, MultimodalOutput


def egh_weights(
    logits: Mapping[str, Tensor],
    beta: float = 1.0,
    eps: float = 1e-6,
    clip_min: float = 0.1,
    clip_max: float = 10.0,
    suppress_only: bool = False,
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Per-sample gradient multipliers ``lambda^m`` (n,) and head entropies ``H^m`` (n,), in nats.

    Args:
        logits: modality -> head logits (n, C); detached here.
        beta, eps, clip_min, clip_max, suppress_only: see the module docstring.
    """
    names = list(logits)
    with torch.no_grad():
        lam, ent = _egh_stacked([logits[m] for m in names], beta, eps, clip_min, clip_max, suppress_only)
    return dict(zip(names, lam, strict=True)), dict(zip(names, ent, strict=True))


def _egh_stacked(
    logits: Sequence[Tensor], beta: float, eps: float, clip_min: float, clip_max: float, suppress_only: bool
) -> tuple[Tensor, Tensor]:
    """``(lambda, H)``, both (M, n), from the M heads' logits (n, C_m); call it without autograd.

    Heads with the same shape go through one stacked pass (M, n, C): a handful of small ops, as
    this runs every step.
    """
    if all(z.shape == logits[0].shape for z in logits):
        ent = torch.special.entr(torch.softmax(torch.stack(list(logits)), dim=-1)).sum(-1)
    else:
        ent = torch.stack([torch.special.entr(torch.softmax(z, dim=-1)).sum(-1) for z in logits])
    # lambda = rho ** -beta = ((H + eps) / mean_m (H + eps)) ** beta; x ** 1 = x, so beta = 1 skips pow
    lam = ent + eps
    lam = lam.div_(lam.mean(0))
    if beta != 1.0:
        lam = lam.pow_(beta)
    return lam.clamp_(clip_min, min(clip_max, 1.0) if suppress_only else clip_max), ent


class EGH(Balancer):
    """Entropy-guided gradient harmonization (see the module docstring for formula and defaults).

    Args:
        beta: strength (>= 0); ``lambda = rho ** -beta``, 0 disables the scaling.
        eps: added to the entropies (> 0). clip_min, clip_max: range of ``lambda``
            (``0 < clip_min <= 1 <= clip_max``). suppress_only: never boost (``lambda <= 1``).
        head_gradient: each head's loss trains its encoder (True: EGH on top of concat + aux).
        start_epoch, end_epoch: active window; before ``start_epoch`` (warm-up) no scaling.

    :meth:`coefficients` gives the last batch's mean ``lambda/<m>`` (1.0 outside the window) and
    mean head entropy ``entropy/<m>`` (nats, always computed).
    """

    name = "egh"

    def __init__(
        self,
        beta: float = 1.0,
        eps: float = 1e-6,
        clip_min: float = 0.1,
        clip_max: float = 10.0,
        suppress_only: bool = False,
        head_gradient: bool = True,
        start_epoch: int = 2,
        end_epoch: int | None = None,
    ) -> None:
        super().__init__(start_epoch, end_epoch)
        if not beta >= 0:
            raise InputError(f"beta={beta}: the EGH strength must be >= 0 (0 disables the scaling).")
        if not eps > 0:
            raise InputError(f"eps={eps}: must be > 0 (e.g. 1e-6).")
        if not 0 < clip_min <= 1 <= clip_max:
            raise InputError(
                f"clip_min={clip_min}, clip_max={clip_max}: need 0 < clip_min <= 1 <= clip_max (e.g. 0.1, 10)."
            )
        self.beta, self.eps = float(beta), float(eps)
        self.clip_min, self.clip_max = float(clip_min), float(clip_max)
        self.suppress_only = bool(suppress_only)
        # an option per instance (the base declares a class-wide ClassVar, which mypy will not
        # let an instance assign directly; the engine reads the attribute on the object)
        self.head_gradient = bool(head_gradient)

    def on_forward(self, out: MultimodalOutput, y: Tensor, epoch: int) -> None:
        """Compute ``lambda`` from the heads and hook it onto the features' gradients."""
        modalities = [m for m in out.features if m in out.unimodal_logits]
        if not modalities:
            raise InputError(
                f"EGH needs unimodal_logits for the modalities in features {sorted(out.features)}; "
                f"got {sorted(out.unimodal_logits)}."
            )
        active = self.active(epoch)
        with torch.no_grad():  # lambda and the logged means: no graph, one host transfer
            lam, ent = _egh_stacked(
                [out.unimodal_logits[m] for m in modalities],
                self.beta,
                self.eps,
                self.clip_min,
                self.clip_max,
                self.suppress_only,
            )
            if active:
                for m, w in zip(modalities, lam, strict=True):
                    f = out.features[m]
                    if isinstance(f, Tensor) and f.requires_grad:
                        # the hook multiplies row i of d loss / d features[m] by lambda_i
                        f.register_hook(w.to(dtype=f.dtype).view(-1, *([1] * (f.dim() - 1))).mul)
            # batch means for the log, in Python (one host transfer; cheaper than more small ops)
            rows = torch.cat((ent, lam)).tolist() if active else ent.tolist()
        means = [sum(r) / len(r) for r in rows]
        k = len(modalities)
        self._coefficients = {f"entropy/{m}": e for m, e in zip(modalities, means[:k], strict=True)}
        self._coefficients.update(
            {f"lambda/{m}": v for m, v in zip(modalities, means[k:] if active else [1.0] * k, strict=True)}
        )


BALANCERS.register(
    "egh",
    EGH,
    summary="entropy-guided gradient harmonization: per-sample gradient scaling by head entropies (+ aux losses)",
)
