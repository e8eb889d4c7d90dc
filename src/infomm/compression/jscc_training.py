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

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from infomm import atomic
from infomm.compression.jscc import DepthVideoJSCC, JSCCConfig, JSCCOutput
from infomm.compression.jscc_eval import check_snrs, evaluate_jscc
from infomm.compression.model import check_frames
from infomm.compression.training import frames_from_clips, split_frames
from infomm.estimators.fitting import with_options
from infomm.interface import InputError
from infomm.training.engine import (
    EpochSampler,
    epoch_files_callback,
    make_trainer,
    quiet_lightning,
    read_checkpoint,
)
from infomm.validation import check_int_range

MODEL_FILE = "model.pt"
FORMAT = "infomm-jscc-1"


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


def _module_class() -> type:
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(self, model: DepthVideoJSCC, cfg: JSCCTrainConfig) -> None:
            super().__init__()
            self.model, self.cfg = model, cfg
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._t0 = 0.0

        def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
            rgb, depth = batch
            terms = jscc_loss(self.model(rgb, depth), rgb, depth, self.cfg)  # SNRs drawn per item
            for k, v in terms.items():
                self._sums[k].append(float(v.detach()))
            return terms["loss"]

        def on_train_epoch_start(self) -> None:
            self._t0 = time.perf_counter()

        def close_epoch(self) -> None:
            if self.history and self.history[-1]["epoch"] == self.current_epoch + 1:
                return
            row = {"epoch": float(self.current_epoch + 1), "seconds": time.perf_counter() - self._t0}
            row.update({k: float(np.mean(v)) for k, v in self._sums.items()})
            self.history.append(row)
            self._sums.clear()

        def on_train_epoch_end(self) -> None:
            self.close_epoch()

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr)

        def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            checkpoint["infomm_format"] = FORMAT
            checkpoint["infomm_config"] = self.cfg.to_dict()
            checkpoint["infomm_history"] = self.history
            checkpoint["infomm_rng"] = torch.get_rng_state()

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.history = list(checkpoint.get("infomm_history", []))
            if "infomm_rng" in checkpoint:  # the SNR draws and the channel noise come from it
                torch.set_rng_state(checkpoint["infomm_rng"])

    return _Module


_RESUMABLE = ("epochs", "progress", "threads", "eval_snrs_db")


def _check_checkpoint(path: Path, cfg: JSCCTrainConfig) -> None:
    state = read_checkpoint(path)
    if state.get("infomm_format") != FORMAT:
        raise InputError(
            f"checkpoint {str(path)!r} is not a JSCC checkpoint; use another --out or --restart."
        )
    saved, now = dict(state.get("infomm_config", {})), cfg.to_dict()
    differ = sorted(k for k in now if k not in _RESUMABLE and saved.get(k) != now[k])
    if differ:
        what = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in differ)
        raise InputError(
            f"checkpoint {str(path)!r} was trained with other settings ({what}); use another --out."
        )


@dataclass
class JSCCRun:
    """A trained JSCC model (eval mode), its history, held-out metrics per SNR, files."""

    model: DepthVideoJSCC
    config: JSCCTrainConfig
    history: list[dict[str, float]]
    metrics: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "history": self.history,
            "metrics": self.metrics,
            "files": self.files,
        }


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
    import lightning.pytorch as L

    cfg = with_options(config or JSCCTrainConfig(), options, "fit_jscc", nested=("jscc",))
    cfg.validate()
    rgb, depth = frames_from_clips(clips)
    check_frames(rgb, depth)
    train_idx, test_idx = split_frames(rgb.shape[0], cfg.test_fraction, cfg.seed)
    if cfg.batch_size > train_idx.size:
        raise InputError(
            f"batch_size={cfg.batch_size} exceeds the {train_idx.size} training frames; lower it."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old_threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        model = DepthVideoJSCC(cfg.jscc)
        module = _module_class()(model, cfg)
        data = TensorDataset(rgb[train_idx], depth[train_idx])
        loader = DataLoader(
            data, batch_size=cfg.batch_size, sampler=EpochSampler(len(data), cfg.seed), drop_last=True
        )
        ckpt = out / "last.ckpt"
        ckpt_path = str(ckpt) if resume and ckpt.exists() else None
        if ckpt_path is not None:
            _check_checkpoint(ckpt, cfg)
        with quiet_lightning():
            trainer = make_trainer(
                epochs=cfg.epochs,
                accelerator=cfg.accelerator,
                devices=cfg.devices,
                strategy=cfg.strategy,
                progress=cfg.progress,
                callbacks=[epoch_files_callback(out, {"format": FORMAT})],
                limit_val_batches=0,
            )
            trainer.fit(module, loader, ckpt_path=ckpt_path)
        model.cpu().eval()
        metrics = evaluate_jscc(model, rgb[test_idx], depth[test_idx], cfg.eval_snrs_db, seed=cfg.seed)
    finally:
        torch.set_num_threads(old_threads)
    run = JSCCRun(model, cfg, module.history, metrics)
    save_jscc(run, out / MODEL_FILE)
    names = (
        ("metrics", "metrics.json"),
        ("checkpoint", "last.ckpt"),
        ("model", MODEL_FILE),
        ("result", "result.json"),
    )
    run.files = {k: str(out / f) for k, f in names}
    atomic.write_json(out / "result.json", run.to_dict())
    return run


def save_jscc(run: JSCCRun, path: str | Path) -> Path:
    """Write the model and its settings (atomically)."""
    target = Path(path)
    with atomic.atomic_open(target, "wb") as fh:
        torch.save(
            {"format": FORMAT, "config": run.config.to_dict(), "state_dict": run.model.state_dict()}, fh
        )
    return target


def load_jscc(path: str | Path) -> DepthVideoJSCC:
    """A model written by :func:`save_jscc` (or a run folder), in eval mode."""
    target = Path(path)
    if target.is_dir():
        target = target / MODEL_FILE
    if not target.exists():
        raise InputError(f"{str(target)!r} does not exist; pass a run folder written by fit_jscc.")
    try:
        state = torch.load(target, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise InputError(f"{str(target)!r} is unreadable ({type(exc).__name__}); refit the run.") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{str(target)!r} is not an infomm JSCC model; pass a run folder from fit_jscc.")
    model = DepthVideoJSCC(JSCCConfig(**state["config"]["jscc"]))
    model.load_state_dict(state["state_dict"])
    return model.eval()
