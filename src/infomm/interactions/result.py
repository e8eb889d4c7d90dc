"""Sample-level interaction results: per-sample PID atoms, the RUS adjustment, reports.

:func:`lsmi_from_pointwise` turns per-sample surprisals ``h1, h2`` and pointwise mutual
informations ``i1, i2, i12`` into per-sample redundancy, uniqueness and synergy (Yang, Wang & Hu
2025, "Efficient Quantification of Multimodal Interaction at Sample Level", ICML, Eq. 9-12; see
:func:`infomm.functional.pid.pointwise_atoms`) and applies the dataset-level RUS adjustment
(:func:`infomm.functional.pid.rus_shift`). The continuous estimator (:mod:`.lsmi`), the
plug-in on exact distributions (:func:`lsmi_plugin`) and the gate oracle
(:func:`infomm.data.gates.gate_oracle`) all end here, so they agree by construction on
everything but their inputs.

Example:
    >>> from infomm.data.gates import gate_joint
    >>> res = lsmi_plugin(gate_joint("and"))
    >>> round(res.raw["R"], 3), round(res.R, 3), res.clipped  # I± redundancy, then moved into the band
    (0.389, 0.216, True)
    >>> abs(res.R + res.U1 + res.U2 + res.S - res.I12) < 1e-12
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infomm.atomic import atomic_open
from infomm.functional import pid as F
from infomm.interactions.discrete import PIDResult
from infomm.interface import NATS_PER_BIT, Flag, FlagCode, InputError, Unit, _jsonable

ATOMS = ("R", "U1", "U2", "S")
MIS = ("I1", "I2", "I12")
#: per-sample arrays kept by :class:`LSMIResult` (adjusted atoms, raw atoms, their inputs)
PER_SAMPLE_KEYS = ("r", "u1", "u2", "s", "r_raw", "u1_raw", "u2_raw", "s_raw", "i1", "i2", "i12", "h1", "h2")
#: tolerance (nats) below which a negative mean unimodal MI or adjusted U is not flagged
NEGATIVE_TOLERANCE = 0.01


@dataclass(frozen=True)
class LSMIResult:
    """Dataset-level and per-sample interaction atoms.

    Attributes:
        R, U1, U2, S: adjusted dataset-level atoms (weighted means of the per-sample ones).
        I1, I2, I12: I(X1;Y), I(X2;Y), I(X1,X2;Y): means of the pointwise MIs.
        raw: the atoms before the RUS adjustment (``R``, ``U1``, ``U2``, ``S``).
        shift: the constant c added to r and s and subtracted from u1, u2.
        band: ``(low, high)``, the redundancies for which every atom is >= 0.
        clipped: whether the adjustment moved anything (``shift != 0``).
        per_sample: arrays (n,) named in :data:`PER_SAMPLE_KEYS` (a subset may be present).
        weights: per-sample weights (probabilities for exact distributions), or ``None`` (equal).
        unit: ``"nats"`` or ``"bits"``. method: where the inputs came from.
        flags: warnings (miscalibration ...). details: method-specific extras.
    """

    R: float
    U1: float
    U2: float
    S: float
    I1: float
    I2: float
    I12: float
    raw: Mapping[str, float]
    shift: float
    band: tuple[float, float]
    clipped: bool
    per_sample: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    weights: np.ndarray | None = field(default=None, repr=False)
    unit: Unit = "nats"
    method: str = "lsmi"
    flags: tuple[Flag, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of samples (cells for an exact distribution)."""
        return int(next(iter(self.per_sample.values())).shape[0]) if self.per_sample else 0

    def to(self, unit: Unit) -> LSMIResult:
        """The same result in ``unit`` (``"nats"`` or ``"bits"``), per-sample arrays included."""
        if unit not in ("nats", "bits"):
            raise InputError(f"unit={unit!r} is not known; use 'nats' or 'bits'.")
        if unit == self.unit:
            return self
        f = 1.0 / NATS_PER_BIT if unit == "bits" else NATS_PER_BIT
        return dataclasses.replace(
            self,
            unit=unit,
            raw={k: v * f for k, v in self.raw.items()},
            shift=self.shift * f,
            band=(self.band[0] * f, self.band[1] * f),
            per_sample={k: v * f for k, v in self.per_sample.items()},
            **{a: getattr(self, a) * f for a in ATOMS + MIS},
        )

    def as_pid(self) -> PIDResult:
        """The dataset-level atoms as a :class:`~infomm.interactions.discrete.PIDResult`."""
        return PIDResult(
            self.R, self.U1, self.U2, self.S, self.I1, self.I2, self.I12, unit=self.unit, method=self.method
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: atoms, MIs, ``raw``, ``shift``, ``band``, ``clipped``, flags, details."""
        out: dict[str, Any] = {a: getattr(self, a) for a in ATOMS + MIS}
        out.update(
            raw=dict(self.raw),
            shift=self.shift,
            band=list(self.band),
            clipped=self.clipped,
            unit=self.unit,
            method=self.method,
            n=self.n,
            flags=[f.to_dict() for f in self.flags],
            details=_jsonable(dict(self.details)),
        )
        return out

    def bootstrap(
        self, n_boot: int = 1000, level: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals of the dataset-level atoms and MIs over samples.

        Resamples the per-sample values (the fitted models stay fixed, so this is the sampling
        uncertainty of the read-out, not of training) and re-applies the RUS adjustment on each
        resample (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", Ch. 13).

        Returns:
            ``{"R": (low, high), ..., "I12": (low, high)}`` in this result's unit.
        """
        if self.weights is not None:
            raise InputError(
                "bootstrap intervals need samples; this result comes from an exact distribution."
            )
        if not self.per_sample:
            raise InputError("this result has no per-sample arrays to resample.")
        if not (0.0 < level < 1.0):
            raise InputError(f"level={level!r} must be in (0, 1), e.g. 0.95.")
        ps = self.per_sample
        rng = np.random.default_rng(seed)
        keys = ("i1", "i2", "i12", "r_raw", "u1_raw", "u2_raw", "s_raw")
        means: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        chunk = max(1, 2_000_000 // max(self.n, 1))  # bounded memory: ~16 MB of indices at a time
        for start in range(0, int(n_boot), chunk):
            idx = rng.integers(0, self.n, size=(min(chunk, int(n_boot) - start), self.n))
            for k in keys:
                means[k].append(ps[k][idx].mean(axis=1))
        i1, i2, i12, r, u1, u2, s = (np.concatenate(means[k]) for k in keys)
        c = np.array([F.rus_shift(*v)[0] for v in zip(r, i1, i2, i12, strict=True)])
        draws = {"R": r + c, "U1": u1 - c, "U2": u2 - c, "S": s + c, "I1": i1, "I2": i2, "I12": i12}
        q = [(1 - level) / 2, (1 + level) / 2]
        return {k: tuple(float(v) for v in np.quantile(d, q)) for k, d in draws.items()}  # type: ignore[misc]

    def top_k(self, atom: str, k: int = 10) -> np.ndarray:
        """Indices of the ``k`` samples with the largest per-sample ``atom`` (``"r"``, ``"u1"`` ...)."""
        key = atom.lower()
        if key not in self.per_sample:
            raise InputError(f"atom={atom!r} is not known; use one of {', '.join(sorted(self.per_sample))}.")
        return np.argsort(-self.per_sample[key], kind="stable")[: max(0, int(k))]

    def save_per_sample(self, path: str | Path) -> Path:
        """Write the per-sample arrays (and weights, if any) to ``path`` (.npz), atomically."""
        out = Path(path)
        if out.suffix != ".npz":
            raise InputError(f"per-sample output {str(out)!r} must end in .npz.")
        arrays: dict[str, Any] = {"unit": np.array(self.unit), **self.per_sample}
        if self.weights is not None:
            arrays["weights"] = self.weights
        with atomic_open(out, "wb") as fh:
            np.savez(fh, **arrays)
        return out


def _flags(i1: float, i2: float, u1: float, u2: float, low: float, high: float) -> tuple[Flag, ...]:
    flags = []
    for name, v in (("I(X1;Y)", i1), ("I(X2;Y)", i2)):
        if v < -NEGATIVE_TOLERANCE:
            flags.append(
                Flag(
                    FlagCode.NEGATIVE,
                    f"the mean pointwise {name} is {v:.3f} nats < 0: the classifier for that modality "
                    "predicts worse than the class prior on held-out data (miscalibrated or overfit); "
                    "use more samples, a smaller classifier or a projection (PCA).",
                )
            )
    for name, v in (("U1", u1), ("U2", u2)):
        if v < -NEGATIVE_TOLERANCE:
            flags.append(
                Flag(
                    FlagCode.NEGATIVE,
                    f"the adjusted {name} is {v:.3f} nats < 0: the three classifiers disagree "
                    "(miscalibration); read the atoms with care.",
                )
            )
    if low > high + NEGATIVE_TOLERANCE:
        flags.append(
            Flag(
                FlagCode.NEGATIVE,
                f"no redundancy makes every atom >= 0 (band [{low:.3f}, {high:.3f}] is empty): the "
                "three MI estimates are inconsistent; R was set to the middle of the band.",
            )
        )
    return tuple(flags)


def lsmi_from_pointwise(
    h1: Any,
    h2: Any,
    i1: Any,
    i2: Any,
    i12: Any,
    *,
    weights: Any = None,
    method: str = "lsmi",
    details: Mapping[str, Any] | None = None,
) -> LSMIResult:
    """Per-sample atoms and the adjusted dataset-level decomposition (nats).

    Args:
        h1, h2: per-sample surprisal -log p(x_m), shape (n,).
        i1, i2, i12: per-sample pointwise MIs, shape (n,).
        weights: optional (n,) non-negative weights summing to 1 (an exact distribution's
            probabilities); ``None`` weighs samples equally.
        method, details: recorded on the result.

    Returns:
        :class:`LSMIResult` whose per-sample ``r, u1, u2, s`` are the adjusted atoms.
    """
    arrs = {}
    for name, v in (("h1", h1), ("h2", h2), ("i1", i1), ("i2", i2), ("i12", i12)):
        a = np.asarray(v, dtype=float).reshape(-1)
        if not np.isfinite(a).all():
            raise InputError(f"{name} holds NaN or inf; every surprisal and pointwise MI must be finite.")
        arrs[name] = a
    n = arrs["h1"].shape[0]
    if any(a.shape[0] != n for a in arrs.values()):
        sizes = {k: a.shape[0] for k, a in arrs.items()}
        raise InputError(f"per-sample inputs have different lengths {sizes}; pass one value per sample.")
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape[0] != n or (w < 0).any() or abs(w.sum() - 1.0) > 1e-8:
            raise InputError(f"weights must be {n} non-negative numbers summing to 1.")
    pw = F.pointwise_atoms(arrs["h1"], arrs["h2"], arrs["i1"], arrs["i2"], arrs["i12"])

    def mean(a: np.ndarray) -> float:
        return float(np.dot(w, a)) if w is not None else float(a.mean())

    i1m, i2m, i12m = mean(pw["i1"]), mean(pw["i2"]), mean(pw["i12"])
    raw = {"R": mean(pw["r"]), "U1": mean(pw["u1"]), "U2": mean(pw["u2"]), "S": mean(pw["s"])}
    c, low, high = F.rus_shift(raw["R"], i1m, i2m, i12m)
    per = {
        "r": pw["r"] + c,
        "u1": pw["u1"] - c,
        "u2": pw["u2"] - c,
        "s": pw["s"] + c,
        "r_raw": pw["r"],
        "u1_raw": pw["u1"],
        "u2_raw": pw["u2"],
        "s_raw": pw["s"],
        "i1": pw["i1"],
        "i2": pw["i2"],
        "i12": pw["i12"],
        "h1": arrs["h1"],
        "h2": arrs["h2"],
    }
    R, U1, U2, S = raw["R"] + c, raw["U1"] - c, raw["U2"] - c, raw["S"] + c
    return LSMIResult(
        R=R,
        U1=U1,
        U2=U2,
        S=S,
        I1=i1m,
        I2=i2m,
        I12=i12m,
        raw=raw,
        shift=c,
        band=(low, high),
        clipped=bool(c != 0.0),
        per_sample=per,
        weights=w,
        method=method,
        flags=_flags(i1m, i2m, U1, U2, low, high),
        details=dict(details or {}),
    )


def lsmi_plugin(p: Any) -> LSMIResult:
    """LSMI on an exact discrete joint ``p(x1, x2, y)``: exact surprisals and pointwise MIs.

    Each cell with p > 0 is one "sample" weighted by its probability. Before the adjustment the
    per-cell atoms are the I± atoms of Finn & Lizier (2018) (:func:`infomm.functional.pid.ipm_pointwise`).

    Example:
        >>> from infomm.data.gates import gate_joint
        >>> res = lsmi_plugin(gate_joint("unq1")).to("bits")
        >>> [round(getattr(res, a), 6) for a in ("R", "U1", "U2", "S")]
        [0.0, 1.0, 0.0, 0.0]
    """
    arr = F.as_joint(p)
    m = arr > 0
    p1, p2, py = arr.sum(axis=(1, 2)), arr.sum(axis=(0, 2)), arr.sum(axis=(0, 1))
    p1y, p2y, p12 = arr.sum(axis=1), arr.sum(axis=0), arr.sum(axis=2)
    a, b, c = np.nonzero(m)
    h1, h2 = -np.log(p1[a]), -np.log(p2[b])
    i1 = np.log(p1y[a, c] / (p1[a] * py[c]))
    i2 = np.log(p2y[b, c] / (p2[b] * py[c]))
    i12 = np.log(arr[a, b, c] / (p12[a, b] * py[c]))
    cells = np.stack([a, b, c], axis=1)
    return lsmi_from_pointwise(
        h1, h2, i1, i2, i12, weights=arr[m], method="lsmi-plugin", details={"cells": cells.tolist()}
    )
