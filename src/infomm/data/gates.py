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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from infomm.interface import InputError
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
