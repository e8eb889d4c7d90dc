"""The training loop every frame model of :mod:`infomm.compression` shares (codec and JSCC).

One Lightning module (Adam, a per-epoch history of the loss terms, the torch RNG state in the
checkpoint: the rounding noise, SNR draws and channel noise all come from it, so a resumed run
equals an uninterrupted one), one :func:`train_on_frames` (seeded init, epoch sampler, settings
check on resume, atomic files every epoch) and one run record. A model kind supplies only its
builder, its loss and its format name.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from infomm import atomic
from infomm.interface import InputError
from infomm.training.engine import (
    EpochSampler,
    check_checkpoint_settings,
    epoch_files_callback,
    make_trainer,
    quiet_lightning,
    write_model_file,
)

#: loss(model, rgb, depth, train config) -> {"loss": ..., other terms}; every term is logged per epoch
LossFn = Callable[[Any, Tensor, Tensor, Any], dict[str, Tensor]]


@dataclass
class FrameRun:
    """A trained frame model (eval mode), its per-epoch history, held-out metrics and files."""

    model: Any
    config: Any
    history: list[dict[str, float]]
    metrics: dict[str, Any]
    fmt: str
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "config": self.config.to_dict(),
            "history": self.history,
            "metrics": self.metrics,
            "files": self.files,
        }


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` torch threads inside the block (``None``: leave them), restore afterwards."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _module_class() -> type:
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(self, model: nn.Module, cfg: Any, loss: LossFn, fmt: str) -> None:
            super().__init__()
            self.model, self.cfg, self.loss, self.fmt = model, cfg, loss, fmt
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._t0 = 0.0

        def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
            rgb, depth = batch
            terms = self.loss(self.model, rgb, depth, self.cfg)
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
            checkpoint["infomm_format"] = self.fmt
            checkpoint["infomm_config"] = self.cfg.to_dict()
            checkpoint["infomm_history"] = self.history
            checkpoint["infomm_rng"] = torch.get_rng_state()

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.history = list(checkpoint.get("infomm_history", []))
            if "infomm_rng" in checkpoint:
                torch.set_rng_state(checkpoint["infomm_rng"])

    return _Module


def train_on_frames(
    build: Callable[[], nn.Module],
    loss: LossFn,
    cfg: Any,
    *,
    fmt: str,
    what: str,
    resumable: Sequence[str],
    frames: tuple[Tensor, Tensor],
    out: Path,
    resume: bool,
) -> tuple[Any, list[dict[str, float]]]:
    """Build (seeded) and train a model on ``frames = (rgb, depth)``; ``(model in eval mode, history)``.

    ``cfg`` provides ``seed, batch_size, lr, epochs, accelerator, devices, strategy, progress`` and
    ``to_dict()``; a checkpoint in ``out`` trained with settings that differ outside ``resumable``
    is refused.
    """
    import lightning.pytorch as L

    rgb, depth = frames
    if cfg.batch_size > rgb.shape[0]:
        raise InputError(f"batch_size={cfg.batch_size} exceeds the {rgb.shape[0]} training frames; lower it.")
    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build()
    module = _module_class()(model, cfg, loss, fmt)
    data = TensorDataset(rgb, depth)
    loader = DataLoader(
        data, batch_size=cfg.batch_size, sampler=EpochSampler(len(data), cfg.seed), drop_last=True
    )
    ckpt = out / "last.ckpt"
    ckpt_path = str(ckpt) if resume and ckpt.exists() else None
    if ckpt_path is not None:
        check_checkpoint_settings(ckpt, fmt, cfg.to_dict(), resumable, what)
    with quiet_lightning():
        trainer = make_trainer(
            epochs=cfg.epochs,
            accelerator=cfg.accelerator,
            devices=cfg.devices,
            strategy=cfg.strategy,
            progress=cfg.progress,
            callbacks=[epoch_files_callback(out, {"format": fmt})],
            limit_val_batches=0,
        )
        trainer.fit(module, loader, ckpt_path=ckpt_path)
    return model.cpu().eval(), module.history


def finish_run(run: FrameRun, out: Path, model_file: str) -> FrameRun:
    """Write the model file and ``result.json`` (both atomic); record the run's files."""
    write_model_file(
        out / model_file, run.fmt, config=run.config.to_dict(), state_dict=run.model.state_dict()
    )
    names = (
        ("metrics", "metrics.json"),
        ("checkpoint", "last.ckpt"),
        ("model", model_file),
        ("result", "result.json"),
    )
    run.files = {k: str(out / f) for k, f in names}
    atomic.write_json(out / "result.json", run.to_dict())
    return run
