"""Figures of an interaction decomposition (PID): per-sample histograms and a ternary view.

For a sample-level :class:`~infomm.interactions.result.LSMIResult` (Yang, Wang & Hu 2025,
"Efficient Quantification of Multimodal Interaction at Sample Level", ICML, Eq. 9-12),
:func:`plot_interactions` draws

(a) histograms of the per-sample ``r, u1, u2, s`` on shared bins, with a vertical line at each
    dataset-level atom (their weighted mean);
(b) a ternary view: each sample's positive parts ``(r+, (u1+u2)+, s+)`` normalised to sum 1 and
    placed in barycentric coordinates in a triangle with corners Redundancy, Uniqueness, Synergy::

                 Synergy (0.5, sqrt(3)/2)
                   /\\
                  /  \\
                 /____\\
    Redundancy (0, 0)   Uniqueness (1, 0)

    point = a * Redundancy + b * Uniqueness + c * Synergy,   a + b + c = 1

For a :class:`~infomm.interactions.discrete.PIDResult` (or a result without per-sample arrays)
it draws a bar chart of the four atoms. The title quotes the dataset-level values. Figures are
written atomically (:func:`infomm.atomic.save_figure`) with the Agg backend.

Example:
    >>> import os, tempfile
    >>> from infomm.data.gates import gate_joint
    >>> from infomm.interactions.result import lsmi_plugin
    >>> path = plot_interactions(lsmi_plugin(gate_joint("and")), os.path.join(tempfile.mkdtemp(), "and.png"))
    >>> path.stat().st_size > 10_000
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from infomm import atomic
from infomm.interactions.discrete import PIDResult
from infomm.interactions.report import fmt_value
from infomm.interactions.result import LSMIResult
from infomm.interface import InputError

#: corners of the ternary triangle: Redundancy, Uniqueness, Synergy
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3.0) / 2.0]])
COLORS = {"R": "tab:blue", "U1": "tab:orange", "U2": "tab:green", "S": "tab:red"}
#: quantiles of the pooled per-sample values spanned by the shared histogram bins
HIST_RANGE = (0.005, 0.995)


def barycentric(r: Any, u: Any, s: Any, *, eps: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """2-D ternary coordinates of the positive parts of ``(r, u, s)`` and the mask of kept samples.

    Each sample's ``(max(r, 0), max(u, 0), max(s, 0))`` is divided by its sum and mapped to
    ``a * CORNERS[0] + b * CORNERS[1] + c * CORNERS[2]``; samples whose positive parts sum to at
    most ``eps`` times the largest such sum (no positive atom) are dropped.

    Returns:
        ``(xy, keep)``: xy of shape (kept, 2), keep a boolean mask of shape (n,).

    Example:
        >>> xy, keep = barycentric([1.0, 0.0, 0.0, -1.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, -1.0])
        >>> xy.round(3).tolist(), keep.tolist()
        ([[0.0, 0.0], [1.0, 0.0], [0.5, 0.866]], [True, True, True, False])
    """
    parts = np.clip(np.stack([np.ravel(r), np.ravel(u), np.ravel(s)], axis=1).astype(float), 0.0, None)
    total = parts.sum(axis=1)
    keep = total > eps * max(float(total.max(initial=0.0)), 1e-300)
    weights = parts[keep] / total[keep, None]
    return weights @ CORNERS, keep


def _title(result: LSMIResult | PIDResult) -> str:
    atoms = "  ".join(f"{a} = {fmt_value(getattr(result, a), 3)}" for a in ("R", "U1", "U2", "S"))
    return f"{result.method}: {atoms}  (I12 = {fmt_value(result.I12, 3)} {result.unit})"


def plot_interactions(
    result: LSMIResult | PIDResult, path: str | Path, *, bins: int = 50, dpi: int = 110
) -> Path:
    """Write the interaction figure of ``result`` to ``path`` (format from the suffix, e.g. ``.png``).

    Args:
        result: an :class:`LSMIResult` (histograms + ternary view) or a :class:`PIDResult`
            (bar chart of the atoms).
        path: output file; its folder is created.
        bins: number of shared histogram bins (at most; fewer for few distinct values).
        dpi: resolution.

    Returns:
        the path written.
    """
    if not isinstance(result, (LSMIResult, PIDResult)):
        raise InputError(
            f"result is a {type(result).__name__}; pass an LSMIResult or a PIDResult to plot_interactions."
        )
    if bins < 1:
        raise InputError(f"bins={bins!r} must be >= 1.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    target = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    if target.suffix.lower().lstrip(".") not in formats:
        raise InputError(
            f"path {str(target)!r} has an unsupported suffix {target.suffix or '(none)'!r}; "
            f"use one of .png, .pdf, .svg (matplotlib writes {', '.join(sorted(formats))})."
        )

    per = result.per_sample if isinstance(result, LSMIResult) else {}
    if isinstance(result, LSMIResult) and all(k in per for k in ("r", "u1", "u2", "s")):
        fig, (ax_h, ax_t) = plt.subplots(1, 2, figsize=(12.5, 5.2), gridspec_kw={"width_ratios": [1.35, 1]})
        _histograms(ax_h, result, bins)
        _ternary(ax_t, result)
    else:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        _bars(ax, result)
    fig.suptitle(_title(result), fontsize=11)
    fig.tight_layout()
    try:
        atomic.save_figure(fig, target, dpi=dpi)
    finally:
        plt.close(fig)
    return target


def _histograms(ax: Any, result: LSMIResult, bins: int) -> None:
    per, w = result.per_sample, result.weights
    pooled = np.concatenate([np.asarray(per[k], dtype=float) for k in ("r", "u1", "u2", "s")])
    if w is None:
        lo, hi = np.quantile(pooled, HIST_RANGE)
    else:  # exact distribution: a few cells, span them all
        lo, hi = float(pooled.min()), float(pooled.max())
    means = [getattr(result, a) for a in ("R", "U1", "U2", "S")]
    lo, hi = min(lo, *means), max(hi, *means)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    for a, key in (("R", "r"), ("U1", "u1"), ("U2", "u2"), ("S", "s")):
        values = np.clip(np.asarray(per[key], dtype=float), lo, hi)  # outliers land in the edge bins
        ax.hist(
            values,
            bins=edges,
            weights=w,
            histtype="stepfilled",
            alpha=0.3,
            color=COLORS[a],
            edgecolor=COLORS[a],
            label=f"{key} (mean {fmt_value(getattr(result, a), 3)})",
        )
        ax.axvline(getattr(result, a), color=COLORS[a], linestyle="--", linewidth=1.5)
    ax.set_xlabel(f"per-sample atom ({result.unit}; values beyond the axis are counted in the edge bins)")
    ax.set_ylabel("probability" if w is not None else "samples")
    ax.set_title("(a) per-sample atoms; dashed: dataset value", fontsize=10)
    ax.legend(fontsize=9)


def _ternary(ax: Any, result: LSMIResult) -> None:
    per = result.per_sample
    u = np.asarray(per["u1"]) + np.asarray(per["u2"])
    xy, keep = barycentric(per["r"], u, per["s"])
    tri = np.vstack([CORNERS, CORNERS[:1]])
    ax.plot(tri[:, 0], tri[:, 1], color="black", linewidth=1.0)
    for t in (0.25, 0.5, 0.75):  # light grid: lines of constant share of each corner
        for i in range(3):
            a, b, c = CORNERS[i], CORNERS[(i + 1) % 3], CORNERS[(i + 2) % 3]
            p, q = a + t * (b - a), a + t * (c - a)
            ax.plot([p[0], q[0]], [p[1], q[1]], color="0.85", linewidth=0.6, zorder=0)
    if result.weights is not None:
        w = result.weights[keep]
        ax.scatter(xy[:, 0], xy[:, 1], s=30 + 600 * w / max(w.max(initial=0.0), 1e-12), alpha=0.5)
    elif len(xy):
        alpha = float(np.clip(30.0 / math.sqrt(len(xy)), 0.03, 0.6))
        ax.scatter(xy[:, 0], xy[:, 1], s=8, alpha=alpha, linewidths=0)
    dataset, kept = barycentric([result.R], [result.U1 + result.U2], [result.S])
    if kept[0]:
        ax.scatter(dataset[:, 0], dataset[:, 1], marker="*", s=250, color="black", label="dataset", zorder=3)
        ax.legend(loc="upper right", fontsize=9)
    off = 0.06
    ax.text(CORNERS[0, 0] - off, CORNERS[0, 1] - off, "Redundancy", ha="left", va="top", fontsize=10)
    ax.text(CORNERS[1, 0] + off, CORNERS[1, 1] - off, "Uniqueness", ha="right", va="top", fontsize=10)
    ax.text(CORNERS[2, 0], CORNERS[2, 1] + off / 2, "Synergy", ha="center", va="bottom", fontsize=10)
    dropped = int((~keep).sum())
    ax.set_title(
        f"(b) shares of positive (r, u1+u2, s); {len(xy)} shown"
        + (f", {dropped} dropped" if dropped else ""),
        fontsize=10,
    )
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.14, CORNERS[2, 1] + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")


def _bars(ax: Any, result: LSMIResult | PIDResult) -> None:
    names = ("R", "U1", "U2", "S")
    values = [getattr(result, a) for a in names]
    bars = ax.bar(names, values, color=[COLORS[a] for a in names])
    ax.axhline(0.0, color="black", linewidth=0.8)
    for bar, v in zip(bars, values, strict=True):
        ax.annotate(
            fmt_value(v, 3),
            (bar.get_x() + bar.get_width() / 2, v),
            xytext=(0, 3 if v >= 0 else -12),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    ax.set_ylabel(result.unit)
    i1, i2, i12 = (fmt_value(getattr(result, q), 3) for q in ("I1", "I2", "I12"))
    ax.set_title(f"I1 = {i1}, I2 = {i2}, I12 = R + U1 + U2 + S = {i12}", fontsize=10)
