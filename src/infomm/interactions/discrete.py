"""Exact partial information decomposition (PID) of two discrete sources about a discrete target.

Given ``p(x1, x2, y)`` (array of shape (|X1|, |X2|, |Y|)), a PID splits I(X1,X2;Y) into redundancy
``R``, unique informations ``U1``, ``U2`` and synergy ``S`` with (Williams & Beer 2010,
arXiv:1004.2515, Eq. 6-7)::

    R + U1 = I(X1;Y),   R + U2 = I(X2;Y),   R + U1 + U2 + S = I(X1,X2;Y)

:class:`PIDMeasure` owns the public entry point (validation, the three MIs, the lattice
bookkeeping, the invariant check, units); each measure supplies only its redundancy (the pattern of
dit's ``dit/pid/pid.py``). Measures, in :data:`PID_MEASURES`:

==========  ==========================================================================
``mmi``     minimum mutual information (Barrett 2015, Phys. Rev. E 91, 052802)
``imin``    I_min, specific-information redundancy (Williams & Beer 2010, Eq. 3-4)
``broja``   unique information by convex optimisation (Bertschinger et al. 2014, Entropy 16(4))
``ipm``     I±, pointwise specificity / ambiguity (Finn & Lizier 2018, Entropy 20(4):297)
==========  ==========================================================================

Example:
    >>> from infomm.data.gates import gate_joint
    >>> r = pid(gate_joint("and"), "imin", unit="bits")
    >>> round(r.R, 3), round(r.S, 3)
    (0.311, 0.5)
    >>> x1 = np.array([0, 0, 1, 1] * 50); x2 = np.array([0, 1, 0, 1] * 50)
    >>> round(pid_from_samples(x1, x2, x1 ^ x2, "mmi", unit="bits").S, 6)
    1.0
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from infomm.functional import pid as F
from infomm.interface import NATS_PER_BIT, InputError, Unit, _jsonable
from infomm.registry import Registry

_ATOMS = ("R", "U1", "U2", "S", "I1", "I2", "I12")


@dataclass(frozen=True)
class PIDResult:
    """The four PID atoms and the three mutual informations they decompose, in ``unit``.

    Attributes:
        R, U1, U2, S: redundancy, unique information of X1, of X2, synergy.
        I1, I2, I12: I(X1;Y), I(X2;Y), I(X1,X2;Y).
        unit: ``"nats"`` or ``"bits"``.
        method: registry name of the measure.
        details: measure-specific extras (solver status, sample size ...).
    """

    R: float
    U1: float
    U2: float
    S: float
    I1: float
    I2: float
    I12: float
    unit: Unit = "nats"
    method: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to(self, unit: Unit) -> PIDResult:
        """The same decomposition expressed in ``unit`` (``"nats"`` or ``"bits"``)."""
        _check_unit(unit)
        if unit == self.unit:
            return self
        f = 1.0 / NATS_PER_BIT if unit == "bits" else NATS_PER_BIT
        return dataclasses.replace(self, unit=unit, **{a: getattr(self, a) * f for a in _ATOMS})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {a: getattr(self, a) for a in _ATOMS}
        out.update(unit=self.unit, method=self.method, details=_jsonable(dict(self.details)))
        return out


def _check_unit(unit: str) -> None:
    if unit not in ("nats", "bits"):
        raise InputError(f"unit={unit!r} is not known; use 'nats' or 'bits'.")


class PIDMeasure(ABC):
    """Base class: subclasses implement :meth:`redundancy` (nats) and nothing else."""

    name: ClassVar[str] = ""

    def __call__(self, p: Any, *, unit: Unit = "nats") -> PIDResult:
        """Decompose the joint ``p`` of shape (|X1|, |X2|, |Y|); returns a :class:`PIDResult`."""
        _check_unit(unit)
        arr = F.as_joint(p)
        i1, i2, i12 = F.mutual_informations(arr)
        r, details = self.redundancy(arr)
        R, U1, U2, S = F.atoms_from_redundancy(r, i1, i2, i12)
        tol = 1e-8 * max(1.0, i12)
        if abs(R + U1 - i1) > tol or abs(R + U2 - i2) > tol or abs(R + U1 + U2 + S - i12) > tol:
            raise RuntimeError(f"PID invariants violated by measure {self.name!r}; this is a bug.")
        res = PIDResult(R, U1, U2, S, i1, i2, i12, "nats", self.name, details)
        return res.to(unit)

    @abstractmethod
    def redundancy(self, p: np.ndarray) -> tuple[float, dict[str, Any]]:
        """Redundancy R in nats of a validated joint ``p``, plus a dict of details."""


class MMI(PIDMeasure):
    """Minimum mutual information: R = min(I(X1;Y), I(X2;Y)).

    Barrett (2015), "Exploration of synergistic and redundant information sharing in static and
    dynamical Gaussian systems", Phys. Rev. E 91, 052802 (Eq. 7-8 define the MMI PID).

    Example:
        >>> from infomm.data.gates import gate_joint
        >>> round(MMI()(gate_joint("copy"), unit="bits").R, 6)
        1.0
    """

    name = "mmi"

    def redundancy(self, p: np.ndarray) -> tuple[float, dict[str, Any]]:
        return F.mmi_redundancy(p), {}


class IMin(PIDMeasure):
    """I_min of Williams & Beer (2010), "Nonnegative Decomposition of Multivariate Information".

    arXiv:1004.2515, Eq. 3 (specific information I(Y=y; X_i)) and Eq. 4
    (R = sum_y p(y) min_i I(Y=y; X_i)).

    Example:
        >>> from infomm.data.gates import gate_joint
        >>> round(IMin()(gate_joint("sum"), unit="bits").R, 6)
        0.5
    """

    name = "imin"

    def redundancy(self, p: np.ndarray) -> tuple[float, dict[str, Any]]:
        return F.imin_redundancy(p), {"specific_information": F.specific_information(p)}


class IPM(PIDMeasure):
    """I± of Finn & Lizier (2018), "Pointwise Partial Information Decomposition Using the Specificity
    and Ambiguity Lattices", Entropy 20(4):297.

    Pointwise r = min_i h(x_i) - min_i h(x_i | y) (redundant specificity minus redundant
    ambiguity), averaged over p. Atoms may be negative (misinformation). :meth:`pointwise` gives
    the per-cell atoms.

    Example:
        >>> from infomm.data.gates import gate_joint
        >>> r = IPM()(gate_joint("and"), unit="bits")
        >>> round(r.R, 4), round(r.U1, 4), round(r.S, 4)
        (0.5613, -0.25, 0.75)
    """

    name = "ipm"

    def redundancy(self, p: np.ndarray) -> tuple[float, dict[str, Any]]:
        return F.ipm_redundancy(p), {}

    def pointwise(self, p: Any, *, unit: Unit = "nats") -> dict[str, np.ndarray]:
        """Pointwise atoms ``r, u1, u2, s`` (and ``r_plus, r_minus, i1, i2, i12``), each of the shape
        of ``p``; cells with p = 0 hold 0, so ``(p * out["s"]).sum()`` is the average synergy."""
        _check_unit(unit)
        f = 1.0 / NATS_PER_BIT if unit == "bits" else 1.0
        return {k: v * f for k, v in F.ipm_pointwise(F.as_joint(p)).items()}

    def pointwise_from_samples(
        self, x1: Any, x2: Any, y: Any, *, unit: Unit = "nats"
    ) -> dict[str, np.ndarray]:
        """Per-sample atoms (arrays of shape (n,)) under the plug-in joint of the samples."""
        c1, c2, cy = _codes(x1, x2, y)
        table = self.pointwise(F.joint_from_codes(c1, c2, cy), unit=unit)
        return {k: v[c1, c2, cy] for k, v in table.items()}


class BROJA(PIDMeasure):
    """Unique information of Bertschinger, Rauh, Olbrich, Jost & Ay (2014), "Quantifying Unique
    Information", Entropy 16(4):2161-2183, Definition 1 / Eq. (3).

    U1 = min_{Q in Delta_P} I_Q(X1;Y | X2), where Delta_P holds the distributions with the same
    (x1, y) and (x2, y) marginals as P. Since H_Q(Y|X2) is fixed on Delta_P, this maximises
    H_Q(Y | X1, X2), a concave objective with linear constraints, solved as an exponential-cone
    program with cvxpy + CLARABEL (interior point, deterministic). Then R = I(X1;Y) - U1.
    Needs ``cvxpy`` (``pip install cvxpy``).

    Example:
        >>> from infomm.data.gates import gate_joint
        >>> r = BROJA()(gate_joint("copy"), unit="bits")
        >>> round(r.R, 5) + 0.0, round(r.U1, 5), round(r.U2, 5)
        (0.0, 1.0, 1.0)
    """

    name = "broja"

    def __init__(self, tol: float = 1e-10) -> None:
        self.tol = tol

    def redundancy(self, p: np.ndarray) -> tuple[float, dict[str, Any]]:
        q, info = _broja_optimum(p, self.tol)
        i1, i2, _ = F.mutual_informations(p)
        h_y_x2 = F.conditional_entropy_2d(p.sum(axis=0))  # H(Y|X2), the same for every Q in Delta_P
        cmi_p = h_y_x2 - F.conditional_entropy_y(p)  # I_P(X1;Y|X2), the largest U1 can be
        u1_raw = h_y_x2 - F.conditional_entropy_y(q)
        u1 = float(np.clip(u1_raw, max(0.0, i1 - i2), min(i1, cmi_p)))
        info.update(u1_raw=u1_raw, q=q)
        return i1 - u1, info


def _broja_optimum(p: np.ndarray, tol: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The Q in Delta_P that maximises H_Q(Y | X1, X2) (shape of ``p``) and solver details."""
    try:
        import cvxpy as cp
    except ImportError as e:  # pragma: no cover - exercised only without cvxpy
        raise InputError("method 'broja' needs cvxpy; install it with `pip install cvxpy`.") from e
    p1y, p2y = p.sum(axis=1), p.sum(axis=0)
    # cells that can carry mass in Delta_P
    cells = np.argwhere((p1y[:, None, :] > 0) & (p2y[None, :, :] > 0))
    k = len(cells)
    a, b, c = cells[:, 0], cells[:, 1], cells[:, 2]
    ix1y = a * p.shape[2] + c
    ix2y = b * p.shape[2] + c
    ix12 = a * p.shape[1] + b
    u1y, inv1 = np.unique(ix1y, return_inverse=True)
    u2y, inv2 = np.unique(ix2y, return_inverse=True)
    _, inv12 = np.unique(ix12, return_inverse=True)
    A1 = np.zeros((len(u1y), k))
    A1[inv1, np.arange(k)] = 1.0
    A2 = np.zeros((len(u2y), k))
    A2[inv2, np.arange(k)] = 1.0
    same12 = (inv12[:, None] == inv12[None, :]).astype(float)  # cell -> total of its (x1, x2)
    q = cp.Variable(k, nonneg=True)
    cons = [A1 @ q == p1y.reshape(-1)[u1y], A2 @ q == p2y.reshape(-1)[u2y]]
    prob = cp.Problem(cp.Minimize(cp.sum(cp.rel_entr(q, same12 @ q))), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=500)
    if q.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"BROJA optimisation failed with status {prob.status!r}.")
    out = np.zeros(p.shape)
    out[a, b, c] = np.clip(q.value, 0.0, None)
    out /= out.sum()
    return out, {"solver": "CLARABEL", "status": prob.status, "iterations": prob.solver_stats.num_iters}


PID_MEASURES: Registry[PIDMeasure] = Registry("PID measure")
PID_MEASURES.register("mmi", MMI(), summary="minimum mutual information (Barrett 2015)")
PID_MEASURES.register("imin", IMin(), summary="I_min specific-information redundancy (Williams & Beer 2010)")
PID_MEASURES.register(
    "broja", BROJA(), summary="BROJA unique information, convex program (Bertschinger 2014)"
)
PID_MEASURES.register("ipm", IPM(), summary="I± pointwise specificity/ambiguity (Finn & Lizier 2018)")


def pid(p: Any, method: str = "broja", *, unit: Unit = "nats") -> PIDResult:
    """Decompose the joint ``p(x1, x2, y)`` (shape (|X1|, |X2|, |Y|)) with measure ``method``."""
    return PID_MEASURES.get(method)(p, unit=unit)


def _codes(x1: Any, x2: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c1, _ = F.encode_discrete(x1, "x1")
    c2, _ = F.encode_discrete(x2, "x2")
    cy, ay = F.encode_discrete(y, "y")
    if not len(c1) == len(c2) == len(cy):
        raise InputError(
            f"x1, x2 and y have {len(c1)}, {len(c2)} and {len(cy)} rows; paired samples need the same "
            "number of rows (row i of each is one sample)."
        )
    if len(ay) < 2:
        raise InputError(
            f"y has a single class ({ay[0]!r}); there is no information to decompose: pass a target "
            "with at least two classes."
        )
    return c1, c2, cy


def pid_from_samples(x1: Any, x2: Any, y: Any, method: str = "broja", *, unit: Unit = "nats") -> PIDResult:
    """Plug-in PID from paired discrete samples ``x1, x2, y`` (each (n,) or (n, d) integer labels).

    The joint is counts / n over the observed alphabets (``np.unique``); the plug-in MI is biased
    upward by about (cells - 1) / (2n) nats, so use n well above the number of cells.
    """
    measure = PID_MEASURES.get(method)
    c1, c2, cy = _codes(x1, x2, y)
    p = F.joint_from_codes(c1, c2, cy)
    res = measure(p, unit=unit)
    details = dict(res.details, n=len(c1), alphabet_sizes=p.shape)
    if len(c1) < 10 * p.size:
        details["warning"] = (
            f"only {len(c1)} samples for {p.size} cells: plug-in atoms are biased; use more samples or "
            "fewer classes."
        )
    return dataclasses.replace(res, details=details)
