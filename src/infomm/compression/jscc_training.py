"""Train a :class:`DepthVideoJSCC` (Lightning) and save / load it; evaluation is in :mod:`.jscc_eval`.

::

    RGB-D clips -> frames -> seeded train / test split (as the codec's: frames_from_clips, split_frames)
      -> DepthVideoJSCC, one SNR per item ~ U(snr_range_db), channel noise from torch's global RNG
      -> loss = w_rgb MSE_rgb ([0, 1] units) + w_depth MSE_depth (m^2, valid pixels only)
         (Bourtsoulatze et al. 2019, Sec. III: MSE end to end through the channel)
      -> every epoch: metrics.json and last.ckpt (atomic; the RNG state rides in the checkpoint, so
         a resumed run draws the same SNRs and noise as an uninterrupted one)
      -> held-out PSNR-RGB / depth RMSE per SNR (AWGN; also Rayleigh for a Rayleigh model)
      -> model.pt, result.json

Example:
    >>> import tempfile
    >>> from infomm.data import synthetic_rgbd
    >>> run = fit_jscc(synthetic_rgbd(4, frames=2, size=(32, 32)), tempfile.mkdtemp(), epochs=1,
    ...                batch_size=2, channels=8, eval_snrs_db=(0.0, 20.0))
    >>> [row["snr_db"] for row in run.metrics["channels"]["awgn"]]
    [0.0, 20.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infomm.compression.frame_training import FrameRun, finish_run, train_on_frames
from infomm.compression.jscc import DepthVideoJSCC, JSCCConfig, JSCCOutput
from infomm.compression.jscc_eval import check_snrs, evaluate_jscc
from infomm.compression.model import check_frames
from infomm.compression.training import frames_from_clips, split_frames
from infomm.estimators.fitting import torch_threads, with_options
from infomm.interface import InputError
from infomm.training.engine import read_model_file
from infomm.validation import check_int_range

MODEL_FILE = "model.pt"
FORMAT = "infomm-jscc-2"
#: earlier formats (another architecture: :mod:`.jscc`, "Width at the channel"), refused with "refit"
SUPERSEDED = ("infomm-jscc-1",)


@dataclass
class JSCCTrainConfig:
    """Every setting of a JSCC run.

    Attributes:
        jscc: the model and channel (:class:`JSCCConfig`; its fields are options too).
        w_rgb, w_depth: weights of the RGB MSE ([0, 1] units) and the valid depth MSE (m^2).
        epochs, batch_size, lr, seed: optimisation (frames per batch; Adam).
        test_fraction: held-out frames. eval_snrs_db: SNRs of the held-out evaluation.
        progress, accelerator, devices, strategy, threads: the training engine's settings.
    """

    jscc: JSCCConfig = field(default_factory=JSCCConfig)
    w_rgb: float = 1.0
    w_depth: float = 1.0
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    test_fraction: float = 0.2
    eval_snrs_db: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    progress: bool = False
    accelerator: str = "cpu"
    devices: int = 1
    strategy: str = "auto"
    threads: int | None = None

    def validate(self) -> None:
        self.jscc.validate()
        for name in ("w_rgb", "w_depth", "lr"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise InputError(f"{name}={v!r} must be a finite number >= 0.")
        check_int_range(self.epochs, "epochs", 1)
        check_int_range(self.batch_size, "batch_size", 1)
        if not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction={self.test_fraction} must be in (0, 1).")
        self.eval_snrs_db = check_snrs(self.eval_snrs_db, "eval_snrs_db")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def jscc_loss(out: JSCCOutput, rgb: Tensor, depth: Tensor, cfg: JSCCTrainConfig) -> dict[str, Tensor]:
    """``w_rgb mean((rgb_hat - rgb)^2) + w_depth sum(valid (d_hat - d)^2) / sum(valid)`` and its terms."""
    mse_rgb = torch.mean((out.rgb - rgb) ** 2)
    valid = (depth > 0).to(depth.dtype)
    mse_depth = ((out.depth - depth) ** 2 * valid).sum() / valid.sum().clamp_min(1.0)
    loss = cfg.w_rgb * mse_rgb + cfg.w_depth * mse_depth
    return {"loss": loss, "mse_rgb": mse_rgb, "mse_depth": mse_depth, "snr_db": out.snr_db.mean()}


def _loss(model: DepthVideoJSCC, rgb: Tensor, depth: Tensor, cfg: JSCCTrainConfig) -> dict[str, Tensor]:
    return jscc_loss(model(rgb, depth), rgb, depth, cfg)  # one SNR drawn per item


#: settings a run may change when it resumes
_RESUMABLE = ("epochs", "progress", "threads", "eval_snrs_db")
#: a trained JSCC model (eval mode) with held-out metrics per SNR
JSCCRun = FrameRun


def fit_jscc(
    clips: Sequence[Any],
    out_dir: str | Path,
    *,
    config: JSCCTrainConfig | None = None,
    resume: bool = True,
    **options: Any,
) -> JSCCRun:
    """Train a JSCC model on the frames of ``clips``, evaluate it on held-out frames, write the run.

    Args:
        clips: RGB-D clips (:class:`~infomm.data.RGBDClip`: e.g. ``synthetic_rgbd(...)``).
        out_dir: run folder: ``metrics.json``, ``last.ckpt``, ``model.pt``, ``result.json``.
        config, options: :class:`JSCCTrainConfig` and keyword overrides of its (and
            :class:`JSCCConfig`'s) fields.
        resume: continue from ``last.ckpt`` when it exists (same settings; more ``epochs`` extends it).
    """
    cfg = with_options(config or JSCCTrainConfig(), options, "fit_jscc", nested=("jscc",))
    cfg.validate()
    rgb, depth = frames_from_clips(clips)
    check_frames(rgb, depth)
    train_idx, test_idx = split_frames(rgb.shape[0], cfg.test_fraction, cfg.seed)
    out = Path(out_dir)
    with torch_threads(cfg.threads):
        model, history = train_on_frames(
            lambda: DepthVideoJSCC(cfg.jscc),
            _loss,
            cfg,
            fmt=FORMAT,
            what="JSCC",
            resumable=_RESUMABLE,
            frames=(rgb[train_idx], depth[train_idx]),
            out=out,
            resume=resume,
        )
        metrics = evaluate_jscc(model, rgb[test_idx], depth[test_idx], cfg.eval_snrs_db, seed=cfg.seed)
    return finish_run(FrameRun(model, cfg, history, metrics, FORMAT), out, MODEL_FILE)


def load_jscc(path: str | Path) -> DepthVideoJSCC:
    """A model written by :func:`fit_jscc` (or its run folder), in eval mode."""
    state = read_model_file(
        path, FORMAT, MODEL_FILE, "fit_jscc (`infomm compress fit --channel ...`)", superseded=SUPERSEDED
    )
    model = DepthVideoJSCC(JSCCConfig(**state["config"]["jscc"]))
    model.load_state_dict(state["state_dict"])
    return model.eval()
