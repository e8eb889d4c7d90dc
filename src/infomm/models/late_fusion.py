"""Per-modality encoders with a linear late-fusion head: the model behind ``infomm train``.

::

    x_image -> encoder_image -> f_image --+--> head_image -> unimodal logits (image)
                                          |
    x_audio -> encoder_audio -> f_audio --+--> head_audio -> unimodal logits (audio)
                                          |
                           concat(f_image, f_audio) -> fusion (linear) -> fused logits
                                                        = sum_m (W_m f_m + b / M)  -> partial logits

The heads see detached features unless ``head_gradient`` is set (then their losses are
auxiliary losses on the encoders); the balancing method decides (``Balancer.head_gradient``).
``drop`` zeroes the features of the named modalities, which is how a modality is "removed" at
evaluation.

Example:
    >>> import torch
    >>> model = LateFusion({"a": MLPEncoder(4, 8), "b": MLPEncoder(6, 8)}, n_classes=3)
    >>> out = model({"a": torch.randn(5, 4), "b": torch.randn(5, 6)})
    >>> out.logits.shape, sorted(out.features), out.unimodal_logits["a"].shape
    (torch.Size([5, 3]), ['a', 'b'], torch.Size([5, 3]))
    >>> bool(torch.allclose(out.partial_logits["a"] + out.partial_logits["b"], out.logits, atol=1e-6))
    True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import torch
from torch import Tensor, nn

from infomm.interface import InputError, MultimodalOutput


class MLPEncoder(nn.Sequential):
    """Flatten, then ``layers`` blocks of Linear + ReLU (+ dropout) to ``out_dim`` features.

    Args:
        in_dim: flattened input size. out_dim: feature size. hidden: width of inner layers.
        layers: number of Linear + ReLU blocks (>= 1). dropout: dropout after each hidden block.
    """

    def __init__(
        self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2, dropout: float = 0.0
    ) -> None:
        if in_dim < 1 or out_dim < 1 or hidden < 1 or layers < 1:
            raise InputError(
                f"in_dim={in_dim}, out_dim={out_dim}, hidden={hidden}, layers={layers} must all be >= 1."
            )
        mods: list[nn.Module] = [nn.Flatten()]
        d = in_dim
        for i in range(layers):
            width = out_dim if i == layers - 1 else hidden
            mods += [nn.Linear(d, width), nn.ReLU()]
            if dropout > 0 and i < layers - 1:
                mods.append(nn.Dropout(dropout))
            d = width
        super().__init__(*mods)
        self.out_dim = out_dim


class LateFusion(nn.Module):
    """Encoders per modality, a head per modality and a linear fusion head on the concatenation.

    Args:
        encoders: modality -> module mapping its input (n, ...) to features (n, d_m); each must
            have an ``out_dim`` attribute (or pass ``feature_dims``).
        n_classes: number of classes C.
        feature_dims: modality -> d_m, when encoders lack ``out_dim``.
        head_gradient: whether unimodal heads see attached features (auxiliary losses).
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module],
        n_classes: int,
        feature_dims: Mapping[str, int] | None = None,
        head_gradient: bool = False,
    ) -> None:
        super().__init__()
        if len(encoders) < 1 or n_classes < 2:
            raise InputError(
                f"need at least one encoder and n_classes >= 2 (got {len(encoders)}, {n_classes})."
            )
        self.modalities = list(encoders)
        self.encoders = nn.ModuleDict(dict(encoders))
        dims = {
            m: int(feature_dims[m]) if feature_dims else int(getattr(e, "out_dim"))  # noqa: B009
            for m, e in encoders.items()
        }
        self.feature_dims = dims
        self.heads = nn.ModuleDict({m: nn.Linear(d, n_classes) for m, d in dims.items()})
        self.fusion = nn.Linear(sum(dims.values()), n_classes)
        self.head_gradient = head_gradient

    def modality_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Modality -> the parameters of its encoder (the explicit map balancing methods use)."""
        return {m: list(self.encoders[m].parameters()) for m in self.modalities}

    def forward(self, inputs: Mapping[str, Tensor], drop: Collection[str] = ()) -> MultimodalOutput:
        missing = [m for m in self.modalities if m not in inputs]
        if missing:
            raise InputError(f"inputs lack modalities {missing}; the model was built for {self.modalities}.")
        unknown = set(drop) - set(self.modalities)
        if unknown:
            raise InputError(f"drop={sorted(unknown)} names unknown modalities; known: {self.modalities}.")
        feats = {}
        for m in self.modalities:
            f = self.encoders[m](inputs[m])
            feats[m] = torch.zeros_like(f) if m in drop else f
        logits = self.fusion(torch.cat([feats[m] for m in self.modalities], dim=1))
        partial, start = {}, 0
        bias = self.fusion.bias / len(self.modalities)
        for m in self.modalities:
            d = self.feature_dims[m]
            partial[m] = feats[m] @ self.fusion.weight[:, start : start + d].T + bias
            start += d
        heads = {m: self.heads[m](f if self.head_gradient else f.detach()) for m, f in feats.items()}
        return MultimodalOutput(logits=logits, features=feats, unimodal_logits=heads, partial_logits=partial)
