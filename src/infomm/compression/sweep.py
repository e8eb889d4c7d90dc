"""An RD sweep: joint and separate codecs at several lambdas, their RD points, BD-rates, a plot.

::

    for lambda in lambdas:                          DIR/lambda-<L>/joint, DIR/lambda-<L>/separate
        fit_codec(..., conditional=True / False)    (each resumes from its own last.ckpt)
    -> DIR/rd.json: points per model, BD-rate of joint vs separate on PSNR-RGB and on depth quality
    -> DIR/rd.png: total bpp against PSNR-RGB and against depth RMSE, both models

Example:
    >>> import tempfile
    >>> from infomm.data import synthetic_rgbd
    >>> res = rd_sweep(synthetic_rgbd(6, frames=2, size=(32, 32)), tempfile.mkdtemp(), [0.01, 0.1], epochs=1,
    ...                batch_size=4, channels=8, shared=4, private=2)
    >>> [len(res["points"][k]) for k in ("joint", "separate")]
    [2, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infomm import atomic
from infomm.compression.rd import BDResult, bd_rate, depth_quality_db
from infomm.compression.training import fit_codec
from infomm.interface import InputError

KINDS = ("joint", "separate")


def _point(lmbda: float, m: dict[str, Any]) -> dict[str, Any]:
    row = {
        "lambda": lmbda,
        "bpp": m["bpp_actual"]["total"],
        "bpp_estimated": m["bpp_estimated"]["total"],
        "bpp_streams": {k: m["bpp_actual"][k] for k in ("shared", "rgb", "depth")},
        "psnr_rgb": m["psnr_rgb"],
        "depth_rmse_mm": m["depth_rmse_mm"],
    }
    if "operational_mi" in m:
        row["operational_mi_bpp"] = m["operational_mi"]["bpp"]
    return row


def _bd(points: dict[str, list[dict[str, Any]]], axis: Callable[[dict[str, Any]], float]) -> dict[str, Any]:
    ref, test = points["separate"], points["joint"]
    try:
        res: BDResult = bd_rate(
            [p["bpp"] for p in ref], [axis(p) for p in ref], [p["bpp"] for p in test], [axis(p) for p in test]
        )
    except InputError as e:
        return {"bd_rate": None, "reason": str(e)}
    return {"bd_rate": res.bd_rate, "quality_range_db": list(res.quality_range)}


def bd_summary(points: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """BD-rate of the joint codec against the separate one on each quality axis."""
    return {
        "rgb_psnr": _bd(points, lambda p: p["psnr_rgb"]),
        "depth": _bd(points, lambda p: depth_quality_db(p["depth_rmse_mm"])),
    }


def rd_sweep(
    clips: Sequence[Any],
    out_dir: str | Path,
    lambdas: Sequence[float],
    *,
    on_fit: Callable[[str, float], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Fit both codecs at every lambda (see the module docstring); returns what ``rd.json`` holds."""
    if len(lambdas) < 2 or any(not lam > 0 for lam in lambdas):
        raise InputError(
            f"lambdas={list(lambdas)}: pass at least 2 positive values (6 or more for a BD-rate)"
        )
    out = Path(out_dir)
    points: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for lam in sorted(lambdas):
        for kind in KINDS:
            if on_fit is not None:
                on_fit(kind, lam)
            run = fit_codec(
                clips, out / f"lambda-{lam:g}" / kind, lmbda=lam, conditional=kind == "joint", **options
            )
            points[kind].append(_point(lam, run.metrics))
    result = {"lambdas": sorted(lambdas), "points": points, "bd_rate": bd_summary(points), "options": options}
    atomic.write_json(out / "rd.json", result)
    plot_rd(result, out / "rd.png")
    return result


def plot_rd(
    result: dict[str, Any], path: str | Path, extra: dict[str, list[dict[str, Any]]] | None = None
) -> Path:
    """Total bpp against PSNR-RGB and against depth RMSE for each model (and ``extra`` curves,
    e.g. classical codecs: name -> points with ``bpp``, ``psnr_rgb``, ``depth_rmse_mm``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {**result["points"], **(extra or {})}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, pts in curves.items():
        pts = sorted(pts, key=lambda p: p["bpp"])
        bpp = [p["bpp"] for p in pts]
        axes[0].plot(bpp, [p["psnr_rgb"] for p in pts], "o-", label=name)
        axes[1].plot(bpp, [p["depth_rmse_mm"] for p in pts], "o-", label=name)
    axes[0].set(xlabel="total bits per pixel", ylabel="PSNR-RGB (dB)", title="RGB")
    axes[1].set(xlabel="total bits per pixel", ylabel="depth RMSE (mm)", title="depth", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    target = Path(path)
    with atomic.atomic_open(target, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return target
