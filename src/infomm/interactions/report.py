"""Tables and a Markdown section describing one interaction decomposition (PID).

Works for a sample-level :class:`~infomm.interactions.result.LSMIResult` (percentile bootstrap
intervals over samples, the redundancy band, whether the RUS adjustment moved the atoms, flags,
the samples with the largest per-sample atoms) and for an exact
:class:`~infomm.interactions.discrete.PIDResult` (values only). The atoms follow Williams & Beer
(2010), "Nonnegative Decomposition of Multivariate Information" (arXiv:1004.2515, Eq. 6-7):
``R + U1 = I1``, ``R + U2 = I2``, ``R + U1 + U2 + S = I12``; the sample-level read-out is that of
Yang, Wang & Hu (2025), "Efficient Quantification of Multimodal Interaction at Sample Level" (ICML,
Eq. 9-12 and Sec. 4.3).

Example:
    >>> from infomm.data.gates import gate_joint
    >>> from infomm.interactions.result import lsmi_plugin
    >>> rows = interaction_table(lsmi_plugin(gate_joint("xor")).to("bits"))
    >>> [(r["quantity"], round(r["value"], 6)) for r in rows][:4]
    [('R', 0.0), ('U1', 0.0), ('U2', 0.0), ('S', 1.0)]
    >>> print(interaction_markdown(lsmi_plugin(gate_joint("xor")).to("bits")).splitlines()[0])
    ## Interactions between the two modalities (PID)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infomm.interactions.discrete import PIDResult
from infomm.interactions.result import ATOMS, MIS, LSMIResult
from infomm.interface import InputError

#: what each row of :func:`interaction_table` means
MEANINGS: Mapping[str, str] = {
    "R": "redundancy: what either modality alone tells about Y",
    "U1": "uniqueness of X1: what only X1 tells",
    "U2": "uniqueness of X2: what only X2 tells",
    "S": "synergy: what only X1 and X2 together tell",
    "I1": "I(X1;Y) = R + U1",
    "I2": "I(X2;Y) = R + U2",
    "I12": "I(X1,X2;Y) = R + U1 + U2 + S",
}
#: short names of the rows, for narrow tables
SHORT: Mapping[str, str] = {
    "R": "redundancy",
    "U1": "unique to X1",
    "U2": "unique to X2",
    "S": "synergy",
    "I1": "I(X1;Y)",
    "I2": "I(X2;Y)",
    "I12": "I(X1,X2;Y)",
}
#: per-sample array of each atom in :attr:`LSMIResult.per_sample`
PER_SAMPLE_ATOM = {"R": "r", "U1": "u1", "U2": "u2", "S": "s"}

Result = LSMIResult | PIDResult


def _check(result: Any) -> None:
    if not isinstance(result, (LSMIResult, PIDResult)):
        raise InputError(
            f"result is a {type(result).__name__}; pass an LSMIResult (infomm.interactions.sample_level.lsmi) "
            "or a PIDResult (infomm.interactions.pid)."
        )


def has_intervals(result: Result, bootstrap: int) -> bool:
    """Whether bootstrap intervals can be computed: samples (not an exact distribution) and ``bootstrap > 0``."""
    return (
        isinstance(result, LSMIResult)
        and bootstrap > 0
        and result.weights is None
        and all(k in result.per_sample for k in ("r_raw", "u1_raw", "u2_raw", "s_raw", "i1", "i2", "i12"))
    )


def interaction_table(
    result: Result, bootstrap: int = 1000, seed: int = 0, level: float = 0.95
) -> list[dict[str, Any]]:
    """One row per quantity ``R, U1, U2, S, I1, I2, I12``: value and interval, in the result's unit.

    Args:
        result: an :class:`LSMIResult` or a :class:`PIDResult`.
        bootstrap: number of bootstrap resamples for the intervals (``LSMIResult.bootstrap``);
            0 skips them. Exact results (a ``PIDResult``, or an ``LSMIResult`` of an exact
            distribution) have no sampling interval.
        seed: seed of the resampling.
        level: coverage of the percentile intervals.

    Returns:
        dicts with keys ``quantity``, ``meaning``, ``value``, ``low``, ``high`` (``None`` without
        an interval), ``raw`` (LSMI atoms before the RUS adjustment, else ``None``), ``unit``.

    Example:
        >>> from infomm.interactions import pid
        >>> from infomm.data.gates import gate_joint
        >>> row = interaction_table(pid(gate_joint("unq1"), "broja", unit="bits"))[1]
        >>> row["quantity"], round(row["value"], 6), row["low"]
        ('U1', 1.0, None)
    """
    _check(result)
    if bootstrap < 0:
        raise InputError(f"bootstrap={bootstrap!r} must be >= 0 (0 skips the intervals).")
    intervals: dict[str, tuple[float, float]] = {}
    raw: dict[str, float] = {}
    if isinstance(result, LSMIResult):
        raw = dict(result.raw)
        if has_intervals(result, bootstrap):
            intervals = result.bootstrap(bootstrap, level, seed)
    rows = []
    for q in ATOMS + MIS:
        low, high = intervals.get(q, (None, None))
        rows.append(
            {
                "quantity": q,
                "meaning": MEANINGS[q],
                "value": float(getattr(result, q)),
                "low": low,
                "high": high,
                "raw": raw.get(q),
                "unit": result.unit,
            }
        )
    return rows


def top_samples(result: Result, k: int = 5) -> dict[str, list[int]]:
    """Indices of the ``k`` samples with the largest per-sample atom, for ``R, U1, U2, S``.

    Empty for a :class:`PIDResult` or a result without per-sample arrays. For an exact distribution
    the indices refer to its cells (``details["cells"]`` of :func:`~infomm.interactions.result.lsmi_plugin`).
    """
    if not isinstance(result, LSMIResult):
        return {}
    return {
        a: [int(i) for i in result.top_k(key, k)]
        for a, key in PER_SAMPLE_ATOM.items()
        if key in result.per_sample
    }


def fmt_value(v: float | None, digits: int = 4) -> str:
    """``v`` with ``digits`` decimals ("" for ``None``), without a minus sign on a rounded zero."""
    if v is None:
        return ""
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def interaction_markdown(
    result: Result,
    bootstrap: int = 1000,
    seed: int = 0,
    *,
    level: float = 0.95,
    k: int = 5,
    title: str = "Interactions between the two modalities (PID)",
    heading: int = 2,
    rows: list[dict[str, Any]] | None = None,
) -> str:
    """A self-contained Markdown section: table, band, adjustment, flags, top-k samples per atom.

    Args:
        result: an :class:`LSMIResult` or a :class:`PIDResult`.
        bootstrap, seed, level: as for :func:`interaction_table` (ignored when ``rows`` is given).
        k: samples listed per atom (LSMI only).
        title, heading: the section title and its level (``##`` by default).
        rows: a table already computed by :func:`interaction_table` (saves a second bootstrap).

    Returns:
        Markdown text ending in a newline.

    Example:
        >>> from infomm.interactions import pid
        >>> from infomm.data.gates import gate_joint
        >>> md = interaction_markdown(pid(gate_joint("xor"), "mmi", unit="bits"))
        >>> "| S | 1.0000 |" in md
        True
    """
    _check(result)
    if rows is None:
        rows = interaction_table(result, bootstrap, seed, level)
    with_ci = any(r["low"] is not None for r in rows)
    with_raw = any(r["raw"] is not None for r in rows)
    if isinstance(result, LSMIResult):
        exact = result.weights is not None
        n: Any = result.n
        what = "cells of an exact distribution" if exact else "samples"
    else:
        n, what = result.details.get("n"), "samples"
    lines = [
        f"{'#' * max(1, heading)} {title}",
        "",
        f"Partial information decomposition of I(X1,X2;Y) by `{result.method}`"
        + (f" on {n} {what}" if n else "")
        + f", in {result.unit}. R + U1 = I1, R + U2 = I2 and R + U1 + U2 + S = I12 "
        "(Williams & Beer 2010, Eq. 6-7).",
        "",
    ]
    header = ["quantity", "value"]
    if with_ci:
        header.append(f"{level:.0%} interval (bootstrap over samples)")
    if with_raw:
        header.append("before adjustment")
    header.append("meaning")
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for r in rows:
        cells = [r["quantity"], fmt_value(r["value"])]
        if with_ci:
            cells.append("" if r["low"] is None else f"[{fmt_value(r['low'])}, {fmt_value(r['high'])}]")
        if with_raw:
            cells.append(fmt_value(r["raw"]))
        cells.append(r["meaning"])
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if isinstance(result, LSMIResult):
        lines += _lsmi_notes(result, k)
    elif result.details.get("warning"):
        lines.append(f"* **Warning**: {result.details['warning']}")
    return "\n".join(lines).rstrip() + "\n"


def _lsmi_notes(result: LSMIResult, k: int) -> list[str]:
    """Band, adjustment, flags and top-k samples of an LSMI result, as Markdown bullets."""
    low, high = result.band
    lines = [
        f"* Redundancy band (every atom >= 0): [{fmt_value(low)}, {fmt_value(high)}] {result.unit}"
        + (" (empty: the three MI estimates are inconsistent)." if low > high else ".")
    ]
    if result.clipped:
        lines.append(
            f"* Adjusted: yes; the raw I± redundancy {result.raw['R']:.4f} was outside the band, so "
            f"{result.shift:+.4f} was added to r and s and taken from u1, u2 of every sample "
            "(Yang, Wang & Hu 2025, Sec. 4.3)."
        )
    else:
        lines.append("* Adjusted: no; the raw I± redundancy lies in the band.")
    for f in result.flags:
        lines.append(f"* **Warning** (`{f.code.value}`): {f.message}")
    top = top_samples(result, k)
    if top:
        unit = "cells" if result.weights is not None else "samples"
        lines += [
            "",
            f"{unit.capitalize()} with the largest per-sample atoms (row index (value), largest first):",
            "",
        ]
        for a, idx in top.items():
            values = np.asarray(result.per_sample[PER_SAMPLE_ATOM[a]])[idx]
            shown = ", ".join(f"{i} ({fmt_value(v, 3)})" for i, v in zip(idx, values, strict=True))
            lines.append(f"* {a}: {shown}")
    return lines
