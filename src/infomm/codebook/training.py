"""Pre-train a unified codebook on paired sequences (Lightning), evaluate it, save the run.

::

    PairedSequences -> split (row_meta["split"] if present, else seeded and stratified)
      -> CodebookModel (z-scoring fitted on the training clips)
      -> Lightning, manual optimisation, per batch:
           out = model(x)                      (assigns codes, MM-EMA update of the codebook)
           CLUB networks: one step on -log q(s | z) (detached)
           encoders: one step on reconstruction + commitment + Cross-CPC + CLUB (after warm-up)
      -> every epoch: metrics.json and last.ckpt, both atomic (an interrupted run resumes)
      -> frozen encoder -> cross-modal evaluation -> model.pt, result.json

With ``baseline=True`` (the default) the no-alignment baseline (``align=False``: the same network,
every cross-modal term off) is trained with the same seed and split into ``RUN/baseline/``,
so every number is reported beside it.

Example:
    >>> import tempfile
    >>> from infomm.data import synthetic_paired_sequences
    >>> run = fit_codebook(synthetic_paired_sequences(200, seed=0), tempfile.mkdtemp(), epochs=1, baseline=False)
    >>> len(run.history), sorted(run.metrics["cross_accuracy"])
    (1, ['a->b', 'b->a'])
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from infomm import atomic
from infomm.codebook.evaluate import encode_sequences, evaluate_codes
from infomm.codebook.model import CodebookConfig, CodebookModel
from infomm.data.sequences import PairedSequences
from infomm.estimators.fitting import torch_threads, with_options
from infomm.interface import InputError
from infomm.training.engine import (
    EpochSampler,
    check_checkpoint_settings,
    epoch_files_callback,
    make_trainer,
    quiet_lightning,
    read_checkpoint,
    read_model_file,
    write_model_file,
)

MODEL_FILE = "model.pt"
FORMAT = "infomm-codebook-1"


@dataclass
class CodebookRun:
    """A trained codebook run: the model, its per-epoch history, held-out metrics and files.

    Attributes:
        model: the trained :class:`CodebookModel` (eval mode).
        config: the :class:`CodebookConfig` it was trained with.
        history: one row per epoch (mean loss terms, train perplexity and agreement, seconds).
        metrics: :func:`~infomm.codebook.evaluate.evaluate_codes` on the held-out clips.
        splits: ``(train, test)`` clip indices.
        baseline: the no-alignment baseline's run (``None`` when not trained).
        files: what was written (``metrics``, ``checkpoint``, ``model``, ``result``).
    """

    model: CodebookModel
    config: CodebookConfig
    history: list[dict[str, float]]
    metrics: dict[str, Any]
    splits: tuple[np.ndarray, np.ndarray]
    baseline: CodebookRun | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "modalities": self.model.modalities,
            "dims": self.model.dims,
            "history": self.history,
            "metrics": self.metrics,
            "n_train": int(self.splits[0].size),
            "n_test": int(self.splits[1].size),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "files": self.files,
        }


class _Clips(Dataset):  # type: ignore[type-arg]
    def __init__(self, arrays: Mapping[str, Tensor]) -> None:
        self.arrays = dict(arrays)
        self.n = int(next(iter(arrays.values())).shape[0])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {m: a[i] for m, a in self.arrays.items()}


def split_clips(seqs: PairedSequences, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` clip indices: the data's own ``row_meta["split"]`` when it has one
    (``1`` / ``"test"`` is held out, everything else trains), else a seeded split stratified by class."""
    from sklearn.model_selection import train_test_split

    if "split" in seqs.row_meta:
        raw = np.asarray(seqs.row_meta["split"])
        test_mask = (raw == "test") if raw.dtype.kind in "US" else (raw.astype(np.int64) == 1)
        train, test = np.nonzero(~test_mask)[0], np.nonzero(test_mask)[0]
        if train.size == 0 or test.size == 0:
            raise InputError(
                f"row_meta['split'] puts {train.size} clips in train and {test.size} in test; both must be "
                "non-empty (load split='all' for a file with both)."
            )
        return train, test
    labels = np.asarray(seqs.labels)
    strat = labels if np.bincount(labels).min() >= 2 else None
    train, test = train_test_split(
        np.arange(len(seqs)), test_size=test_fraction, random_state=seed, stratify=strat
    )
    return np.sort(train), np.sort(test)


def _module_class() -> type:
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(self, model: CodebookModel) -> None:
            super().__init__()
            self.model = model
            self.automatic_optimization = False
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._t0 = 0.0

        def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
            opt, opt_club = self.optimizers()  # type: ignore[misc,attr-defined]
            out = self.model(batch)
            opt_club.zero_grad()
            self.manual_backward(self.model.club_learning_loss(out))
            opt_club.step()
            terms = self.model.objective(batch, out, self.current_epoch)
            opt.zero_grad()
            self.manual_backward(terms["total"])
            opt.step()
            for k, v in terms.items():
                self._sums[k].append(float(v.detach()))
            self._sums["perplexity"].append(float(out.perplexity))
            self._sums["agreement"].append(float(out.agreement))

        def on_train_epoch_start(self) -> None:
            self._t0 = time.perf_counter()

        def on_train_epoch_end(self) -> None:
            self.close_epoch()

        def close_epoch(self) -> None:
            if self.history and self.history[-1]["epoch"] == self.current_epoch + 1:
                return
            row = {"epoch": float(self.current_epoch + 1), "seconds": time.perf_counter() - self._t0}
            row.update({k: float(np.mean(v)) for k, v in self._sums.items()})
            row["codebook_resets"] = float(self.model.vq.resets)
            self.history.append(row)
            self._sums.clear()

        def configure_optimizers(self) -> Any:
            cfg = self.model.config
            main = torch.optim.Adam(self.model.main_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
            club = torch.optim.Adam(self.model.club.parameters(), lr=cfg.lr)
            return [main, club]

        def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            checkpoint["infomm_format"] = FORMAT
            checkpoint["infomm_config"] = self.model.config.to_dict()
            checkpoint["infomm_dims"] = self.model.dims
            checkpoint["infomm_history"] = self.history
            checkpoint["infomm_rng"] = torch.get_rng_state()

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.history = list(checkpoint.get("infomm_history", []))
            if "infomm_rng" in checkpoint:  # dead-code resets draw from the global stream
                torch.set_rng_state(checkpoint["infomm_rng"])

    return _Module


def _check_checkpoint(path: Path, cfg: CodebookConfig, dims: Mapping[str, int]) -> None:
    check_checkpoint_settings(
        path, FORMAT, cfg.to_dict(), ("epochs", "progress", "threads"), "codebook", CodebookConfig().to_dict()
    )
    if dict(read_checkpoint(path).get("infomm_dims", {})) != dict(dims):
        raise InputError(
            f"checkpoint {str(path)!r} was trained with other settings (the data's modalities); "
            "use another --out or --restart."
        )


def _train_one(
    seqs: PairedSequences, train_idx: np.ndarray, cfg: CodebookConfig, out: Path, resume: bool
) -> tuple[CodebookModel, list[dict[str, float]]]:
    import lightning.pytorch as L

    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = CodebookModel(seqs.dims, cfg)
    arrays = {m: torch.as_tensor(np.asarray(v, dtype=np.float32)) for m, v in seqs.modalities.items()}
    model.fit_scaler({m: a[train_idx] for m, a in arrays.items()})
    module = _module_class()(model)
    if cfg.batch_size > train_idx.size:
        raise InputError(
            f"batch_size={cfg.batch_size} exceeds the {train_idx.size} training clips; lower --batch-size."
        )
    data = _Clips({m: a[train_idx] for m, a in arrays.items()})
    loader = DataLoader(
        data, batch_size=cfg.batch_size, sampler=EpochSampler(len(data), cfg.seed), drop_last=True
    )
    ckpt = out / "last.ckpt"
    ckpt_path = str(ckpt) if resume and ckpt.exists() else None
    if ckpt_path is not None:
        _check_checkpoint(ckpt, cfg, seqs.dims)
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
    return model, module.history


def _check_sequences(seqs: Any) -> None:
    if not isinstance(seqs, PairedSequences):
        raise InputError(
            f"data is a {type(seqs).__name__}; pass infomm.data.PairedSequences (e.g. "
            "synthetic_paired_sequences(), avdigit_strings() or load_ave_features(root))."
        )
    if seqs.step_labels is None:
        raise InputError("the sequences have no step_labels; cross-modal evaluation needs a class per step.")


def fit_codebook(
    seqs: PairedSequences,
    out_dir: str | Path,
    *,
    config: CodebookConfig | None = None,
    resume: bool = True,
    baseline: bool = True,
    **options: Any,
) -> CodebookRun:
    """Train a unified codebook (and the no-alignment baseline), evaluate both, write the run.

    Args:
        seqs: paired sequences (2+ modalities, ``step_labels`` for the evaluation only: training
            uses no label).
        out_dir: run folder: ``metrics.json``, ``last.ckpt``, ``model.pt``, ``result.json`` and
            ``baseline/`` with the same files.
        config, options: :class:`CodebookConfig` and keyword overrides of its fields.
        resume: continue from ``last.ckpt`` when it exists (same settings; more ``epochs`` extends it).
        baseline: also train the ``align=False`` baseline with the same seed and split.

    Returns:
        :class:`CodebookRun` (``run.baseline`` holds the baseline's).
    """
    _check_sequences(seqs)
    cfg = with_options(config or CodebookConfig(), options, "fit_codebook", nested=())
    cfg.validate()
    out = Path(out_dir)
    train_idx, test_idx = split_clips(seqs, cfg.test_fraction, cfg.seed)
    with torch_threads(cfg.threads):
        base_run = None
        if baseline and cfg.align:
            base_run = _fit_and_save(
                seqs, replace(cfg, align=False), out / "baseline", train_idx, test_idx, resume
            )
        run = _fit_and_save(seqs, cfg, out, train_idx, test_idx, resume, base_run)
    return run


def _fit_and_save(
    seqs: PairedSequences,
    cfg: CodebookConfig,
    out: Path,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    resume: bool,
    base_run: CodebookRun | None = None,
) -> CodebookRun:
    model, history = _train_one(seqs, train_idx, cfg, out, resume)
    idx, vec = encode_sequences(model, seqs)
    metrics = evaluate_codes(idx, vec, seqs, train_idx, test_idx, cfg.n_codes, seed=cfg.seed)
    run = CodebookRun(model, cfg, history, metrics, (train_idx, test_idx), base_run)
    save_model(run, out / MODEL_FILE)
    run.files = {
        "metrics": str(out / "metrics.json"),
        "checkpoint": str(out / "last.ckpt"),
        "model": str(out / MODEL_FILE),
        "result": str(out / "result.json"),
    }
    atomic.write_json(out / "result.json", run.to_dict())
    return run


def save_model(run: CodebookRun, path: str | Path) -> Path:
    """Write the trained model with its config, dims and splits (atomically)."""
    return write_model_file(
        path,
        FORMAT,
        config=run.config.to_dict(),
        dims=run.model.dims,
        state_dict=run.model.state_dict(),
        train=run.splits[0],
        test=run.splits[1],
    )


def load_model(path: str | Path) -> tuple[CodebookModel, tuple[np.ndarray, np.ndarray]]:
    """Read a model written by :func:`save_model` (or a run folder): ``(model in eval mode, (train, test))``."""
    state = read_model_file(path, FORMAT, MODEL_FILE, "`infomm codebook fit`")
    cfg = CodebookConfig(**state["config"])
    model = CodebookModel(state["dims"], cfg)
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model, (np.asarray(state["train"]), np.asarray(state["test"]))
