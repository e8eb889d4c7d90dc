"""The contract between the training engine and a balancing method.

A method never owns a training loop (see :mod:`infomm.training`); it plugs into the one loop at
five points, each optional:

===================  =========================================================================
``build_model``      the model to train (default: LateFusion over the engine's encoders)
``setup``            receives the explicit map modality -> encoder parameters (never matched by
                     name inside parameter names) before training
``objective``        the loss of one batch from the model's :class:`~infomm.interface.MultimodalOutput`
                     (default: fused cross-entropy + each unimodal head's cross-entropy)
``on_forward``       after the forward pass, before backward: e.g. register gradient hooks on
                     the per-modality features (EGH)
``after_backward``   after backward, before the optimizer step: e.g. rescale a modality's encoder
                     gradients (OGM-GE)
===================  =========================================================================

and reports its per-modality coefficients through :meth:`Balancer.coefficients` (logged per
epoch). ``head_gradient`` says whether the unimodal heads' losses reach the encoders (auxiliary
losses) or train only the heads on detached features (probes for diagnostics).

Example:
    >>> import torch
    >>> from infomm.interface import MultimodalOutput
    >>> out = MultimodalOutput(torch.zeros(4, 3), {}, {"a": torch.zeros(4, 3)})
    >>> loss, parts = Concat().objective(out, torch.tensor([0, 1, 2, 0]), epoch=0)
    >>> round(float(loss), 4) == round(2 * float(torch.log(torch.tensor(3.0))), 4)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as TF
from torch import Tensor, nn

from infomm.interface import InputError, MultimodalOutput
from infomm.registry import Registry


class Balancer:
    """Base class of balancing methods; the default is plain training (fused + probe-head losses).

    Attributes:
        name: registry name.
        head_gradient: whether unimodal head losses back-propagate into the encoders.
        start_epoch, end_epoch: the method acts for ``start_epoch <= epoch < end_epoch``
            (``end_epoch=None``: to the end); outside the window it trains plainly.
    """

    name: ClassVar[str] = ""
    head_gradient: bool = False  # a class default; a method may set it per instance

    def __init__(self, start_epoch: int = 0, end_epoch: int | None = None) -> None:
        if start_epoch < 0 or (end_epoch is not None and end_epoch <= start_epoch):
            raise InputError(
                f"start_epoch={start_epoch}, end_epoch={end_epoch}: need 0 <= start_epoch < end_epoch."
            )
        self.start_epoch, self.end_epoch = start_epoch, end_epoch
        self.parameters: dict[str, list[nn.Parameter]] = {}
        self._coefficients: dict[str, float] = {}

    def active(self, epoch: int) -> bool:
        """Whether the method acts in ``epoch`` (0-based)."""
        return epoch >= self.start_epoch and (self.end_epoch is None or epoch < self.end_epoch)

    def build_model(self, encoders: Mapping[str, nn.Module], n_classes: int) -> nn.Module:
        """The model this method trains (default: :class:`~infomm.models.LateFusion` on ``encoders``).

        A method with its own architecture (e.g. OMIB's variational encoders and fusion network)
        overrides this; the model must return a :class:`~infomm.interface.MultimodalOutput` and
        offer ``modality_parameters()``, ``modalities`` and ``forward(inputs, drop=())``.
        """
        from infomm.models import LateFusion

        return LateFusion(encoders, n_classes)

    def setup(self, parameters: Mapping[str, list[nn.Parameter]]) -> None:
        """Receive modality -> encoder parameters (called once by the engine)."""
        if len(parameters) < 1:
            raise InputError("a balancing method needs at least one modality's encoder parameters.")
        self.parameters = {m: list(ps) for m, ps in parameters.items()}

    def objective(self, out: MultimodalOutput, y: Tensor, epoch: int) -> tuple[Tensor, dict[str, float]]:
        """Loss of one batch and its named parts (floats, for logging)."""
        fused = TF.cross_entropy(out.logits, y)
        parts = {"loss/fused": float(fused.detach())}
        total = fused
        for m, logits in out.unimodal_logits.items():
            ce = TF.cross_entropy(logits, y)
            parts[f"loss/{m}"] = float(ce.detach())
            total = total + ce
        return total, parts

    def on_forward(self, out: MultimodalOutput, y: Tensor, epoch: int) -> None:
        """Hook point after the forward pass (default: nothing)."""

    def after_backward(self, out: MultimodalOutput, y: Tensor, epoch: int) -> None:
        """Hook point after backward, before the optimizer step (default: nothing)."""

    def state_dict(self) -> dict[str, Any]:
        """Running state to keep in checkpoints (moving averages, noise generators); default none."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (called when a run resumes)."""

    def coefficients(self) -> dict[str, float]:
        """The method's per-modality coefficients of the last batch, e.g. ``{"k/audio": 0.8}``."""
        return dict(self._coefficients)


class Concat(Balancer):
    """Plain late fusion: the fused cross-entropy trains the encoders; heads are probes."""

    name = "concat"


class ConcatAux(Balancer):
    """Late fusion plus each modality's own cross-entropy on its encoder (auxiliary unimodal losses).

    A strong, simple baseline against modality laziness: every encoder gets a task signal of its
    own (e.g. Du et al. 2023, "On Uni-Modal Feature Learning in Supervised Multi-Modal Learning",
    ICML, the uni-modal ensemble / auxiliary-loss family).
    """

    name = "concat-aux"
    head_gradient = True


#: balancing methods by name; ``BALANCERS.get(name)(**options)`` builds one
BALANCERS: Registry[Any] = Registry("balancing method")
BALANCERS.register("concat", Concat, summary="plain late fusion (fused loss only; unimodal heads are probes)")
BALANCERS.register("concat-aux", ConcatAux, summary="late fusion + unimodal auxiliary losses on each encoder")


def grad_norms(parameters: Mapping[str, list[nn.Parameter]]) -> dict[str, float]:
    """L2 norm of the current gradient of each modality's encoder parameters."""
    out = {}
    for m, ps in parameters.items():
        sq = [p.grad.detach().pow(2).sum() for p in ps if p.grad is not None]
        out[m] = float(torch.sqrt(torch.stack(sq).sum())) if sq else 0.0
    return out
