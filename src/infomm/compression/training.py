"""Train a :class:`DepthVideoCodec` on RGB-D frames (Lightning), evaluate it, save the run.

::

    RGB-D clips -> frames (rgb in [0, 1], depth in metres, 0 = invalid) -> seeded train / test split
      (a temporal codec: windows of ``clip_length`` consecutive frames instead of frames)
      -> DepthVideoCodec -> loss = bpp_total + lambda * 255^2 * (w_rgb MSE_rgb + w_depth MSE_depth[m^2])
                                  (+ the VQ commitment term for quantizer="vq")
         (depth error on valid pixels only; Balle et al. 2018 Eq. 2: the rate-distortion Lagrangian)
      -> every epoch: metrics.json and last.ckpt, both atomic (an interrupted run resumes)
      -> update() (tables frozen) -> held-out evaluation with real bitstreams -> model.pt, result.json

Example:
    >>> import tempfile
    >>> from infomm.data import synthetic_rgbd
    >>> run = fit_codec(synthetic_rgbd(8, frames=2, size=(32, 32)), tempfile.mkdtemp(), epochs=1,
    ...                 batch_size=4, channels=8, shared=4, private=2)
    >>> sorted(run.metrics["bpp_actual"])
    ['depth', 'rgb', 'shared', 'total']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.compression.evaluate import evaluate_codec
from infomm.compression.frame_training import FrameRun, finish_run, train_on_frames
from infomm.compression.model import MAX_CLIP_FRAMES, CodecConfig, DepthVideoCodec
from infomm.compression.nesting import embed_independent, nesting_config
from infomm.estimators.fitting import torch_threads, with_options
from infomm.interface import InputError
from infomm.training.engine import read_model_file
from infomm.validation import check_int_range

MODEL_FILE = "model.pt"
FORMAT = "infomm-compress-1"
#: how the held-out items are chosen (:func:`split_items`)
SPLITS = ("frames", "clips")
#: streams a bit budget can name (``total`` is the whole file, container included)
BUDGET_STREAMS = ("rgb", "depth", "shared", "total")


@dataclass
class CodecTrainConfig:
    """Every setting of a codec run.

    Attributes:
        codec: the architecture (:class:`CodecConfig`; its fields are options too).
        lmbda: rate-distortion trade-off lambda (larger: better quality, more bits).
        w_rgb, w_depth: weights of the per-modality distortions.
        budgets: optional bit budgets, stream (``rgb``, ``depth``, ``shared``, ``total``) -> bits per
            pixel, enforced by dual ascent (:class:`~infomm.compression.frame_training.RateBudgets`);
            the held-out metrics report each budget against the actual bits.
        budget_step: the dual step on the relative violation.
        budget_holdout: fraction of the training frames set aside (not trained on) on which the
            dual step measures the budgeted rates, so that the budget holds for frames the codec
            has not seen (0: measure on the training batch).
        clip_length: frames per training and evaluation clip of a ``temporal`` codec (the
            clips are cut into non-overlapping windows of this many frames).
        epochs, batch_size, lr, seed: optimisation (frames, or clips, per batch; Adam).
        init: a codec run (folder or ``model.pt``) whose weights the training starts from,
            with a fresh optimiser and the noise reseeded: a run of the same codec, or an
            ``independent`` codec that this joint codec nests (:mod:`~infomm.compression.nesting`;
            its cross-modal weights start at zero). A checkpoint to resume from comes first.
        test_fraction: held-out frames (clips).
        split_by: ``"frames"``: hold out frames drawn at random (a held-out frame's neighbours
            may be trained on); ``"clips"``: hold out whole clips (scenes, and for the shuffled
            control their RGB/depth pairings, the codec has never seen).
        progress, accelerator, devices, strategy, threads: the training engine's settings.
    """

    codec: CodecConfig = field(default_factory=CodecConfig)
    lmbda: float = 0.01
    w_rgb: float = 1.0
    w_depth: float = 1.0
    budgets: dict[str, float] = field(default_factory=dict)
    budget_step: float = 0.05
    budget_holdout: float = 0.1
    clip_length: int = 2
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    init: str = ""
    test_fraction: float = 0.2
    split_by: str = "frames"
    progress: bool = False
    accelerator: str = "cpu"
    devices: int = 1
    strategy: str = "auto"
    threads: int | None = None

    def validate(self) -> None:
        self.codec.validate()
        for name in ("lmbda", "w_rgb", "w_depth", "lr"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise InputError(f"{name}={v!r} must be a finite number >= 0.")
        check_int_range(self.epochs, "epochs", 1)
        check_int_range(self.batch_size, "batch_size", 1)
        check_int_range(self.clip_length, "clip_length", 2, MAX_CLIP_FRAMES)
        if not isinstance(self.budgets, dict):
            raise InputError(f"budgets={self.budgets!r} must be a dict of stream -> bits per pixel.")
        for k, v in self.budgets.items():
            if k not in BUDGET_STREAMS:
                raise InputError(
                    f"budgets[{k!r}]: no such stream; budget one of {', '.join(BUDGET_STREAMS)}."
                )
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < float("inf")):
                raise InputError(f"budgets[{k!r}]={v!r} must be a positive number of bits per pixel.")
        if not (isinstance(self.budget_step, (int, float)) and 0 < self.budget_step < float("inf")):
            raise InputError(f"budget_step={self.budget_step!r} must be a positive number (e.g. 0.05).")
        if not (isinstance(self.budget_holdout, (int, float)) and 0 <= self.budget_holdout < 1):
            raise InputError(f"budget_holdout={self.budget_holdout!r} must be in [0, 1) (e.g. 0.1).")
        if not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction={self.test_fraction} must be in (0, 1).")
        if self.split_by not in SPLITS:
            raise InputError(f"split_by={self.split_by!r} is not known; use one of {', '.join(SPLITS)}.")
        if not isinstance(self.init, str):
            raise InputError(f"init={self.init!r} must be the path of a codec run (or '' for none).")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def frames_from_clips(clips: Sequence[Any]) -> tuple[Tensor, Tensor]:
    """Every frame of RGB-D clips as tensors: rgb (N, 3, H, W) in [0, 1], depth (N, 1, H, W) in m."""
    if len(clips) == 0:
        raise InputError("no clips: pass at least one RGB-D clip (e.g. infomm.data.synthetic_rgbd(64))")
    sizes = sorted({tuple(np.asarray(c.rgb).shape[1:3]) for c in clips})
    if len(sizes) > 1:
        raise InputError(
            f"the clips have {len(sizes)} frame sizes ({sizes[:3]}...); crop or resize them to one size"
        )
    rgb = np.concatenate([np.asarray(c.rgb) for c in clips])
    depth = np.concatenate([np.asarray(c.depth) for c in clips])
    r = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    d = torch.from_numpy(depth.astype(np.float32))[:, None] / 1000.0
    return r.contiguous(), d


def clip_windows(clips: Sequence[Any], length: int) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows of ``length`` consecutive frames of every clip, as clips:
    rgb (N, length, 3, H, W) in [0, 1], depth (N, length, 1, H, W) in m (a shorter clip gives none)."""
    rgb, depth = frames_from_clips(clips)
    starts, offset = [], 0
    for c in clips:
        t = int(np.asarray(c.rgb).shape[0])
        starts += [offset + i for i in range(0, t - length + 1, length)]
        offset += t
    if not starts:
        raise InputError(
            f"clip_length={length}: no clip has that many frames; lower clip_length or use longer clips"
        )
    idx = torch.tensor(starts)[:, None] + torch.arange(length)[None, :]
    return rgb[idx], depth[idx]


def codec_items(clips: Sequence[Any], cfg: CodecTrainConfig) -> tuple[Tensor, Tensor]:
    """What a codec of this config trains and is evaluated on: frames, or clip windows (temporal)."""
    if cfg.codec.temporal:
        return clip_windows(clips, cfg.clip_length)
    return frames_from_clips(clips)


def rd_loss(out: Any, rgb: Tensor, depth: Tensor, cfg: CodecTrainConfig) -> dict[str, Tensor]:
    """The Lagrangian and its terms: bpp, MSE of RGB ([0, 1] units), MSE of valid depth (m^2)."""
    mse_rgb = torch.mean((out.rgb - rgb) ** 2)
    valid = (depth > 0).to(depth.dtype)
    mse_depth = ((out.depth - depth) ** 2 * valid).sum() / valid.sum().clamp_min(1.0)
    distortion = cfg.w_rgb * mse_rgb + cfg.w_depth * mse_depth
    loss = out.bpp["total"] + cfg.lmbda * 255.0**2 * distortion + out.aux_loss
    terms = {"loss": loss, "bpp": out.bpp["total"], "mse_rgb": mse_rgb, "mse_depth": mse_depth}
    return terms | {f"bpp/{k}": v for k, v in out.bpp.items()}


def _loss(model: DepthVideoCodec, rgb: Tensor, depth: Tensor, cfg: CodecTrainConfig) -> dict[str, Tensor]:
    out = model(rgb, depth)
    terms = rd_loss(out, rgb, depth, cfg)
    if cfg.budgets and not cfg.budget_holdout:  # the dual step's constraint: what a file of this batch takes
        coded = model.coded_bpp(out.latents, int(rgb.shape[-2] * rgb.shape[-1]))
        terms |= {f"coded/{k}": torch.tensor(v) for k, v in coded.items()}
    return terms


#: settings a run may change when it resumes
RESUMABLE = ("epochs", "progress", "threads")
#: a trained codec (``run.model`` updated, eval mode)
CodecRun = FrameRun


def split_frames(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, test)`` frame indices (at least one of each)."""
    if n < 2:
        raise InputError(f"{n} frame(s); training and held-out evaluation need at least 2")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def split_items(
    clips: Sequence[Any],
    test_fraction: float,
    seed: int,
    *,
    split_by: str = "frames",
    clip_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, test)`` indices into the items of ``clips``: their frames, or with
    ``clip_length`` their :func:`clip_windows`. ``split_by="clips"`` holds out whole clips (all
    their items), ``"frames"`` items drawn at random."""
    per_clip = [int(np.asarray(c.rgb).shape[0]) for c in clips]
    if clip_length is not None:
        per_clip = [t // clip_length for t in per_clip]
    if split_by == "frames":
        return split_frames(sum(per_clip), test_fraction, seed)
    if split_by != "clips":
        raise InputError(f"split_by={split_by!r} is not known; use one of {', '.join(SPLITS)}.")
    owner = np.repeat(np.arange(len(per_clip)), per_clip)
    used = np.unique(owner)
    if used.size < 2:
        raise InputError(
            f"split_by='clips' needs items from at least 2 clips (got {used.size}); pass more clips "
            "or split_by='frames'"
        )
    _, test = split_frames(used.size, test_fraction, seed)
    held = np.isin(owner, used[test])
    return np.flatnonzero(~held), np.flatnonzero(held)


def fit_codec(
    clips: Sequence[Any],
    out_dir: str | Path,
    *,
    config: CodecTrainConfig | None = None,
    resume: bool = True,
    **options: Any,
) -> CodecRun:
    """Train a codec on the frames of ``clips``, evaluate it on held-out frames, write the run.

    Args:
        clips: RGB-D clips (:class:`~infomm.data.RGBDClip`: e.g. ``synthetic_rgbd(...)``).
        out_dir: run folder: ``metrics.json``, ``last.ckpt``, ``model.pt``, ``result.json``.
        config, options: :class:`CodecTrainConfig` and keyword overrides of its (and
            :class:`CodecConfig`'s) fields.
        resume: continue from ``last.ckpt`` when it exists (same settings; more ``epochs`` extends it).
    """
    cfg = with_options(config or CodecTrainConfig(), options, "fit_codec", nested=("codec",))
    cfg.validate()
    rgb, depth = codec_items(clips, cfg)
    train_idx, test_idx = split_items(
        clips,
        cfg.test_fraction,
        cfg.seed,
        split_by=cfg.split_by,
        clip_length=cfg.clip_length if cfg.codec.temporal else None,
    )
    measure = None
    if cfg.budgets and cfg.budget_holdout:
        fit, aside = split_frames(train_idx.size, cfg.budget_holdout, cfg.seed + 1)
        train_idx, aside_idx = train_idx[fit], train_idx[aside]
        measure = (_coded_bpp, (rgb[aside_idx], depth[aside_idx]))
    out = Path(out_dir)

    def build() -> DepthVideoCodec:
        model = DepthVideoCodec(cfg.codec)
        if cfg.init:
            warm_start(model, cfg.init)
            torch.manual_seed(cfg.seed)  # the same noise for every model started this way
        return model

    with torch_threads(cfg.threads):
        model, history = train_on_frames(
            build,
            _loss,
            cfg,
            fmt=FORMAT,
            what="codec",
            resumable=RESUMABLE,
            frames=(rgb[train_idx], depth[train_idx]),
            out=out,
            resume=resume,
            measure=measure,
        )
        model.update()
        metrics = evaluate_codec(model, rgb[test_idx], depth[test_idx])
    if cfg.budgets:
        metrics["budgets"] = budget_report(cfg.budgets, metrics)
    return finish_run(FrameRun(model, cfg, history, metrics, FORMAT), out, MODEL_FILE)


def warm_start(model: DepthVideoCodec, path: str | Path) -> None:
    """Load into ``model`` the weights of the codec run at ``path``: a run of the same codec, or an
    ``independent`` codec that ``model`` nests (embedded, cross-modal weights zero)."""
    try:
        source = load_codec(path)
    except InputError as e:
        raise InputError(f"init={str(path)!r}: {e}") from None
    if source.config == model.config:
        state = source.state_dict()
    elif model.config in _nesting(source.config):
        state = embed_independent(source, coupled=model.config.coupled).state_dict()
    else:
        nests = " or ".join(c.model_id for c in _nesting(source.config))
        raise InputError(
            f"init={str(path)!r} holds a {source.config.model_id} codec, which cannot start a "
            f"{model.config.model_id} one; start the same codec"
            + (f", or a joint codec that nests it: {nests} (nesting_config)" if nests else "")
        )
    model.load_state_dict(state)


def _nesting(source: CodecConfig) -> list[CodecConfig]:
    """The joint codecs that nest the codec ``source`` (none unless it is an independent codec)."""
    try:
        return [nesting_config(source, coupled) for coupled in (False, True)]
    except InputError:
        return []


def _coded_bpp(model: DepthVideoCodec, rgb: Tensor, depth: Tensor) -> dict[str, float]:
    return model.coded_bpp(model.encode_latents(rgb, depth), int(rgb.shape[-2] * rgb.shape[-1]))


def budget_report(budgets: dict[str, float], metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """stream -> ``{budget, bpp_actual, relative_error, standard_error}``: each budget against the
    held-out actual bits (``metrics`` of :func:`~infomm.compression.evaluate_codec`); the standard
    error of the relative error comes from the spread of the frames' rates (0 with one frame)."""
    out = {}
    for s, b in budgets.items():
        actual = float(metrics["bpp_actual"][s])
        per = np.array([r["bpp_actual"][s] for r in metrics.get("per_frame", [])], dtype=np.float64)
        se = float(per.std(ddof=1) / np.sqrt(per.size) / b) if per.size > 1 else 0.0
        out[s] = {
            "budget": float(b),
            "bpp_actual": actual,
            "relative_error": actual / b - 1.0,
            "standard_error": se,
        }
    return out


def load_codec(path: str | Path) -> DepthVideoCodec:
    """A model written by :func:`fit_codec` (or its run folder), updated and in eval mode."""
    state = read_model_file(path, FORMAT, MODEL_FILE, "`infomm compress fit`")
    model = DepthVideoCodec(CodecConfig(**state["config"]["codec"]))
    model.load_state_dict(state["state_dict"])
    return model.eval()
