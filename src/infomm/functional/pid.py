"""Pure numpy math for the bivariate partial information decomposition (PID) of discrete variables.

A joint distribution is an array ``p`` of shape ``(|X1|, |X2|, |Y|)`` summing to 1. All values are
in nats. The bivariate redundancy lattice has four atoms, redundancy ``R``, unique informations
``U1``, ``U2`` and synergy ``S``, tied to the three mutual informations by (Williams & Beer 2010,
"Nonnegative Decomposition of Multivariate Information", arXiv:1004.2515, Eq. 6-7)::

    I(X1;Y) = R + U1,   I(X2;Y) = R + U2,   I(X1,X2;Y) = R + U1 + U2 + S

so a redundancy function fixes the whole decomposition (:func:`atoms_from_redundancy`).

Example:
    >>> p = np.zeros((2, 2, 2)); p[0, 0, 0] = p[0, 1, 1] = p[1, 0, 1] = p[1, 1, 0] = 0.25  # XOR
    >>> [round(float(v / np.log(2)), 6) for v in mutual_informations(p)]
    [0.0, 0.0, 1.0]
    >>> round(imin_redundancy(p), 6)
    0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infomm.interface import InputError

MAX_STATES = 64


def as_joint(p: Any, name: str = "p", *, atol: float = 1e-6) -> np.ndarray:
    """Validate a joint distribution ``p(x1, x2, y)``: 3-D, finite, non-negative, summing to 1.

    Returns a float64 copy renormalised to sum exactly to 1.
    """
    if hasattr(p, "detach") and hasattr(p, "cpu"):
        p = p.detach().cpu().numpy()
    arr = np.asarray(p)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} has dtype {arr.dtype}; pass a numeric array of probabilities.")
    arr = arr.astype(np.float64)
    if arr.ndim != 3:
        raise InputError(
            f"{name} has shape {arr.shape}; pass a joint distribution of shape (|X1|, |X2|, |Y|)."
        )
    if min(arr.shape) < 1:
        raise InputError(f"{name} is empty (shape {arr.shape}); every variable needs at least one state.")
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or inf; pass finite probabilities.")
    if (arr < 0).any():
        raise InputError(f"{name} has negative entries (min {arr.min():.3g}); probabilities must be >= 0.")
    total = float(arr.sum())
    if abs(total - 1.0) > atol:
        raise InputError(
            f"{name} sums to {total:.6g}, not 1; normalise it (p = p / p.sum()) or, for samples, "
            "use pid_from_samples."
        )
    return arr / total


def _xlogy_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise p * log(p / q) with the convention 0 log 0 = 0."""
    out = np.zeros(np.broadcast(p, q).shape)
    pb, qb = np.broadcast_arrays(p, q)
    m = pb > 0
    out[m] = pb[m] * np.log(pb[m] / qb[m])
    return out


def mutual_information_2d(pxy: np.ndarray) -> float:
    """I(X;Y) in nats of a 2-D joint array ``pxy`` of shape (|X|, |Y|)."""
    px = pxy.sum(axis=1, keepdims=True)
    py = pxy.sum(axis=0, keepdims=True)
    return float(_xlogy_ratio(pxy, px * py).sum())


def mutual_informations(p: np.ndarray) -> tuple[float, float, float]:
    """``(I(X1;Y), I(X2;Y), I(X1,X2;Y))`` in nats of a joint ``p`` of shape (|X1|, |X2|, |Y|)."""
    i1 = mutual_information_2d(p.sum(axis=1))
    i2 = mutual_information_2d(p.sum(axis=0))
    i12 = mutual_information_2d(p.reshape(-1, p.shape[2]))
    return i1, i2, i12


def conditional_entropy_2d(pxy: np.ndarray) -> float:
    """H(Y | X) in nats of a 2-D joint array ``pxy`` of shape (|X|, |Y|)."""
    return float(-_xlogy_ratio(pxy, pxy.sum(axis=1, keepdims=True)).sum())


def conditional_entropy_y(p: np.ndarray) -> float:
    """H(Y | X1, X2) in nats of a joint ``p`` of shape (|X1|, |X2|, |Y|)."""
    return float(-_xlogy_ratio(p, p.sum(axis=2, keepdims=True)).sum())


def specific_information(p: np.ndarray) -> np.ndarray:
    """Specific information I(Y=y; X_i) of Williams & Beer (2010), Eq. 3, shape (|Y|, 2), nats.

    I(Y=y; X_i) = sum_{x_i} p(x_i | y) [log p(y | x_i) - log p(y)]; rows with p(y) = 0 are 0.
    """
    py = p.sum(axis=(0, 1))
    out = np.zeros((p.shape[2], 2))
    for i, pxy in enumerate((p.sum(axis=1), p.sum(axis=0))):
        px = pxy.sum(axis=1, keepdims=True)
        # sum_x p(x,y) log(p(x,y) / (p(x) p(y))) / p(y)
        terms = _xlogy_ratio(pxy, px * py[None, :]).sum(axis=0)
        out[:, i] = np.divide(terms, py, out=np.zeros_like(py), where=py > 0)
    return out


def imin_redundancy(p: np.ndarray) -> float:
    """I_min redundancy of Williams & Beer (2010), Eq. 4: sum_y p(y) min_i I(Y=y; X_i), nats."""
    py = p.sum(axis=(0, 1))
    return float((py * specific_information(p).min(axis=1)).sum())


def mmi_redundancy(p: np.ndarray) -> float:
    """Minimum-mutual-information redundancy min(I(X1;Y), I(X2;Y)) (Barrett 2015, PRE 91, 052802), nats."""
    i1, i2, _ = mutual_informations(p)
    return min(i1, i2)


def ipm_pointwise(p: np.ndarray) -> dict[str, np.ndarray]:
    """Pointwise I± atoms of Finn & Lizier (2018), Entropy 20(4):297 (measures r+_min, r-_min), nats.

    For each cell (x1, x2, y) with p > 0::

        r+ = min_i h(x_i),   r- = min_i h(x_i | y),   r = r+ - r-
        i_m = log p(y | x_m) - log p(y) = h(x_m) - h(x_m | y),   i12 = log p(y | x1, x2) - log p(y)
        u1 = i1 - r,   u2 = i2 - r,   s = i12 - i1 - i2 + r

    Returns a dict with keys ``r_plus, r_minus, r, u1, u2, s, i1, i2, i12``, each of the shape of
    ``p``; cells with p = 0 hold 0 (so ``(p * a).sum()`` is the average atom).
    """
    m = p > 0
    p1, p2 = p.sum(axis=(1, 2)), p.sum(axis=(0, 2))
    py = p.sum(axis=(0, 1))
    p1y, p2y = p.sum(axis=1), p.sum(axis=0)
    p12 = p.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        h1 = np.broadcast_to(-np.log(p1)[:, None, None], p.shape)
        h2 = np.broadcast_to(-np.log(p2)[None, :, None], p.shape)
        h1y = np.broadcast_to(-np.log(p1y / py[None, :])[:, None, :], p.shape)
        h2y = np.broadcast_to(-np.log(p2y / py[None, :])[None, :, :], p.shape)
        i12 = np.log(p / p12[:, :, None]) - np.log(py)[None, None, :]
        out = pointwise_atoms(h1, h2, h1 - h1y, h2 - h2y, i12)
    return {k: np.where(m, v, 0.0) for k, v in out.items()}


def pointwise_atoms(
    h1: np.ndarray, h2: np.ndarray, i1: np.ndarray, i2: np.ndarray, i12: np.ndarray
) -> dict[str, np.ndarray]:
    """Pointwise PID atoms from surprisals and pointwise MIs (the I± redundancy), nats.

    Finn & Lizier (2018), Entropy 20(4):297, Eq. 23-24 (r+ = min_i h(x_i), r- = min_i h(x_i | y))
    in the sample-level form of LSMI (Yang, Wang & Hu 2025, "Efficient Quantification of
    Multimodal Interaction at Sample Level", ICML, Eq. 9-12), with h(x_m | y) = h(x_m) - i_m::

        r = min(h1, h2) - min(h1 - i1, h2 - i2),  u_m = i_m - r,  s = i12 - i1 - i2 + r

    so that r + u_m = i_m and r + u1 + u2 + s = i12 hold for every sample.

    Args:
        h1, h2: surprisal -log p(x_m) of each sample (any common shape; same units).
        i1, i2, i12: pointwise MIs log p(y | x_m) / p(y) and log p(y | x1, x2) / p(y).

    Returns:
        dict with ``r_plus, r_minus, r, u1, u2, s, i1, i2, i12``.

    Example:
        >>> a = pointwise_atoms(np.array([1.0]), np.array([2.0]), np.array([0.5]), np.array([1.5]), np.array([2.0]))
        >>> {k: float(v[0]) for k, v in a.items() if k in ("r", "u1", "u2", "s")}
        {'r': 0.5, 'u1': 0.0, 'u2': 1.0, 's': 0.5}
    """
    out = {
        "r_plus": np.minimum(h1, h2),
        "r_minus": np.minimum(h1 - i1, h2 - i2),
        "i1": np.asarray(i1, dtype=float),
        "i2": np.asarray(i2, dtype=float),
        "i12": np.asarray(i12, dtype=float),
    }
    out["r"] = out["r_plus"] - out["r_minus"]
    out["u1"] = out["i1"] - out["r"]
    out["u2"] = out["i2"] - out["r"]
    out["s"] = out["i12"] - out["i1"] - out["i2"] + out["r"]
    return out


def redundancy_band(i1: float, i2: float, i12: float) -> tuple[float, float]:
    """The interval of redundancies consistent with non-negative atoms: ``[max(0, I1+I2-I12), min(I1, I2)]``.

    R >= 0, U_m = I_m - R >= 0 and S = I12 - I1 - I2 + R >= 0 (Williams & Beer 2010, Eq. 6-7)
    give exactly these bounds. When the MIs are inconsistent (e.g. a negative I_m from a
    miscalibrated classifier) the interval is empty and ``low > high`` is returned as is.

    Example:
        >>> redundancy_band(0.75, 0.5, 1.0)
        (0.25, 0.5)
    """
    return max(0.0, i1 + i2 - i12), min(i1, i2)


def rus_shift(r_mean: float, i1: float, i2: float, i12: float) -> tuple[float, float, float]:
    """The RUS adjustment of LSMI: one constant ``c`` added to r and s and taken from u1, u2.

    Yang, Wang & Hu (2025), ICML, Sec. 4.3: the dataset-level redundancy ``R + c`` is moved to the
    nearest point of :func:`redundancy_band` (``c = 0`` when R is already inside), which keeps
    every invariant (r + u_m and r + u1 + u2 + s are unchanged per sample). An empty band (the
    MIs are inconsistent, e.g. a negative I_m) takes its midpoint.

    Returns:
        ``(c, low, high)``.

    Example:
        >>> [round(v, 3) for v in rus_shift(0.389, 0.216, 0.216, 0.562)]  # I± on AND -> BROJA's R
        [-0.173, 0.0, 0.216]
    """
    low, high = redundancy_band(i1, i2, i12)
    target = 0.5 * (low + high) if low > high else min(max(r_mean, low), high)
    return target - r_mean, low, high


def ipm_redundancy(p: np.ndarray) -> float:
    """Average I± redundancy of Finn & Lizier (2018): sum p(x1, x2, y) r(x1, x2, y), nats."""
    return float((p * ipm_pointwise(p)["r"]).sum())


def atoms_from_redundancy(r: float, i1: float, i2: float, i12: float) -> tuple[float, float, float, float]:
    """The bivariate lattice bookkeeping: ``(R, U1, U2, S)`` from R and the three mutual informations."""
    u1 = i1 - r
    u2 = i2 - r
    return r, u1, u2, i12 - r - u1 - u2


def encode_discrete(v: Any, name: str, *, max_states: int = MAX_STATES) -> tuple[np.ndarray, np.ndarray]:
    """Map samples of a discrete variable (n,) or (n, d) to codes 0..k-1; returns ``(codes, alphabet)``.

    Rows of a 2-D input are treated as tuples. Raises :class:`InputError` for NaN, non-integer
    (continuous) values or more than ``max_states`` distinct values.
    """
    if hasattr(v, "detach") and hasattr(v, "cpu"):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} has dtype {arr.dtype}; pass integer class labels (e.g. np.unique codes).")
    if arr.ndim == 0 or arr.ndim > 2 or arr.shape[0] == 0:
        raise InputError(f"{name} has shape {arr.shape}; pass integer labels of shape (n,) or (n, d).")
    if np.issubdtype(arr.dtype, np.floating) or np.iscomplexobj(arr):
        if not np.isfinite(arr).all():
            raise InputError(f"{name} contains NaN or inf; drop those rows before the decomposition.")
        if not np.array_equal(arr, np.round(arr)):
            raise InputError(
                f"{name} has non-integer (continuous) values, e.g. {arr[arr != np.round(arr)].flat[0]!r}; "
                "the discrete PID needs class labels: bin it first (e.g. np.digitize with a few quantiles)."
            )
        arr = arr.real.astype(np.int64)
    if arr.ndim == 2:
        alphabet, codes = np.unique(arr, axis=0, return_inverse=True)
    else:
        alphabet, codes = np.unique(arr, return_inverse=True)
    if len(alphabet) > max_states:
        raise InputError(
            f"{name} has {len(alphabet)} distinct values (> {max_states}); the plug-in PID needs small "
            "alphabets: bin it into fewer classes (e.g. np.digitize with 4-8 quantile bins)."
        )
    return codes.reshape(-1).astype(np.int64), alphabet


def joint_from_codes(c1: np.ndarray, c2: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Plug-in joint p(x1, x2, y) = counts / n from integer codes (0..k-1) of equal length n."""
    shape = (int(c1.max()) + 1, int(c2.max()) + 1, int(cy.max()) + 1)
    counts = np.zeros(shape)
    np.add.at(counts, (c1, c2, cy), 1.0)
    return counts / len(c1)
