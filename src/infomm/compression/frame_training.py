"""The training loop every frame model of :mod:`infomm.compression` shares (codec and JSCC).

One Lightning module (Adam, a per-epoch history of the loss terms, the torch RNG state in the
checkpoint: the rounding noise, SNR draws and channel noise all come from it, so a resumed run
equals an uninterrupted one), one :func:`train_on_frames` (seeded init, epoch sampler, settings
check on resume, atomic files every epoch) and one run record. A model kind supplies only its
builder, its loss and its format name.

Bit budgets (:class:`RateBudgets`) turn the Lagrangian into a constrained problem: minimise
``R + lambda D`` subject to ``R_s <= B_s`` for the budgeted streams ``s``, by dual ascent on one
multiplier per stream (Boyd, Parikh, Chu, Peleato & Eckstein 2011, "Distributed Optimization and
Statistical Learning via the Alternating Direction Method of Multipliers", Sec. 2.1, Eq. 2.2-2.3:
a primal step on the Lagrangian, then ``mu <- mu + alpha^k (R - B)`` with a step size ``alpha^k``
of one's choosing; here one stochastic primal step per dual step, the violation taken relative to
the budget, and ``mu`` kept >= 0 for an inequality constraint):

    loss_k   = R + lambda D + sum_s mu_s,k R_s
    mu_s,k+1 = max(0, mu_s,k + alpha (1 + mu_s,k) (R_s,k / B_s - 1))

The step ``alpha (1 + mu)`` grows with the multiplier: the multiplier a budget needs scales with
how much distortion the stream's bits buy (with depth errors in m^2 and lambda 0.01 it runs into
the hundreds), which a fixed step reaches only after thousands of steps; growing geometrically it
gets there in a few hundred, and near 0 it still moves by about ``alpha``. At a binding budget
``mu_s`` settles where the stream's rate equals its budget; a budget the unconstrained model
already meets leaves ``mu_s`` at 0.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
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

#: measure(model, rgb, depth) -> stream -> bits per pixel a file of these frames would take (no grad)
MeasureFn = Callable[[Any, Tensor, Tensor], dict[str, float]]
#: loss(model, rgb, depth, train config) -> {"loss": ..., other terms}; every term is logged per epoch.
#: With bit budgets the terms include ``bpp/<stream>`` (differentiable: the penalty's gradient) for
#: every budgeted stream, and may include ``coded/<stream>`` (the rate a file would take: the dual step).
LossFn = Callable[[Any, Tensor, Tensor, Any], dict[str, Tensor]]


class RateBudgets:
    """Dual ascent on one multiplier per budgeted stream (see the module docstring).

    Args:
        budgets: stream -> budget in bits per pixel (> 0).
        step: the dual step ``alpha`` on the relative violation (> 0).

    Example:
        >>> import torch
        >>> b = RateBudgets({"depth": 0.1}, step=0.5)
        >>> float(b.penalty({"depth": torch.tensor(0.2)}))  # mu starts at 0
        0.0
        >>> b.step_({"depth": 0.2}); b.mu                    # 100 % over budget: mu += 0.5 * (1 + 0) * 1.0
        {'depth': 0.5}
        >>> b.step_({"depth": 0.3}); round(b.mu["depth"], 9)  # 200 % over: mu += 0.5 * (1 + 0.5) * 2.0
        2.0
        >>> b.step_({"depth": 0.0}); round(b.mu["depth"], 9)  # under budget: mu -= 0.5 * (1 + 2) * 1.0
        0.5
        >>> b.step_({"depth": 0.0}); b.mu                    # ... and never below 0
        {'depth': 0.0}
    """

    def __init__(self, budgets: dict[str, float], step: float = 0.05) -> None:
        self.budgets = {k: float(v) for k, v in budgets.items()}
        self.step = float(step)
        self.mu = dict.fromkeys(self.budgets, 0.0)

    def penalty(self, rates: dict[str, Tensor]) -> Tensor:
        """``sum_s mu_s R_s`` with the current multipliers (the constant ``- mu B`` has no gradient)."""
        return sum((self.mu[s] * rates[s] for s in self.budgets), torch.zeros(()))

    def step_(self, rates: dict[str, float]) -> None:
        """One dual step from this batch's rates (floats, bits per pixel)."""
        for s, b in self.budgets.items():
            self.mu[s] = max(0.0, self.mu[s] + self.step * (1.0 + self.mu[s]) * (rates[s] / b - 1.0))

    def state_dict(self) -> dict[str, Any]:
        return {"mu": dict(self.mu)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mu.update({k: float(v) for k, v in state.get("mu", {}).items() if k in self.mu})


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


def _module_class() -> type:
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(
            self,
            model: nn.Module,
            cfg: Any,
            loss: LossFn,
            fmt: str,
            measure: tuple[MeasureFn, tuple[Tensor, Tensor]] | None = None,
        ) -> None:
            super().__init__()
            self.model, self.cfg, self.loss, self.fmt = model, cfg, loss, fmt
            budgets = dict(getattr(cfg, "budgets", None) or {})
            self.budgets = RateBudgets(budgets, getattr(cfg, "budget_step", 0.05)) if budgets else None
            self.measure = measure
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._t0 = 0.0

        def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
            rgb, depth = batch
            terms = self.loss(self.model, rgb, depth, self.cfg)
            loss = terms["loss"]
            if self.budgets is not None:
                rates = {s: terms[f"bpp/{s}"] for s in self.budgets.budgets}
                loss = loss + self.budgets.penalty(rates)
                for name, mu in self.budgets.mu.items():
                    self._sums[f"mu/{name}"].append(mu)
                self.budgets.step_(self._constraint(terms, rates))
            for k, v in terms.items():
                self._sums[k].append(float(v.detach()))
            return loss

        def _constraint(self, terms: dict[str, Tensor], rates: dict[str, Tensor]) -> dict[str, float]:
            """The rates the dual step reads: measured on the next batch of the held-aside frames when
            there are some (the rate of frames the model does not train on, as new files will be),
            else ``coded/<s>`` of the training batch where the loss gives it, else its ``bpp/<s>``."""
            if self.measure is None:
                return {s: float(terms.get(f"coded/{s}", r).detach()) for s, r in rates.items()}
            fn, (rgb, depth) = self.measure
            n = max(1, rgb.shape[0] // self.cfg.batch_size)
            i = self.global_step % n  # a function of the step: a resumed run measures the same frames
            sl = slice(i * rgb.shape[0] // n, (i + 1) * rgb.shape[0] // n)
            with torch.no_grad():
                got = fn(self.model, rgb[sl].to(self.device), depth[sl].to(self.device))
            for s in rates:
                self._sums[f"held_aside/{s}"].append(got[s])
            return {s: got[s] for s in rates}

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
            if self.budgets is not None:
                checkpoint["infomm_budgets"] = self.budgets.state_dict()

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.history = list(checkpoint.get("infomm_history", []))
            if self.budgets is not None:
                self.budgets.load_state_dict(checkpoint.get("infomm_budgets", {}))
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
    measure: tuple[MeasureFn, tuple[Tensor, Tensor]] | None = None,
) -> tuple[Any, list[dict[str, float]]]:
    """Build (seeded) and train a model on ``frames = (rgb, depth)``; ``(model in eval mode, history)``.

    ``cfg`` provides ``seed, batch_size, lr, epochs, accelerator, devices, strategy, progress`` and
    ``to_dict()`` (and ``budgets``, ``budget_step`` for bit budgets); a checkpoint in ``out``
    trained with settings that differ outside ``resumable`` is refused. ``measure = (fn, frames)``:
    the dual step of the bit budgets reads ``fn`` on batches of these held-aside frames.
    """
    import lightning.pytorch as L

    rgb, depth = frames
    if cfg.batch_size > rgb.shape[0]:
        raise InputError(f"batch_size={cfg.batch_size} exceeds the {rgb.shape[0]} training frames; lower it.")
    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build()
    module = _module_class()(model, cfg, loss, fmt, measure)
    data = TensorDataset(rgb, depth)
    loader = DataLoader(
        data, batch_size=cfg.batch_size, sampler=EpochSampler(len(data), cfg.seed), drop_last=True
    )
    ckpt = out / "last.ckpt"
    ckpt_path = str(ckpt) if resume and ckpt.exists() else None
    if ckpt_path is not None:
        check_checkpoint_settings(ckpt, fmt, cfg.to_dict(), resumable, what, defaults=type(cfg)().to_dict())
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
