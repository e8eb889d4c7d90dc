"""Canonical bivariate logic gates for the partial information decomposition (PID), with known atoms.

Each gate is an exact joint distribution ``p(x1, x2, y)`` (array of shape (|X1|, |X2|, |Y|)) built
from independent uniform latent bits, as in the gallery of Williams & Beer (2010), "Nonnegative
Decomposition of Multivariate Information" (arXiv:1004.2515, Fig. 4) and Bertschinger et al. (2014),
"Quantifying Unique Information" (Entropy 16(4), Table 1 / Sec. 5); composites follow Griffith &
Koch (2014), "Quantifying synergistic mutual information". ``GATES.get(name)()`` returns the array.

Known atoms in bits (R, U1, U2, S), BROJA measure (``mmi`` and ``imin`` agree except on COPY,
where they give R = 1, U1 = U2 = 0, S = 1; ``ipm`` differs on AND/OR, see the tests)::

    gate        construction (a, b, c independent fair bits)     R      U1   U2   S
    xor         x1=a, x2=b, y=a^b                               0      0    0    1
    and         x1=a, x2=b, y=a&b                               0.311  0    0    0.5
    or          x1=a, x2=b, y=a|b                               0.311  0    0    0.5
    rdn         x1=x2=y=a                                       1      0    0    0
    unq1        x1=a, x2=b, y=a                                 0      1    0    0
    copy        x1=a, x2=b, y=2a+b                              0      1    1    0
    sum         x1=a, x2=b, y=a+b                               0.5    0    0    1
    rdn+unq1    x1=2a+b, x2=a, y=2a+b                           1      1    0    0
    unq1+xor    x1=2a+b, x2=c, y=2a+(b^c)                       0      1    0    1
    rdn+xor     x1=2a+b, x2=2a+c, y=2a+(b^c)                    1      0    0    1

(AND/OR: R = I(X1;Y) = h(1/4) - 1/2 = 0.311278 bits, with h the binary entropy.)

Example:
    >>> p = GATES.get("xor")()
    >>> p.shape, float(p.sum())
    ((2, 2, 2), 1.0)
    >>> x1, x2, y = sample_gate("and", 5, seed=0)
    >>> bool(((x1 & x2) == y).all())
    True

Gates in continuous features: :class:`EmbeddedGate` writes each modality's discrete value as
noisy Gaussian features (one +-amplitude direction per bit) and :func:`gate_oracle` gives the exact
sample-level interactions (LSMI, Yang, Wang & Hu 2025) of such data, for testing estimators.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.special import logsumexp

from infomm.interactions.discrete import PIDResult, pid
from infomm.interactions.result import LSMIResult, lsmi_from_pointwise
from infomm.interface import InputError, Unit
from infomm.registry import Registry

GateFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]

# name -> (number of latent bits, function latent bits (m, k) -> (x1, x2, y), shape)
_GATE_DEFS: dict[str, tuple[int, GateFn, tuple[int, int, int]]] = {
    "xor": (2, lambda b: (b[:, 0], b[:, 1], b[:, 0] ^ b[:, 1]), (2, 2, 2)),
    "and": (2, lambda b: (b[:, 0], b[:, 1], b[:, 0] & b[:, 1]), (2, 2, 2)),
    "or": (2, lambda b: (b[:, 0], b[:, 1], b[:, 0] | b[:, 1]), (2, 2, 2)),
    "rdn": (1, lambda b: (b[:, 0], b[:, 0], b[:, 0]), (2, 2, 2)),
    "unq1": (2, lambda b: (b[:, 0], b[:, 1], b[:, 0]), (2, 2, 2)),
    "copy": (2, lambda b: (b[:, 0], b[:, 1], 2 * b[:, 0] + b[:, 1]), (2, 2, 4)),
    "sum": (2, lambda b: (b[:, 0], b[:, 1], b[:, 0] + b[:, 1]), (2, 2, 3)),
    "rdn+unq1": (2, lambda b: (2 * b[:, 0] + b[:, 1], b[:, 0], 2 * b[:, 0] + b[:, 1]), (4, 2, 4)),
    "unq1+xor": (3, lambda b: (2 * b[:, 0] + b[:, 1], b[:, 2], 2 * b[:, 0] + (b[:, 1] ^ b[:, 2])), (4, 2, 4)),
    "rdn+xor": (
        3,
        lambda b: (2 * b[:, 0] + b[:, 1], 2 * b[:, 0] + b[:, 2], 2 * b[:, 0] + (b[:, 1] ^ b[:, 2])),
        (4, 4, 4),
    ),
}

#: Known BROJA atoms in bits, (R, U1, U2, S).
_AND_R = float(0.75 * np.log2(4.0 / 3.0) + 0.25 * np.log2(4.0) - 0.5)  # I(X1; AND) = 0.311278 bits
KNOWN_ATOMS_BITS: dict[str, tuple[float, float, float, float]] = {
    "xor": (0.0, 0.0, 0.0, 1.0),
    "and": (_AND_R, 0.0, 0.0, 0.5),
    "or": (_AND_R, 0.0, 0.0, 0.5),
    "rdn": (1.0, 0.0, 0.0, 0.0),
    "unq1": (0.0, 1.0, 0.0, 0.0),
    "copy": (0.0, 1.0, 1.0, 0.0),
    "sum": (0.5, 0.0, 0.0, 1.0),
    "rdn+unq1": (1.0, 1.0, 0.0, 0.0),
    "unq1+xor": (0.0, 1.0, 0.0, 1.0),
    "rdn+xor": (1.0, 0.0, 0.0, 1.0),
}


def _latent(k: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.int64).reshape(-1, k)


def gate_joint(name: str) -> np.ndarray:
    """Exact joint ``p(x1, x2, y)`` of gate ``name`` (see :data:`GATES`), shape (|X1|, |X2|, |Y|)."""
    return GATES.get(name)()


def sample_gate(name: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` i.i.d. samples ``(x1, x2, y)`` (int64 arrays of shape (n,)) of gate ``name``."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n={n!r} must be a positive integer number of samples.")
    GATES.get(name)
    k, fn, _ = _GATE_DEFS[name.lower()]
    bits = np.random.default_rng(seed).integers(0, 2, size=(int(n), k), dtype=np.int64)
    x1, x2, y = fn(bits)
    return x1.astype(np.int64), x2.astype(np.int64), y.astype(np.int64)


GATES: Registry[Callable[[], np.ndarray]] = Registry("gate")


def _make(name: str) -> Callable[[], np.ndarray]:
    def joint() -> np.ndarray:
        k, fn, shape = _GATE_DEFS[name]
        x1, x2, y = fn(_latent(k))
        p = np.zeros(shape)
        np.add.at(p, (x1, x2, y), 1.0 / 2**k)
        return p

    joint.__name__ = f"joint_{name}"
    joint.__doc__ = (
        f"Exact joint p(x1, x2, y) of the {name!r} gate (BROJA atoms {KNOWN_ATOMS_BITS[name]} bits)."
    )
    return joint


for _name in _GATE_DEFS:
    GATES.register(
        _name, _make(_name), summary=f"BROJA atoms (R, U1, U2, S) = {KNOWN_ATOMS_BITS[_name]} bits"
    )


# --- gates embedded in continuous features ----------------------------------------------------------


def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(a)


def _features(name: str, x: Any, dim: int, n: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.shape != (n, dim):
        raise InputError(
            f"{name} has shape {a.shape}; pass an array of shape ({n}, {dim}), one row per sample."
        )
    if not np.isfinite(a).all():
        raise InputError(f"{name} holds NaN or inf; pass finite features.")
    return a


def _mixture_terms(
    x: np.ndarray, means: np.ndarray, noise: float, log_pv: np.ndarray
) -> tuple[np.ndarray, ...]:
    """``log N(x; mu_v, noise^2 I)`` (n, V), ``log p(x)`` (n,), ``log p(v | x)`` (n, V)."""
    d = x.shape[1]
    sq = ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    log_n = -0.5 * sq / noise**2 - 0.5 * d * np.log(2.0 * np.pi * noise**2)
    joint = log_pv[None, :] + log_n
    log_px = logsumexp(joint, axis=1)
    return log_n, log_px, joint - log_px[:, None]


def _log_sd_sum(means: np.ndarray, pv: np.ndarray, noise: float) -> float:
    """``sum_j log sd_j`` of the population standard deviations of the mixture's columns."""
    mean = pv @ means
    var = noise**2 + pv @ (means - mean) ** 2
    return float(0.5 * np.log(var).sum())


def gate_oracle(
    p: Any,
    means1: Any,
    means2: Any,
    noise: float,
    x1: Any,
    x2: Any,
    y: Any,
    *,
    details: Mapping[str, Any] | None = None,
) -> LSMIResult:
    """Exact LSMI atoms of samples from a discrete joint embedded as Gaussian mixtures.

    The data model: ``(v1, v2, y) ~ p``, then ``x_m = means_m[v_m] + noise * N(0, I)``. Every density
    is exact (Bayes on the mixture, all in log space with ``logsumexp``)::

        p(x_m) = sum_v p(v) N(x_m; mu_v, s^2 I)          p(v | x_m) = p(v) N(x_m; mu_v, s^2 I) / p(x_m)
        p(y | x_m) = sum_v p(y | v) p(v | x_m)
        p(y | x1, x2) = sum_{v1,v2} p(y | v1, v2) p(v1, v2 | x1, x2),
        p(v1, v2 | x1, x2) ∝ p(v1, v2) N(x1; mu_v1, s^2 I) N(x2; mu_v2, s^2 I)

    and the pointwise MIs ``i_m = log p(y | x_m) - log p(y)``, ``i12 = log p(y | x1, x2) - log p(y)``
    enter :func:`~infomm.interactions.result.lsmi_from_pointwise` (Yang, Wang & Hu 2025, "Efficient
    Quantification of Multimodal Interaction at Sample Level", ICML, Eq. 9-12 and the RUS adjustment of
    Sec. 4.3). The surprisals follow the LSMI estimator's convention of per-column z-scored features:
    ``h_m = -log p(z_m) = -log p(x_m) - sum_j log sd_j``, with ``sd_j`` the population standard
    deviation of column j of the mixture (the mean shift does not change a density).

    Args:
        p: exact joint ``p(v1, v2, y)``, shape (|X1|, |X2|, |Y|).
        means1, means2: component means, shapes (|X1|, d1) and (|X2|, d2).
        noise: the standard deviation s > 0 of the isotropic Gaussian noise.
        x1, x2: features, shapes (n, d1) and (n, d2). y: labels (n,) with p(y) > 0.
        details: recorded on the result.

    Returns:
        :class:`~infomm.interactions.result.LSMIResult` with ``method="oracle"``.

    Example:
        >>> gate = EmbeddedGate("xor", dim=2, noise=0.5)
        >>> x1, x2, y = gate.sample(1000, seed=0)
        >>> res = gate_oracle(gate_joint("xor"), *gate.means, 0.5, x1, x2, y)
        >>> bool(abs(res.per_sample["i1"]).max() < 1e-12), round(res.S, 2)  # alone, neither input tells y
        (True, 0.58)
    """
    joint = np.asarray(p, dtype=float)
    if joint.ndim != 3 or (joint < 0).any() or abs(joint.sum() - 1.0) > 1e-9:
        raise InputError(
            f"p has shape {joint.shape}; pass a joint p(x1, x2, y): 3-D, non-negative, summing to 1."
        )
    if not (np.isfinite(noise) and noise > 0):
        raise InputError(f"noise={noise!r} must be a positive standard deviation.")
    mu1, mu2 = (np.asarray(m, dtype=float) for m in (means1, means2))
    for name, mu, k in (("means1", mu1, joint.shape[0]), ("means2", mu2, joint.shape[1])):
        if mu.ndim != 2 or mu.shape[0] != k:
            raise InputError(
                f"{name} has shape {mu.shape}; pass ({k}, dim): one mean per value of the modality."
            )
    yy = np.asarray(y).reshape(-1)
    n = yy.shape[0]
    a1, a2 = _features("x1", x1, mu1.shape[1], n), _features("x2", x2, mu2.shape[1], n)
    p1, p2, py = joint.sum(axis=(1, 2)), joint.sum(axis=(0, 2)), joint.sum(axis=(0, 1))
    if n < 1 or not np.issubdtype(yy.dtype, np.integer) or yy.min() < 0 or yy.max() >= py.size:
        raise InputError(f"y must hold at least one integer label in [0, {py.size}); got {yy[:5]!r}...")
    if (py[yy] == 0).any():
        raise InputError(
            f"y holds labels with p(y) = 0 ({sorted(set(yy[py[yy] == 0].tolist()))}); remove them."
        )
    p12 = joint.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        l1 = np.where(p1[:, None] > 0, _log(joint.sum(axis=1)) - _log(p1)[:, None], -np.inf)  # log p(y | v1)
        l2 = np.where(p2[:, None] > 0, _log(joint.sum(axis=0)) - _log(p2)[:, None], -np.inf)
        l12 = np.where(p12[..., None] > 0, _log(joint) - _log(p12)[..., None], -np.inf)  # log p(y | v1, v2)
    n1, log_px1, post1 = _mixture_terms(a1, mu1, noise, _log(p1))
    n2, log_px2, post2 = _mixture_terms(a2, mu2, noise, _log(p2))
    log_py1 = logsumexp(post1 + l1[:, yy].T, axis=1)
    log_py2 = logsumexp(post2 + l2[:, yy].T, axis=1)
    lj = _log(p12)[None] + n1[:, :, None] + n2[:, None, :]
    post12 = lj - logsumexp(lj, axis=(1, 2), keepdims=True)
    log_py12 = logsumexp(post12 + np.moveaxis(l12[:, :, yy], 2, 0), axis=(1, 2))
    log_py = np.log(py[yy])
    s1, s2 = _log_sd_sum(mu1, p1, noise), _log_sd_sum(mu2, p2, noise)
    extra = {"log_sd_sum": (s1, s2), **dict(details or {})}
    return lsmi_from_pointwise(
        -log_px1 - s1,
        -log_px2 - s2,
        log_py1 - log_py,
        log_py2 - log_py,
        log_py12 - log_py,
        method="oracle",
        details=extra,
    )


def _bits(values: np.ndarray, k: int) -> np.ndarray:
    """Binary digits (most significant first) of ``values`` as +-1, shape (len(values), k)."""
    return np.stack([2 * ((values >> (k - 1 - j)) & 1) - 1 for j in range(k)], axis=1).astype(float)


@dataclass(frozen=True)
class EmbeddedGate:
    """A gate of :data:`GATES` written into noisy continuous features, with an exact LSMI oracle.

    Modality m's discrete value ``v`` (|X_m| in {2, 4}, so 1 or 2 latent bits) is written by its
    binary digits ``b_j`` in +-1: ``x_m = amplitude * sum_j b_j q_mj + noise * N(0, I_dim)``, where the
    ``q_mj`` are orthonormal directions, the first columns of a Haar-random orthogonal matrix per
    modality (seeded QR with the sign fix of Mezzadri 2007, "How to generate random matrices from the
    classical compact groups", Notices AMS 54(5), Sec. 5). Each x_m is then a Gaussian mixture, so the
    sample-level interactions of LSMI (Yang, Wang & Hu 2025, ICML) are exact: :meth:`oracle`
    (:func:`gate_oracle`). :meth:`truth` is the discrete BROJA decomposition of the gate
    (Bertschinger et al. 2014), which the oracle approaches where it agrees with LSMI on the
    discrete joint and the noise is small.

    Args:
        name: a gate of :data:`GATES` (``xor``, ``and``, ``rdn+unq1`` ...).
        dim: features per modality (>= its number of bits).
        noise: standard deviation of the isotropic Gaussian noise (> 0).
        amplitude: distance of each bit's two means from 0 along its direction (> 0).
        seed: fixes the directions.

    Example:
        >>> gate = EmbeddedGate("rdn+unq1", dim=4, noise=0.1)
        >>> x1, x2, y = gate.sample(2000, seed=0)
        >>> x1.shape, x2.shape, y.shape
        ((2000, 4), (2000, 4), (2000,))
        >>> res = gate.oracle(x1, x2, y)
        >>> [round(float(getattr(res, a) / np.log(2)), 2) + 0.0 for a in ("R", "U1", "U2", "S")]  # bits
        [1.0, 1.0, 0.0, 0.0]
        >>> truth = gate.truth(unit="bits")
        >>> [round(abs(getattr(truth, a)), 3) for a in ("R", "U1", "U2", "S")]
        [1.0, 1.0, 0.0, 0.0]
    """

    name: str
    dim: int = 4
    noise: float = 0.3
    amplitude: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        GATES.get(self.name)
        object.__setattr__(self, "name", self.name.lower())
        k = max(self.bits)
        if not isinstance(self.dim, (int, np.integer)) or self.dim < k:
            raise InputError(
                f"dim={self.dim!r} is too small for gate {self.name!r}: use dim >= {k} (one per bit)."
            )
        for arg in ("noise", "amplitude"):
            v = getattr(self, arg)
            if not isinstance(v, (int, float, np.floating)) or not np.isfinite(v) or v <= 0:
                raise InputError(f"{arg}={v!r} must be a positive number.")

    @property
    def joint(self) -> np.ndarray:
        """The gate's exact discrete joint ``p(x1, x2, y)``."""
        return gate_joint(self.name)

    @property
    def bits(self) -> tuple[int, int]:
        """Number of bits (k1, k2) of each modality's value."""
        shape = _GATE_DEFS[self.name.lower()][2]
        return int(np.log2(shape[0])), int(np.log2(shape[1]))

    @cached_property
    def directions(self) -> tuple[np.ndarray, np.ndarray]:
        """Orthonormal bit directions, shapes (dim, k1) and (dim, k2)."""
        rng = np.random.default_rng(self.seed)
        out = []
        for k in self.bits:
            q, r = np.linalg.qr(rng.standard_normal((self.dim, self.dim)))
            out.append((q * np.sign(np.diag(r)))[:, :k])
        return out[0], out[1]

    @cached_property
    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Component means, shapes (|X1|, dim) and (|X2|, dim): row v is the mean of value v."""
        return tuple(  # type: ignore[return-value]
            self.amplitude * _bits(np.arange(2**k), k) @ q.T
            for k, q in zip(self.bits, self.directions, strict=True)
        )

    def population_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact standard deviation of every feature column, shapes (dim,) and (dim,)."""
        p = self.joint
        out = []
        for mu, pv in zip(self.means, (p.sum(axis=(1, 2)), p.sum(axis=(0, 2))), strict=True):
            mean = pv @ mu
            out.append(np.sqrt(self.noise**2 + pv @ (mu - mean) ** 2))
        return out[0], out[1]

    def embed(self, v1: Any, v2: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, dim) float64 of the discrete values ``v1, v2`` (int arrays (n,)), noise seeded."""
        vals = []
        for name, v, mu in (("v1", v1, self.means[0]), ("v2", v2, self.means[1])):
            a = np.asarray(v).reshape(-1)
            if not np.issubdtype(a.dtype, np.integer) or a.size == 0 or a.min() < 0 or a.max() >= len(mu):
                raise InputError(f"{name} must hold integer values in [0, {len(mu)}) of gate {self.name!r}.")
            vals.append(a)
        if vals[0].shape != vals[1].shape:
            raise InputError(
                f"v1 and v2 have lengths {vals[0].size} and {vals[1].size}; pass one value per sample."
            )
        rng = np.random.default_rng([int(seed), 1])
        n = vals[0].size
        x1 = self.means[0][vals[0]] + self.noise * rng.standard_normal((n, self.dim))
        x2 = self.means[1][vals[1]] + self.noise * rng.standard_normal((n, self.dim))
        return x1, x2

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` samples ``(x1 (n, dim), x2 (n, dim), y (n,) int64)``.

        The discrete values behind them are ``sample_gate(self.name, n, seed)``.
        """
        v1, v2, y = sample_gate(self.name, n, seed)
        x1, x2 = self.embed(v1, v2, seed)
        return x1, x2, y

    def oracle(self, x1: Any, x2: Any, y: Any) -> LSMIResult:
        """Exact per-sample and dataset-level LSMI atoms of ``(x1, x2, y)`` (nats); see :func:`gate_oracle`."""
        details = {"gate": self.name, "dim": self.dim, "noise": self.noise, "amplitude": self.amplitude}
        return gate_oracle(
            self.joint, *self.means, self.noise, x1, x2, y, details={**details, "seed": self.seed}
        )

    def truth(self, unit: Unit = "nats") -> PIDResult:
        """The discrete BROJA decomposition of the gate (``KNOWN_ATOMS_BITS``), in ``unit``."""
        return pid(self.joint, "broja", unit=unit)
