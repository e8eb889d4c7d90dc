"""Entropy coding of integer symbols into bytes, with ``constriction``'s range coder.

Two model families cover every latent of :mod:`infomm.compression`:

- quantized Gaussians (zero mean, a scale per symbol picked from a fixed table by an integer
  level): the Gaussian-conditional private latents, coded as ``round(y - mu)``;
- fixed categorical tables (one table per group of symbols): the factorized density of the
  shared latent, tabulated per channel by ``update()``;
- categorical distributions given per symbol (one pmf row per symbol): VQ indices under a model
  conditioned on side information.

``constriction`` (Bamler 2022, "Understanding Entropy Coding With Asymmetric Numeral Systems
(ANS): a Statistician's Perspective", arXiv 2201.01741; the library's range coder) is used instead
of a hand-written coder: it is exact, fast, needs only numpy, and lands within a few bytes of
the ideal code length. Its models quantize probabilities deterministically, so the decoder that
passes the same float64 parameters gets the same symbols back.

Example:
    >>> import numpy as np
    >>> sym = np.array([0, 1, -2, 0], dtype=np.int32)
    >>> table = np.array([0.5, 1.0, 2.0])
    >>> data = encode_gaussian(sym, np.array([1, 1, 2, 0]), table)
    >>> decode_gaussian(data, np.array([1, 1, 2, 0]), table).tolist()
    [0, 1, -2, 0]
"""

from __future__ import annotations

import constriction
import numpy as np

from infomm.interface import InputError

#: no quantized latent exceeds +-SYMBOL_BOUND: the quantizers clamp to it
SYMBOL_BOUND = 1 << 14
#: a Gaussian of scale ``sigma`` codes symbols in ``+-max(BOUND_MIN, ceil(BOUND_SIGMAS * sigma))``;
#: its quantizer clamps residuals there (beyond 40 sigma: never, for a model that fits)
BOUND_SIGMAS, BOUND_MIN = 40.0, 64


def symbol_bounds(table: np.ndarray) -> np.ndarray:
    """Largest |symbol| each scale of a table codes (int64): ``max(64, ceil(40 sigma))``, capped.

    A quantized model gives every symbol of its alphabet at least the smallest representable
    probability (2^-24 in the range coder), which costs about ``alphabet / 2^24`` of the most likely
    symbol's mass; a per-scale alphabet keeps that loss below 1e-5 bits per symbol instead of
    ``2^15 / 2^24`` of a bit for one alphabet wide enough for every scale.
    """
    b = np.maximum(BOUND_MIN, np.ceil(BOUND_SIGMAS * np.asarray(table, dtype=np.float64)))
    return np.minimum(b, SYMBOL_BOUND).astype(np.int64)


def _gaussians(
    table: np.ndarray, levels: np.ndarray
) -> dict[int, constriction.stream.model.QuantizedGaussian]:
    bounds = symbol_bounds(table)
    qg = constriction.stream.model.QuantizedGaussian
    return {int(i): qg(-int(bounds[i]), int(bounds[i]), 0.0, float(table[i])) for i in levels}


def _to_bytes(words: np.ndarray) -> bytes:
    return words.astype("<u4").tobytes()


def _from_bytes(data: bytes, what: str) -> np.ndarray:
    if len(data) % 4:
        raise InputError(
            f"{what}: stream of {len(data)} bytes is not whole 32-bit words; the file is corrupt"
        )
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def encode_gaussian(symbols: np.ndarray, levels: np.ndarray, table: np.ndarray) -> bytes:
    """Range-code int symbols, symbol ``j`` under a zero-mean Gaussian of scale ``table[levels[j]]``
    quantized to unit bins; symbols are coded grouped by level, in position order within a group."""
    sym = np.ascontiguousarray(symbols, dtype=np.int32).ravel()
    lev = np.ascontiguousarray(levels, dtype=np.int64).ravel()
    if sym.size != lev.size:
        raise InputError(
            f"encode_gaussian: {sym.size} symbols but {lev.size} scale levels; pass one per symbol"
        )
    bounds = symbol_bounds(table)
    if sym.size and (np.abs(sym) > bounds[lev]).any():
        raise InputError("encode_gaussian: a symbol exceeds its scale's bound; clamp residuals before coding")
    enc = constriction.stream.queue.RangeEncoder()
    order = np.argsort(lev, kind="stable")
    used, starts = np.unique(lev[order], return_index=True)
    models = _gaussians(table, used)
    for i, a, b in zip(used, starts, [*starts[1:], sym.size], strict=True):
        enc.encode(sym[order[a:b]], models[int(i)])
    return _to_bytes(enc.get_compressed())


def decode_gaussian(data: bytes, levels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_gaussian`: int32 symbols, one per level."""
    lev = np.ascontiguousarray(levels, dtype=np.int64).ravel()
    out = np.zeros(lev.size, dtype=np.int32)
    if lev.size == 0:
        return out
    order = np.argsort(lev, kind="stable")
    used, starts = np.unique(lev[order], return_index=True)
    models = _gaussians(table, used)
    try:
        dec = constriction.stream.queue.RangeDecoder(_from_bytes(data, "decode_gaussian"))
        for i, a, b in zip(used, starts, [*starts[1:], lev.size], strict=True):
            out[order[a:b]] = dec.decode(models[int(i)], int(b - a))
    except (ValueError, RuntimeError, AssertionError) as e:  # pragma: no cover - constriction's own
        raise InputError(f"decode_gaussian: the stream does not decode ({e}); the file is corrupt") from e
    return out


def encode_tables(groups: list[np.ndarray], tables: list[np.ndarray]) -> bytes:
    """Range-code group ``g``'s symbols (ints in ``[0, len(tables[g]))``) under ``tables[g]``.

    One stream for all groups, in order; each table is a float64 pmf (renormalised here).
    """
    if len(groups) != len(tables):
        raise InputError(f"encode_tables: {len(groups)} symbol groups but {len(tables)} tables")
    enc = constriction.stream.queue.RangeEncoder()
    for g, (sym, pmf) in enumerate(zip(groups, tables, strict=True)):
        s = np.ascontiguousarray(sym, dtype=np.int32).ravel()
        if s.size and (s.min() < 0 or s.max() >= pmf.size):
            raise InputError(f"encode_tables: group {g} has symbols outside its table of {pmf.size} entries")
        if s.size and pmf.size > 1:  # a one-entry table: the symbols are known, they cost nothing
            enc.encode(s, _categorical(pmf))
    return _to_bytes(enc.get_compressed())


def decode_tables(data: bytes, counts: list[int], tables: list[np.ndarray]) -> list[np.ndarray]:
    """Inverse of :func:`encode_tables`: ``counts[g]`` symbols of group ``g`` (int32 arrays)."""
    return TableDecoder(data).decode(counts, tables)


class TableDecoder:
    """Decodes a stream of :func:`encode_tables` in stages: each :meth:`decode` call reads the
    next groups, so a decoder can build the tables of later groups from earlier ones (a chain of
    conditional models in one stream, as the range coder is a queue)."""

    def __init__(self, data: bytes):
        try:
            self._dec = constriction.stream.queue.RangeDecoder(_from_bytes(data, "decode_tables"))
        except (ValueError, RuntimeError, AssertionError) as e:  # pragma: no cover - constriction's own
            raise InputError(f"decode_tables: the stream does not decode ({e}); the file is corrupt") from e

    def decode(self, counts: list[int], tables: list[np.ndarray]) -> list[np.ndarray]:
        """The next groups: ``counts[g]`` symbols under ``tables[g]`` (int32 arrays)."""
        try:
            return [
                np.asarray(self._dec.decode(_categorical(pmf), n), dtype=np.int32)
                if n and pmf.size > 1
                else np.zeros(n, dtype=np.int32)
                for n, pmf in zip(counts, tables, strict=True)
            ]
        except (ValueError, RuntimeError, AssertionError) as e:  # pragma: no cover - constriction's own
            raise InputError(f"decode_tables: the stream does not decode ({e}); the file is corrupt") from e


def _categorical(pmf: np.ndarray) -> constriction.stream.model.Categorical:
    p = np.asarray(pmf, dtype=np.float64)
    return constriction.stream.model.Categorical(p / p.sum(), perfect=False)


def _probabilities(probs: np.ndarray, n: int, who: str) -> np.ndarray:
    p = np.ascontiguousarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != n or p.shape[1] < 2:
        raise InputError(
            f"{who}: probabilities of shape {p.shape}; expected ({n}, K) with K >= 2, a pmf per symbol"
        )
    if not (np.isfinite(p).all() and (p >= 0).all()):
        raise InputError(f"{who}: probabilities must be finite and >= 0")
    return p / p.sum(1, keepdims=True)


def encode_categorical(symbols: np.ndarray, probs: np.ndarray) -> bytes:
    """Range-code int symbols in ``[0, K)``, symbol ``j`` under the pmf ``probs[j]`` ((n, K), float64).

    constriction quantizes each row to its fixed-point model deterministically (every entry keeps
    a nonzero probability), so a decoder passing the same float64 rows decodes the same symbols.
    """
    sym = np.ascontiguousarray(symbols, dtype=np.int32).ravel()
    p = _probabilities(probs, sym.size, "encode_categorical")
    if sym.size and (sym.min() < 0 or sym.max() >= p.shape[1]):
        raise InputError(f"encode_categorical: symbols must be in [0, {p.shape[1]})")
    enc = constriction.stream.queue.RangeEncoder()
    if sym.size:
        enc.encode(sym, constriction.stream.model.Categorical(perfect=False), p)
    return _to_bytes(enc.get_compressed())


def decode_categorical(data: bytes, probs: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_categorical`: one int32 symbol per row of ``probs``."""
    p = np.ascontiguousarray(probs, dtype=np.float64)
    n = p.shape[0] if p.ndim == 2 else -1
    p = _probabilities(p, n, "decode_categorical")
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    try:
        dec = constriction.stream.queue.RangeDecoder(_from_bytes(data, "decode_categorical"))
        out = dec.decode(constriction.stream.model.Categorical(perfect=False), p)
    except (ValueError, RuntimeError, AssertionError) as e:  # pragma: no cover - constriction's own
        raise InputError(f"decode_categorical: the stream does not decode ({e}); the file is corrupt") from e
    return np.asarray(out, dtype=np.int32)
