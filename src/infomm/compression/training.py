"""Train a :class:`DepthVideoCodec` on RGB-D frames (Lightning), evaluate it, save the run.

::

    RGB-D clips -> frames (rgb in [0, 1], depth in metres, 0 = invalid) -> seeded train / test split
      -> DepthVideoCodec -> loss = bpp_total + lambda * 255^2 * (w_rgb MSE_rgb + w_depth MSE_depth[m^2])
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
from infomm.compression.evaluate import evaluate_codec
from infomm.compression.model import CodecConfig, DepthVideoCodec
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
FORMAT = "infomm-compress-1"


@dataclass
class CodecTrainConfig:
    """Every setting of a codec run.

    Attributes:
        codec: the architecture (:class:`CodecConfig`; its fields are options too).
        lmbda: rate-distortion trade-off lambda (larger: better quality, more bits).
        w_rgb, w_depth: weights of the per-modality distortions.
        epochs, batch_size, lr, seed: optimisation (frames per batch; Adam).
        test_fraction: held-out frames.
        progress, accelerator, devices, strategy, threads: the training engine's settings.
    """

    codec: CodecConfig = field(default_factory=CodecConfig)
    lmbda: float = 0.01
    w_rgb: float = 1.0
    w_depth: float = 1.0
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    test_fraction: float = 0.2
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
        if not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction={self.test_fraction} must be in (0, 1).")

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


def rd_loss(out: Any, rgb: Tensor, depth: Tensor, cfg: CodecTrainConfig) -> dict[str, Tensor]:
    """The Lagrangian and its terms: bpp, MSE of RGB ([0, 1] units), MSE of valid depth (m^2)."""
    mse_rgb = torch.mean((out.rgb - rgb) ** 2)
    valid = (depth > 0).to(depth.dtype)
    mse_depth = ((out.depth - depth) ** 2 * valid).sum() / valid.sum().clamp_min(1.0)
    distortion = cfg.w_rgb * mse_rgb + cfg.w_depth * mse_depth
    loss = out.bpp["total"] + cfg.lmbda * 255.0**2 * distortion
    return {"loss": loss, "bpp": out.bpp["total"], "mse_rgb": mse_rgb, "mse_depth": mse_depth}


def _module_class() -> type:
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(self, model: DepthVideoCodec, cfg: CodecTrainConfig) -> None:
            super().__init__()
            self.model, self.cfg = model, cfg
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._t0 = 0.0

        def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
            rgb, depth = batch
            terms = rd_loss(self.model(rgb, depth), rgb, depth, self.cfg)
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
            if "infomm_rng" in checkpoint:  # the training noise (the rounding proxy) draws from it
                torch.set_rng_state(checkpoint["infomm_rng"])

    return _Module


def _check_checkpoint(path: Path, cfg: CodecTrainConfig) -> None:
    state = read_checkpoint(path)
    if state.get("infomm_format") != FORMAT:
        raise InputError(
            f"checkpoint {str(path)!r} is not a codec checkpoint; use another --out or --restart."
        )
    saved, now = dict(state.get("infomm_config", {})), cfg.to_dict()
    differ = sorted(k for k in now if k not in ("epochs", "progress", "threads") and saved.get(k) != now[k])
    if differ:
        what = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in differ)
        raise InputError(
            f"checkpoint {str(path)!r} was trained with other settings ({what}); use another --out."
        )


@dataclass
class CodecRun:
    """A trained codec: the model (updated, eval mode), history, held-out metrics, files."""

    model: DepthVideoCodec
    config: CodecTrainConfig
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


def split_frames(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, test)`` frame indices (at least one of each)."""
    if n < 2:
        raise InputError(f"{n} frame(s); training and held-out evaluation need at least 2")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


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
    import lightning.pytorch as L

    cfg = with_options(config or CodecTrainConfig(), options, "fit_codec", nested=("codec",))
    cfg.validate()
    rgb, depth = frames_from_clips(clips)
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
        model = DepthVideoCodec(cfg.codec)
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
        model.update()
        metrics = evaluate_codec(model, rgb[test_idx], depth[test_idx])
    finally:
        torch.set_num_threads(old_threads)
    run = CodecRun(model, cfg, module.history, metrics)
    save_codec(run, out / MODEL_FILE)
    run.files = {
        k: str(out / f)
        for k, f in (
            ("metrics", "metrics.json"),
            ("checkpoint", "last.ckpt"),
            ("model", MODEL_FILE),
            ("result", "result.json"),
        )
    }
    atomic.write_json(out / "result.json", run.to_dict())
    return run


def save_codec(run: CodecRun, path: str | Path) -> Path:
    """Write the updated model and its settings (atomically)."""
    target = Path(path)
    with atomic.atomic_open(target, "wb") as fh:
        torch.save(
            {"format": FORMAT, "config": run.config.to_dict(), "state_dict": run.model.state_dict()}, fh
        )
    return target


def load_codec(path: str | Path) -> DepthVideoCodec:
    """A model written by :func:`save_codec` (or a run folder), updated and in eval mode."""
    target = Path(path)
    if target.is_dir():
        target = target / MODEL_FILE
    if not target.exists():
        raise InputError(
            f"{str(target)!r} does not exist; pass a run folder written by `infomm compress fit`."
        )
    try:
        state = torch.load(target, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise InputError(f"{str(target)!r} is unreadable ({type(exc).__name__}); refit the run.") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(
            f"{str(target)!r} is not an infomm codec; pass a run folder from `infomm compress fit`."
        )
    model = DepthVideoCodec(CodecConfig(**state["config"]["codec"]))
    model.load_state_dict(state["state_dict"])
    return model.eval()
