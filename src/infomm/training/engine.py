"""The one training loop for every multimodal method, on Lightning.

::

    PairedDataset -> split (train / val / test, stratified, seeded) -> z-score per modality (train stats)
      -> LateFusion model -> MultimodalModule (Lightning)
           training_step:   out = model(x); balancer.on_forward; loss = balancer.objective
           on_after_backward: balancer.after_backward; per-modality gradient norms
           validation:      fused / unimodal accuracy, prediction entropy, accuracy with a modality removed
      -> callbacks: metrics.json every epoch, last.ckpt every epoch (both atomic)
      -> test evaluation -> TrainResult (+ metrics plot)

Balancing methods (:mod:`infomm.balancing`) plug in through the four hooks of
:class:`~infomm.balancing.base.Balancer`; nothing here depends on which method runs. Multi-GPU
and multi-node DDP need only ``accelerator``, ``devices``, ``strategy`` and ``num_nodes``.

Example:
    >>> import numpy as np, tempfile
    >>> from infomm.data.base import PairedDataset
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> ds = PairedDataset({"a": y[:, None] + 0.5 * rng.normal(size=(400, 3)),
    ...                     "b": rng.normal(size=(400, 3))}, y, "toy")
    >>> res = train(ds, "concat", tempfile.mkdtemp(), epochs=3, batch_size=32)
    >>> res.test["accuracy"] > 0.8, len(res.history)
    (True, 3)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from infomm import atomic
from infomm.balancing import BALANCERS, Balancer, grad_norms
from infomm.estimators.fitting import torch_threads, with_options
from infomm.interface import InputError
from infomm.models import MLPEncoder, ResNetEncoder
from infomm.validation import check_int_range

#: encoder kinds of :class:`TrainConfig` (``"cnn"`` and ``"resnet18"``: image-like modalities only)
ENCODERS = ("mlp", "cnn", "resnet18")


@dataclass
class TrainConfig:
    """Everything a training run depends on (the method's own options go to the method).

    Attributes:
        epochs: passes over the training split. batch_size: mini-batch size.
        optimizer: ``"adamw"`` or ``"sgd"`` (with ``momentum``; the optimiser of the OGM-GE and
            MMPareto papers: Adam's per-parameter normalisation hides much of the weak modality's
            gradient starvation that balancing methods address).
        lr, momentum, weight_decay: optimiser settings.
        encoder: the encoder of every modality (:data:`ENCODERS`): ``"mlp"`` on the flattened
            inputs (default), ``"cnn"`` a small ResNet (:meth:`~infomm.models.ResNetEncoder.small`,
            widths ``feature_dim / 4, / 2, feature_dim``) or ``"resnet18"`` (the OGM-GE backbone, 512
            features; ``hidden`` and ``feature_dim`` do not apply) on image-like modalities.
        hidden, feature_dim: MLP width and feature size.
        val_fraction, test_fraction: stratified split sizes. seed: seeds split, init, batches.
        accelerator, devices, strategy, num_nodes: passed to ``lightning.Trainer`` (DDP: e.g.
            ``accelerator="gpu", devices=4, strategy="ddp"``).
        threads: torch intra-op threads on CPU (``None``: leave as is). progress: progress bar.
        plot: draw ``metrics.png`` at the end (about 0.5 s; turn off for many short runs).
        noise_std: std (in z-scored units) of the noise that replaces a modality in the
            "noised" evaluation.
    """

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    encoder: str = "mlp"
    hidden: int = 128
    feature_dim: int = 64
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0
    accelerator: str = "cpu"
    devices: int = 1
    strategy: str = "auto"
    num_nodes: int = 1
    threads: int | None = 1
    progress: bool = False
    plot: bool = True
    noise_std: float = 1.0

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "hidden", "feature_dim", "devices", "num_nodes"):
            check_int_range(getattr(self, name), name, 1)
        if not (self.lr > 0):
            raise InputError(f"lr={self.lr!r} must be > 0.")
        if self.encoder not in ENCODERS:
            raise InputError(f"encoder={self.encoder!r} is not known; use one of {', '.join(ENCODERS)}.")
        if self.encoder == "cnn" and self.feature_dim < 4:
            raise InputError(f"feature_dim={self.feature_dim} is too small for encoder='cnn'; use >= 4.")
        if self.optimizer not in ("adamw", "sgd"):
            raise InputError(f"optimizer={self.optimizer!r} is not known; use 'adamw' or 'sgd'.")
        if not (
            0 < self.val_fraction < 1
            and 0 < self.test_fraction < 1
            and self.val_fraction + self.test_fraction < 1
        ):
            raise InputError(
                f"val_fraction={self.val_fraction} and test_fraction={self.test_fraction} must be in (0, 1) "
                "with a sum below 1."
            )


#: the optimiser setup of the OGM-GE and MMPareto official code (SGD, lr 1e-3, momentum 0.9,
#: weight decay 1e-4), with 40 epochs for the small AV-digits encoders: the protocol under which
#: modality laziness shows (preset B: imbalance index 9.4 +- 2.5 points over 5 seeds in
#: benchmarks/balancing.py, against 2.1 with the AdamW default, whose per-parameter step normalisation feeds the starved encoder)
PAPER_PROTOCOL: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 1e-3,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "epochs": 40,
}


@dataclass
class TrainResult:
    """What a run produced: per-epoch history, test metrics, files, seconds per epoch, the model and
    the row indices of its train / validation / test splits."""

    method: str
    history: list[dict[str, float]]
    test: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)  # the trained model (not serialised)
    splits: tuple[np.ndarray, ...] = field(default=(), repr=False)  # train / val / test row indices

    @property
    def seconds_per_epoch(self) -> float:
        times = [h["seconds"] for h in self.history if "seconds" in h]
        return float(np.mean(times)) if times else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "history": self.history,
            "test": self.test,
            "files": self.files,
            "config": self.config,
            "seconds_per_epoch": self.seconds_per_epoch,
        }


class _Pairs(Dataset):  # type: ignore[type-arg]
    def __init__(self, arrays: Mapping[str, Tensor], labels: Tensor) -> None:
        self.arrays, self.labels = arrays, labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int) -> tuple[dict[str, Tensor], Tensor]:
        return {m: a[i] for m, a in self.arrays.items()}, self.labels[i]


class EpochSampler(Sampler[int]):
    """Shuffles with a permutation drawn from ``(seed, epoch)``: a resumed run sees the same batches
    as an uninterrupted one (Lightning calls :meth:`set_epoch` before every epoch)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())


def _entropy(logits: Tensor) -> Tensor:
    lp = torch.log_softmax(logits, dim=1)
    return -(lp.exp() * lp).sum(dim=1)


def _split(labels: np.ndarray, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(labels.size)
    strat = labels if np.bincount(labels).min() >= 3 else None
    rest, test = train_test_split(idx, test_size=cfg.test_fraction, random_state=cfg.seed, stratify=strat)
    val_share = cfg.val_fraction / (1 - cfg.test_fraction)
    tr, val = train_test_split(
        rest, test_size=val_share, random_state=cfg.seed, stratify=None if strat is None else labels[rest]
    )
    return np.sort(tr), np.sort(val), np.sort(test)


def _module_class() -> type:
    """The Lightning module class (built on first use, so importing infomm does not import Lightning)."""
    import lightning.pytorch as L

    class _Module(L.LightningModule):
        def __init__(self, model: Any, balancer: Balancer, cfg: TrainConfig) -> None:
            super().__init__()
            self.model, self.balancer, self.cfg = model, balancer, cfg
            model.head_gradient = bool(getattr(balancer, "head_gradient", False))
            balancer.setup(model.modality_parameters())
            self.history: list[dict[str, float]] = []
            self._sums: dict[str, list[float]] = defaultdict(list)
            self._val: dict[str, float] = defaultdict(float)
            self._last: Any = None
            self._t0 = 0.0

        def training_step(self, batch: Any, batch_idx: int) -> Tensor:
            x, y = batch
            out = self.model(x)
            self.balancer.on_forward(out, y, self.current_epoch)
            loss, parts = self.balancer.objective(out, y, self.current_epoch)
            self._last = (out, y)
            for k, v in parts.items():
                self._sums[k].append(v)
            return loss

        def on_after_backward(self) -> None:
            out, y = self._last
            self.balancer.after_backward(out, y, self.current_epoch)
            for m, g in grad_norms(self.model.modality_parameters()).items():
                self._sums[f"grad_norm/{m}"].append(g)
            for k, v in self.balancer.coefficients().items():
                self._sums[k].append(v)
            self._last = None

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            stats = evaluate_batch(self.model, x, y)
            for k, v in stats.items():
                self._val[k] += v

        def on_train_epoch_start(self) -> None:
            self._t0 = time.perf_counter()

        def on_train_epoch_end(self) -> None:
            self.close_epoch()

        def close_epoch(self) -> None:
            """Append this epoch's row to the history (once; callbacks call it before saving)."""
            if self.history and self.history[-1]["epoch"] == self.current_epoch + 1:
                return
            row: dict[str, float] = {"epoch": float(self.current_epoch + 1)}
            row["seconds"] = time.perf_counter() - self._t0
            row.update({k: float(np.mean(v)) for k, v in self._sums.items()})
            n = self._val.pop("n", 0.0)
            row.update({f"val/{k}": v / n for k, v in self._val.items()} if n else {})
            self.history.append(row)
            self._sums.clear()
            self._val.clear()

        def configure_optimizers(self) -> Any:
            params = list(self.model.parameters())
            if isinstance(self.balancer, torch.nn.Module):
                params += list(self.balancer.parameters())
            if self.cfg.optimizer == "sgd":
                return torch.optim.SGD(
                    params, lr=self.cfg.lr, momentum=self.cfg.momentum, weight_decay=self.cfg.weight_decay
                )
            return torch.optim.AdamW(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

        def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            checkpoint["infomm_history"] = self.history
            checkpoint["infomm_method"] = self.balancer.name
            checkpoint["infomm_architecture"] = _architecture(self.cfg)
            checkpoint["infomm_balancer"] = self.balancer.state_dict()
            checkpoint["infomm_rng"] = {"torch": torch.get_rng_state()}

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.history = list(checkpoint.get("infomm_history", []))
            self.balancer.load_state_dict(checkpoint.get("infomm_balancer", {}))
            rng = checkpoint.get("infomm_rng")
            if rng is not None:  # stochastic layers (dropout, reparameterisation) continue their stream
                torch.set_rng_state(rng["torch"])

    return _Module


@torch.no_grad()
def evaluate_batch(
    model: Any, x: Mapping[str, Tensor], y: Tensor, noise_std: float = 1.0
) -> dict[str, float]:
    """Sums over one batch: correct fused / unimodal predictions, entropies, and the fused accuracy
    with each modality removed (features zeroed) or noised (input replaced by N(0, noise_std^2));
    key ``n`` counts samples (divide the sums by it)."""
    was = model.training
    model.eval()
    out = model(x)
    stats = {"n": float(y.shape[0]), "accuracy": float((out.logits.argmax(1) == y).sum())}
    for m, lg in out.unimodal_logits.items():
        stats[f"accuracy/{m}"] = float((lg.argmax(1) == y).sum())
        stats[f"entropy/{m}"] = float(_entropy(lg).sum())
        if len(model.modalities) > 1:
            stats[f"accuracy_without/{m}"] = float((model(x, drop=(m,)).logits.argmax(1) == y).sum())
            g = torch.Generator().manual_seed(0)
            noised = {**x, m: torch.randn(x[m].shape, generator=g) * noise_std}
            stats[f"accuracy_noised/{m}"] = float((model(noised).logits.argmax(1) == y).sum())
    model.train(was)
    return stats


def epoch_files_callback(out_dir: Path, header: Mapping[str, Any]) -> Any:
    """Lightning callback: ``metrics.json`` (``header`` + the module's ``history``) and ``last.ckpt``
    written atomically after every epoch. The module provides ``close_epoch()`` and ``history``."""
    import lightning.pytorch as L

    class _AtomicFiles(L.Callback):
        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            module.close_epoch()  # callbacks run before the module's own hook
            atomic.write_json(out_dir / "metrics.json", {**header, "history": module.history})
            tmp = out_dir / f".last.ckpt.{os.getpid()}.tmp"
            trainer.save_checkpoint(tmp)
            os.replace(tmp, out_dir / "last.ckpt")

    return _AtomicFiles()


def _prepare(dataset: Any, cfg: TrainConfig) -> tuple[dict[str, Tensor], Tensor, tuple[np.ndarray, ...]]:
    labels = np.asarray(dataset.labels)
    _, codes = np.unique(labels, return_inverse=True)
    if codes.max() < 1:
        raise InputError("the dataset has a single class; training needs at least two.")
    splits = _split(codes, cfg)
    tr = splits[0]
    arrays = {}
    for m in dataset.modalities:
        a = np.asarray(dataset.flat(m), dtype=np.float64)
        mu, sd = a[tr].mean(axis=0), a[tr].std(axis=0)
        z = torch.as_tensor((a - mu) / np.where(sd > 1e-8, sd, 1.0), dtype=torch.float32)
        # z-scored per input element; convolutional encoders get each sample back in its own shape
        arrays[m] = z if cfg.encoder == "mlp" else z.view(-1, *np.shape(dataset.modalities[m])[1:])
    return arrays, torch.as_tensor(codes, dtype=torch.long), splits


def build_encoders(arrays: Mapping[str, Tensor], cfg: TrainConfig) -> dict[str, torch.nn.Module]:
    """One encoder per modality as ``cfg.encoder`` says, for inputs shaped as :func:`train` prepares them."""
    if cfg.encoder == "mlp":
        return {
            m: MLPEncoder(int(a[0].numel()), cfg.feature_dim, hidden=cfg.hidden) for m, a in arrays.items()
        }
    out: dict[str, torch.nn.Module] = {}
    for m, a in arrays.items():
        try:
            if cfg.encoder == "resnet18":
                out[m] = ResNetEncoder.resnet18(a.shape[1:])
            else:
                d = cfg.feature_dim
                out[m] = ResNetEncoder.small(a.shape[1:], widths=(d // 4, d // 2, d))
        except InputError as err:
            raise InputError(f"modality {m!r}: {err}") from None
    return out


def train(
    dataset: Any,
    method: str | Balancer,
    out_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    method_options: Mapping[str, Any] | None = None,
    resume: bool = True,
    **options: Any,
) -> TrainResult:
    """Train a late-fusion model on ``dataset`` with a balancing ``method``; write metrics and checkpoints.

    Args:
        dataset: a :class:`~infomm.data.base.PairedDataset` (>= 1 modality, >= 2 classes).
        method: a name in :data:`infomm.balancing.BALANCERS` or a :class:`Balancer`.
        out_dir: run folder: ``metrics.json``, ``last.ckpt``, ``result.json``, ``metrics.png``.
        config, options: :class:`TrainConfig` and keyword overrides of its fields.
        method_options: keyword arguments of the method's constructor.
        resume: continue from ``out_dir/last.ckpt`` when it exists (same config and method).

    Returns:
        :class:`TrainResult` with the per-epoch history and the test metrics.
    """
    import lightning.pytorch as L

    cfg = with_options(config or TrainConfig(), options, "train", nested=())
    cfg.validate()
    balancer = BALANCERS.get(method)(**dict(method_options or {})) if isinstance(method, str) else method
    name = method if isinstance(method, str) else balancer.name
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    arrays, labels, (tr, val, te) = _prepare(dataset, cfg)
    n_classes = int(labels.max()) + 1
    model = balancer.build_model(build_encoders(arrays, cfg), n_classes)
    module = _module_class()(model, balancer, cfg)

    def loader(idx: np.ndarray, shuffle: bool) -> DataLoader:  # type: ignore[type-arg]
        ds = _Pairs({m: a[idx] for m, a in arrays.items()}, labels[idx])
        sampler = EpochSampler(len(ds), cfg.seed) if shuffle else None
        return DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler)

    ckpt = out / "last.ckpt"
    ckpt_path = str(ckpt) if resume and ckpt.exists() else None
    if ckpt_path is not None:
        _check_checkpoint(ckpt, balancer.name, cfg)
    with torch_threads(cfg.threads):
        with quiet_lightning():
            trainer = make_trainer(
                epochs=cfg.epochs,
                accelerator=cfg.accelerator,
                devices=cfg.devices,
                strategy=cfg.strategy,
                num_nodes=cfg.num_nodes,
                progress=cfg.progress,
                callbacks=[epoch_files_callback(out, {"method": name})],
                deterministic=True,
            )
            trainer.fit(module, loader(tr, True), loader(val, False), ckpt_path=ckpt_path)
        test = _test_metrics(model, arrays, labels, te, cfg)
    result = TrainResult(name, module.history, test, config=asdict(cfg), model=model, splits=(tr, val, te))
    result.files = {
        "metrics": str(out / "metrics.json"),
        "checkpoint": str(ckpt),
        "result": str(out / "result.json"),
    }
    if cfg.plot:
        from infomm.training.plots import plot_history

        result.files["plot"] = str(plot_history(result, out / "metrics.png"))
    atomic.write_json(out / "result.json", result.to_dict())
    return result


def _test_metrics(
    model: Any, arrays: Mapping[str, Tensor], labels: Tensor, idx: np.ndarray, cfg: TrainConfig
) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    t = torch.as_tensor(idx)
    for start in range(0, t.numel(), 1024):
        b = t[start : start + 1024]
        for k, v in evaluate_batch(
            model, {m: a[b] for m, a in arrays.items()}, labels[b], cfg.noise_std
        ).items():
            sums[k] += v
    n = sums.pop("n")
    return {k: v / n for k, v in sums.items()} | {
        "n": n,
        "chance": 1.0 / (int(labels.max()) + 1),
        "log_classes": math.log(int(labels.max()) + 1),
    }


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's advice on workers and its info logging (the run shows its own progress)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*(num_workers|does not have many workers|LeafSpec|isinstance).*"
        )
        for lg in ("lightning.pytorch", "lightning.fabric", "lightning"):
            logging.getLogger(lg).setLevel(logging.ERROR)
        yield


def make_trainer(
    *,
    epochs: int,
    accelerator: str,
    devices: int,
    strategy: str,
    progress: bool,
    callbacks: list[Any],
    num_nodes: int = 1,
    **extra: Any,
) -> Any:
    """A ``lightning.Trainer`` as infomm runs it (no logger, no Lightning checkpoints, no sanity
    validation); a device or strategy this machine cannot set up is an :class:`InputError`."""
    import lightning.pytorch as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        return L.Trainer(
            max_epochs=epochs,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            num_nodes=num_nodes,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            callbacks=callbacks,
            **extra,
        )
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        raise InputError(
            f"accelerator={accelerator!r}, devices={devices}, strategy={strategy!r}, num_nodes={num_nodes} "
            f"cannot be set up here ({exc}); use accelerator='cpu', devices=1, strategy='auto' or a device "
            "this machine has."
        ) from None


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The dict in a checkpoint file; an unreadable or non-dict file is an :class:`InputError` with the fix."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise InputError(
            f"checkpoint {str(path)!r} is unreadable ({type(exc).__name__}); delete it or train with "
            "resume=False (--restart) to start over."
        ) from None
    if not isinstance(state, dict):
        raise InputError(
            f"checkpoint {str(path)!r} is not a training checkpoint; delete it or use --restart."
        )
    return state


def _architecture(cfg: TrainConfig) -> dict[str, Any]:
    """The settings that fix the model's parameter shapes (a checkpoint with others cannot load)."""
    return {"encoder": cfg.encoder, "hidden": cfg.hidden, "feature_dim": cfg.feature_dim}


def _check_checkpoint(path: Path, method: str, cfg: TrainConfig) -> None:
    """Refuse a checkpoint that cannot be read or belongs to another method or model, with the fix."""
    state = read_checkpoint(path)
    if "state_dict" not in state:
        raise InputError(
            f"checkpoint {str(path)!r} is not a training checkpoint; delete it or use --restart."
        )
    saved = state.get("infomm_method")
    if saved is not None and saved != method:
        raise InputError(
            f"checkpoint {str(path)!r} was written by method {saved!r}, not {method!r}; use another --out "
            "folder or --restart."
        )
    arch, now = state.get("infomm_architecture"), _architecture(cfg)
    if arch is not None and arch != now:
        diff = ", ".join(f"{k}: {arch.get(k)!r} -> {v!r}" for k, v in now.items() if arch.get(k) != v)
        raise InputError(
            f"checkpoint {str(path)!r} holds another model ({diff}); use another --out folder or --restart."
        )


def _with_defaults(saved: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``saved`` with the settings it lacks taken from ``defaults`` (nested dicts too)."""
    out = dict(saved)
    for k, v in defaults.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, Mapping) and isinstance(out[k], Mapping):
            out[k] = _with_defaults(out[k], v)
    return out


def check_checkpoint_settings(
    path: Path,
    fmt: str,
    settings: Mapping[str, Any],
    resumable: Sequence[str],
    what: str,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Refuse a checkpoint of another kind (``infomm_format``) or trained with other settings
    (``infomm_config`` differing outside the ``resumable`` fields), naming the difference.

    ``defaults``: the config's default settings; a setting the checkpoint does not record (it was
    written before that setting existed) counts as its default, so an older run resumes when the
    new settings are left at their defaults."""
    state = read_checkpoint(path)
    if state.get("infomm_format") != fmt:
        raise InputError(
            f"checkpoint {str(path)!r} is not a {what} checkpoint; use another --out or --restart."
        )
    saved = _with_defaults(state.get("infomm_config", {}), defaults or {})
    differ = sorted(k for k in settings if k not in resumable and saved.get(k) != settings[k])
    if differ:
        diff = ", ".join(f"{k}: {saved.get(k)!r} -> {settings[k]!r}" for k in differ)
        raise InputError(
            f"checkpoint {str(path)!r} was trained with other settings ({diff}); use another --out or --restart."
        )


def write_model_file(path: str | Path, fmt: str, **fields: Any) -> Path:
    """``torch.save({"format": fmt, **fields})`` atomically (temp file + rename)."""
    target = Path(path)
    with atomic.atomic_open(target, "wb") as fh:
        torch.save({"format": fmt, **fields}, fh)
    return target


def read_model_file(
    path: str | Path, fmt: str, model_file: str, writer: str, superseded: Sequence[str] = ()
) -> dict[str, Any]:
    """The dict of a model file written by :func:`write_model_file` (``path`` may be its run folder);
    a missing, unreadable or foreign file is an :class:`InputError` naming ``writer`` (what makes one).
    ``superseded``: earlier formats of the same model, refused with a "refit it" message."""
    target = Path(path)
    if target.is_dir():
        target = target / model_file
    if not target.exists():
        raise InputError(f"{str(target)!r} does not exist; pass a run folder written by {writer}.")
    try:
        state = torch.load(target, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise InputError(f"{str(target)!r} is unreadable ({type(exc).__name__}); refit the run.") from None
    found = state.get("format") if isinstance(state, dict) else None
    if found in superseded:
        raise InputError(
            f"{str(target)!r} was written by an earlier infomm (format {found!r}; this version reads {fmt!r}, "
            f"a different architecture); refit it with {writer}."
        )
    if found != fmt:
        raise InputError(f"{str(target)!r} is not a model file of {writer}; pass a run folder it wrote.")
    return state
