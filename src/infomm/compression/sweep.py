"""An RD sweep: the joint codec and a baseline at several lambdas, RD points, BD-rates, a plot.

::

    for lambda in lambdas:                          DIR/lambda-<L>/joint, DIR/lambda-<L>/<baseline>
        fit_codec(..., joint / baseline)            (each resumes from its own last.ckpt when it
                                                     was fitted on the same frames, else starts
                                                     again; a point finished with the same settings
                                                     on the same frames is read back, not refitted)
    -> DIR/rd.json: points per model, BD-rate of joint vs the baseline on PSNR-RGB and on depth quality,
       on whole files (bd_rate) and on the streams alone (bd_rate_latent: the container, about 54
       bytes whose model id differs in length between the models, left out)
    -> DIR/rd.png: total bpp against PSNR-RGB and against depth RMSE, both models

Baselines (:data:`BASELINES`), both on the joint codec's backbone and sizes:

* ``separate``: the same latents, each under its own marginal model (the joint codec's gain over
  it mixes the cross-modal saving with the hyperprior-like conditioning within a modality);
* ``independent``: two codecs with no path between the modalities, each private latent coded
  given its own modality's part of the shared latent (``CodecConfig.independent``): the gain over
  it is what coding the modalities together saves, so it is the baseline of the controls
  (shuffled pairs: no gain; RGB a function of depth: the RGB bits at most).

``nested=E`` replaces the two separately trained codecs with a nested pair::

    DIR/lambda-<L>/independent            the independent codec (``epochs``): the start
    DIR/lambda-<L>/independent-nested<E>  E more epochs from the start
    DIR/lambda-<L>/joint-nested<E>        the joint codec that nests the start (its weights, the
                                          cross-modal blocks zero: :mod:`~infomm.compression.nesting`),
                                          E more epochs, the same batches and noise

``coupled=True`` makes the joint codec the *coupled* one (``CodecConfig.coupled``: the independent
transforms, entropy models that read across the modalities); the sweep writes ``rd-coupled.json``
and ``rd-coupled.png``, and a nested sweep reads back the same start and nested independent codec
as the sweep of the nesting joint codec in the same folder (the coupled codec trains in
``coupled-nested<E>``).

Two architectures trained apart differ in how fast they train as well as in what they can
represent; at short training lengths that difference swamps the cross-modal gain (the shuffled
control showed one). The nested pair differs only in the cross-modal paths.

Example:
    >>> import tempfile
    >>> from infomm.data import synthetic_rgbd
    >>> res = rd_sweep(synthetic_rgbd(6, frames=2, size=(32, 32)), tempfile.mkdtemp(), [0.01, 0.1], epochs=1,
    ...                batch_size=4, channels=8, shared=4, private=2)
    >>> [len(res["points"][k]) for k in ("joint", "separate")]
    [2, 2]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infomm import atomic
from infomm.compression.model import CodecConfig
from infomm.compression.nesting import nesting_config
from infomm.compression.rd import BDResult, bd_rate, depth_quality_db
from infomm.compression.training import MODEL_FILE, CodecTrainConfig, fit_codec
from infomm.estimators.fitting import with_options
from infomm.interface import InputError

#: baseline name -> the codec settings that make it
BASELINES: dict[str, dict[str, Any]] = {
    "separate": {"conditional": False},
    "independent": {"conditional": True, "independent": True},
}


def _point(lmbda: float, m: dict[str, Any]) -> dict[str, Any]:
    row = {
        "lambda": lmbda,
        "bpp": m["bpp_actual"]["total"],
        "bpp_estimated": m["bpp_estimated"]["total"],
        "bpp_streams": {k: m["bpp_actual"][k] for k in ("shared", "rgb", "depth")},
        "bpp_latent": sum(m["bpp_actual"][k] for k in ("shared", "rgb", "depth")),
        "psnr_rgb": m["psnr_rgb"],
        "depth_rmse_mm": m["depth_rmse_mm"],
    }
    if "operational_mi" in m:
        row["operational_mi_bpp"] = m["operational_mi"]["bpp"]
    if "bpp_side" in m:
        row["bpp_side"] = m["bpp_side"]
    return row


def _bd(
    ref: list[dict[str, Any]],
    test: list[dict[str, Any]],
    axis: Callable[[dict[str, Any]], float],
    rate: str,
) -> dict[str, Any]:
    try:
        res: BDResult = bd_rate(
            [p[rate] for p in ref], [axis(p) for p in ref], [p[rate] for p in test], [axis(p) for p in test]
        )
    except InputError as e:
        return {"bd_rate": None, "reason": str(e)}
    return {"bd_rate": res.bd_rate, "quality_range_db": list(res.quality_range)}


def bd_summary(ref: list[dict[str, Any]], test: list[dict[str, Any]], rate: str = "bpp") -> dict[str, Any]:
    """BD-rate of the ``test`` points (e.g. the joint codec's) against the ``ref`` points on each
    quality axis (PSNR-RGB; depth as :func:`~infomm.compression.rd.depth_quality_db`). ``rate``:
    ``"bpp"`` (whole files) or ``"bpp_latent"`` (the three streams, the container left out)."""
    return {
        "rgb_psnr": _bd(ref, test, lambda p: p["psnr_rgb"], rate),
        "depth": _bd(ref, test, lambda p: depth_quality_db(p["depth_rmse_mm"]), rate),
    }


SWEEP_FILE = "sweep.json"
#: settings that do not change what a finished run computed
_IRRELEVANT = ("progress", "threads")


def _record(data: str, start: str | None) -> dict[str, Any]:
    """What ``sweep.json`` holds: the frames' hash and, for a nested point, its start's."""
    return {"data": data} if start is None else {"data": data, "start": start}


def data_fingerprint(clips: Sequence[Any]) -> str:
    """A hash of the clips' RGB and depth arrays (which frames a sweep point was fitted on)."""
    h = hashlib.blake2b(digest_size=16)
    for c in clips:
        for a in (c.rgb, c.depth):
            arr = np.ascontiguousarray(a)
            h.update(str((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def _recorded(folder: Path) -> dict[str, Any] | None:
    try:
        got = json.loads((folder / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) else None


def start_fingerprint(run: str | Path) -> str:
    """A hash of the weights file of the codec run a nested point starts from (``init``): a start
    fitted again gives other weights, so the points trained from the old one are fitted again."""
    path = Path(run)
    path = path / MODEL_FILE if path.is_dir() else path
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def finished_metrics(
    folder: Path, options: dict[str, Any], data: str, start: str | None = None
) -> dict[str, Any] | None:
    """The held-out metrics of a run in ``folder`` that finished with exactly these settings on the
    same data (``result.json`` and the sweep's ``sweep.json`` with :func:`data_fingerprint`) and,
    for a run started from another (``init``), from the same weights (``start``:
    :func:`start_fingerprint`; the start's path may differ, as in a moved folder), else None: a
    sweep that is run again skips its finished points instead of re-evaluating them."""
    path = folder / "result.json"
    if _recorded(folder) != _record(data, start) or not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        want = with_options(CodecTrainConfig(), dict(options), "rd_sweep", nested=("codec",)).to_dict()
        got = {**CodecTrainConfig().to_dict(), **saved["config"]}
        got["codec"] = {**CodecConfig().to_dict(), **saved["config"].get("codec", {})}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # a nested point's start is recorded by its weights' hash (``start``), not by where it lies:
    # a sweep's folder that was moved or renamed is read back, not fitted again
    for k in (*_IRRELEVANT, "init") if start is not None else _IRRELEVANT:
        want.pop(k, None)
        got.pop(k, None)
    return saved["metrics"] if got == want else None


#: the coupled codec's settings (``rd_sweep(coupled=True)``)
COUPLED: dict[str, Any] = {**BASELINES["independent"], "coupled": True}


def _kinds(
    baseline: str, nested: int, options: dict[str, Any], coupled: bool = False
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Point name -> (folder name, settings) of each model a sweep fits, in fitting order."""
    if not nested:
        first: tuple[str, dict[str, Any]] = (
            ("coupled", COUPLED) if coupled else ("joint", {"conditional": True})
        )
        return {"joint": first, baseline: (baseline, BASELINES[baseline])}
    start = BASELINES["independent"]
    more = {"epochs": nested, "init": "independent"}
    if coupled:
        return {
            "start": ("independent", start),
            "joint": (f"coupled-nested{nested}", {**more, **COUPLED}),
            "independent": (f"independent-nested{nested}", {**more, **start}),
        }
    codec = with_options(CodecTrainConfig(), {**options, **start}, "rd_sweep", nested=("codec",)).codec
    joint = nesting_config(codec)
    return {
        "start": ("independent", start),
        "joint": (
            f"joint-nested{nested}",
            {
                **more,
                "independent": False,
                "conditional": True,
                "shared": joint.shared,
                "fusion_hidden": joint.fusion_hidden,
            },
        ),
        "independent": (f"independent-nested{nested}", {**more, **start}),
    }


def rd_sweep(
    clips: Sequence[Any],
    out_dir: str | Path,
    lambdas: Sequence[float],
    *,
    baseline: str = "separate",
    nested: int = 0,
    coupled: bool = False,
    on_fit: Callable[[str, float], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Fit the joint codec and the ``baseline`` (:data:`BASELINES`) at every lambda (see the module
    docstring); returns what ``rd.json`` holds.

    ``nested=E`` (``baseline="independent"`` only): at each lambda the independent codec is fitted
    (``start``), and both codecs then train ``E`` more epochs from it (``init``), the independent
    one as it is and the joint one as the joint codec that nests it, its cross-modal weights
    starting at zero (:mod:`~infomm.compression.nesting`): the same weights, batches and noise at
    the start, so the comparison measures what the cross-modal paths add, not how fast two
    architectures train. ``coupled``: the joint codec is the coupled one (module docstring)."""
    if len(lambdas) < 2 or any(not lam > 0 for lam in lambdas):
        raise InputError(
            f"lambdas={list(lambdas)}: pass at least 2 positive values (6 or more for a BD-rate)"
        )
    if baseline not in BASELINES:
        raise InputError(f"baseline={baseline!r} is not known; use one of {', '.join(BASELINES)}")
    clash = sorted(set(options) & {"conditional", "independent", "init", "fusion_hidden", "coupled"})
    if clash:
        raise InputError(f"{clash}: the sweep sets these per model; choose the codecs with baseline=")
    if isinstance(nested, bool) or not isinstance(nested, int) or nested < 0:
        raise InputError(f"nested={nested!r} must be a number of epochs >= 0 (0: no nested pair)")
    if (nested or coupled) and baseline != "independent":
        what = f"nested={nested}" if nested else "coupled=True"
        raise InputError(f"{what} compares against baseline='independent' (got {baseline!r})")
    out = Path(out_dir)
    data = data_fingerprint(clips)

    def fit(folder: Path, settings: dict[str, Any]) -> dict[str, Any]:
        start = start_fingerprint(settings["init"]) if "init" in settings else None
        metrics = finished_metrics(folder, settings, data, start)
        if metrics is None:
            # resume only a run of these frames (an interrupted one) from the same start; a
            # folder written on other frames or from other starting weights, or before these
            # were recorded, starts again
            same = _recorded(folder) == _record(data, start)
            folder.mkdir(parents=True, exist_ok=True)
            atomic.write_json(folder / SWEEP_FILE, _record(data, start))
            metrics = fit_codec(clips, folder, resume=same, **settings).metrics
        return metrics

    kinds = _kinds(baseline, nested, options, coupled)
    points: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for lam in sorted(lambdas):
        for kind, (name, settings) in kinds.items():
            if on_fit is not None:
                on_fit(kind, lam)
            folder = out / f"lambda-{lam:g}" / name
            settings = {"lmbda": lam, **options, **settings}
            if "init" in settings:  # the nested pair starts from this lambda's start point
                settings["init"] = str(out / f"lambda-{lam:g}" / settings["init"])
            points[kind].append(_point(lam, fit(folder, settings)))
    result = {
        "lambdas": sorted(lambdas),
        "baseline": baseline,
        "nested": nested,
        "coupled": coupled,
        "points": points,
        "bd_rate": bd_summary(points[baseline], points["joint"]),
        "bd_rate_latent": bd_summary(points[baseline], points["joint"], "bpp_latent"),
        "options": options,
    }
    name = "rd-coupled" if coupled else "rd"
    atomic.write_json(out / f"{name}.json", result)
    plot_rd(result, out / f"{name}.png")
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
