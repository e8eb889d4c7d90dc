"""Protocols and result objects shared by every part of infomm.

This module imports nothing from :mod:`infomm`, so every subpackage can depend on it
without import cycles (the pattern of ``bmi.interface``).

Units: every value is stored in **nats**; :meth:`Estimate.to` converts to bits on request.

Example:
    >>> e = Estimate(value=0.6931471805599453, method="gaussian", n=100)
    >>> round(e.to("bits").value, 6)
    1.0
    >>> e.flagged("negative")
    False
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Unit = Literal["nats", "bits"]
NATS_PER_BIT = math.log(2.0)


class InputError(ValueError):
    """Bad user input: the message names the argument, the value and the fix.

    The CLI turns it into exit code 2 and a one-line message; library users get an
    ordinary :class:`ValueError` subclass.
    """


class FlagCode(str, Enum):
    """Machine-readable reasons to distrust (or double-check) an estimate."""

    NEAR_LOG_BATCH_CEILING = "near_log_batch_ceiling"
    NEGATIVE = "negative"
    DIVERGED = "diverged"
    HEAVY_TAILS = "heavy_tails"
    OVERFIT = "overfit"
    FEW_SAMPLES = "few_samples"


@dataclass(frozen=True)
class Flag:
    """One warning attached to an estimate: a code plus a sentence with the suggested fix."""

    code: FlagCode
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True)
class Spread:
    """Variation of an estimate over repeated runs.

    Attributes:
        kind: what was repeated: ``"seeds"``, ``"folds"`` or ``"bootstrap"``.
        values: the individual estimates (nats).
        low, high: a central interval (default 95 %) of ``values``; with fewer than 20
            values, their minimum and maximum (quantiles of a handful of values mislead).
    """

    kind: Literal["seeds", "folds", "bootstrap"]
    values: tuple[float, ...]
    low: float
    high: float

    @property
    def std(self) -> float:
        v = np.asarray(self.values, dtype=float)
        return float(v.std(ddof=1)) if v.size > 1 else 0.0

    def scaled(self, factor: float) -> Spread:
        return Spread(
            self.kind, tuple(v * factor for v in self.values), self.low * factor, self.high * factor
        )

    @classmethod
    def from_values(
        cls, kind: Literal["seeds", "folds", "bootstrap"], values: Sequence[float], level: float = 0.95
    ) -> Spread:
        v = np.asarray(list(values), dtype=float)
        if v.size < 20:
            return cls(kind, tuple(float(x) for x in v), float(v.min()), float(v.max()))
        a = (1.0 - level) / 2.0
        return cls(kind, tuple(float(x) for x in v), float(np.quantile(v, a)), float(np.quantile(v, 1 - a)))


@dataclass(frozen=True)
class Estimate:
    """The result of an information estimate (mutual information or entropy).

    Attributes:
        value: the headline number: the held-out value when the method has one, else the
            value on all data. In ``unit``.
        method: registry name of the method that produced it.
        n: number of samples used.
        unit: ``"nats"`` (default) or ``"bits"``.
        quantity: ``"mi"`` or ``"entropy"``.
        train_value: value on the training split (neural and fitted methods).
        heldout_value: value on the held-out split (neural and fitted methods).
        spread: variation over seeds, folds or bootstrap resamples, when computed.
        flags: warnings (see :class:`FlagCode`).
        details: method-specific extras (hyper-parameters, epochs, chosen sub-method ...).
    """

    value: float
    method: str
    n: int
    unit: Unit = "nats"
    quantity: Literal["mi", "entropy"] = "mi"
    train_value: float | None = None
    heldout_value: float | None = None
    spread: Spread | None = None
    flags: tuple[Flag, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to(self, unit: Unit) -> Estimate:
        """Return the same estimate expressed in ``unit`` (``"nats"`` or ``"bits"``)."""
        if unit not in ("nats", "bits"):
            raise InputError(f"unit={unit!r} is not known; use 'nats' or 'bits'.")
        if unit == self.unit:
            return self
        f = 1.0 / NATS_PER_BIT if unit == "bits" else NATS_PER_BIT

        def s(v: float | None) -> float | None:
            return None if v is None else v * f

        return dataclasses.replace(
            self,
            value=self.value * f,
            unit=unit,
            train_value=s(self.train_value),
            heldout_value=s(self.heldout_value),
            spread=None if self.spread is None else self.spread.scaled(f),
        )

    def flagged(self, code: FlagCode | str) -> bool:
        """True when the estimate carries the flag ``code``."""
        c = FlagCode(code)
        return any(f.code == c for f in self.flags)

    def with_flags(self, *flags: Flag) -> Estimate:
        known = {f.code for f in self.flags}
        new = tuple(f for f in flags if f.code not in known)
        return dataclasses.replace(self, flags=self.flags + new)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` output of the CLI)."""
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "quantity": self.quantity,
            "method": self.method,
            "n": self.n,
            "train_value": self.train_value,
            "heldout_value": self.heldout_value,
            "flags": [f.to_dict() for f in self.flags],
            "details": _jsonable(dict(self.details)),
        }
        if self.spread is not None:
            out["spread"] = {
                "kind": self.spread.kind,
                "std": self.spread.std,
                "low": self.spread.low,
                "high": self.spread.high,
                "values": list(self.spread.values),
            }
        else:
            out["spread"] = None
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


@runtime_checkable
class MIEstimator(Protocol):
    """Anything that estimates I(X;Y) from paired samples ``x`` (n, dx) and ``y`` (n, dy)."""

    def estimate(self, x: Any, y: Any) -> Estimate: ...


@runtime_checkable
class EntropyEstimator(Protocol):
    """Anything that estimates the differential entropy h(X) from samples ``x`` (n, d)."""

    def estimate(self, x: Any) -> Estimate: ...


@runtime_checkable
class DensityModel(Protocol):
    """A fitted density that gives per-sample surprisal -log p(x) in nats.

    The interaction analysis (PID) needs per-sample surprisal, so every fitted
    density estimator exposes it.
    """

    def fit(self, x: Any) -> DensityModel: ...

    def surprisal(self, x: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class Task:
    """A sampler with a known answer (ground truth in nats).

    Attributes:
        name: a short, unique identifier such as ``"gauss-2pair-5x5"``.
        quantity: ``"mi"`` (``sample`` returns ``(x, y)``) or ``"entropy"`` (returns ``x``).
        truth: the exact value in nats.
        dim_x, dim_y: dimensions (``dim_y`` is 0 for entropy tasks).
    """

    name: str
    quantity: Literal["mi", "entropy"]
    truth: float
    dim_x: int
    dim_y: int
    sampler: Any = field(repr=False, compare=False)

    def sample(self, n: int, seed: int = 0) -> Any:
        """Draw ``n`` samples reproducibly: ``(x, y)`` for MI tasks, ``x`` for entropy tasks."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n={n!r} must be a positive integer.")
        return self.sampler(int(n), np.random.default_rng(seed))


@dataclass
class MultimodalOutput:
    """What a multimodal model returns, so that balancing methods and analyses see each modality.

    Attributes:
        logits: fused class logits (n, C).
        features: modality -> its encoder's features (n, d_m), the tensors gradient hooks attach to.
        unimodal_logits: modality -> logits of that modality's own head (n, C).
        partial_logits: modality -> that modality's additive share of ``logits`` when the fusion
            is linear in the concatenated features (W_m f_m + b / M); empty otherwise.
        extras: method-specific tensors (e.g. KL terms of a variational encoder).
    """

    logits: Any
    features: dict[str, Any]
    unimodal_logits: dict[str, Any]
    partial_logits: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class LatentCodecOutput:
    """What a latent codec's ``forward`` returns.

    Attributes:
        y_hat: latent name -> its quantized value (noisy in training, rounded in eval), (B, C, h, w).
        likelihoods: latent name -> per-element likelihood under the entropy model (same shape);
            ``-log2`` of it (floored at the range coder's 2^-24) summed is the estimated code length.
    """

    y_hat: dict[str, Any]
    likelihoods: dict[str, Any]

    def bits(self) -> dict[str, Any]:
        """Latent name -> estimated bits per batch item, shape (B,)."""
        return {k: -(v.clamp_min(2.0**-24).log2()).flatten(1).sum(1) for k, v in self.likelihoods.items()}


@dataclass
class CompressedLatents:
    """What a latent codec's ``compress`` returns and its ``decompress`` takes.

    Attributes:
        strings: latent name -> one byte string per batch item, in coding order.
        shape: the latents' spatial size (h, w).
    """

    strings: dict[str, list[bytes]]
    shape: tuple[int, int]

    def nbytes(self) -> dict[str, list[int]]:
        """Latent name -> bytes per batch item."""
        return {k: [len(s) for s in v] for k, v in self.strings.items()}
