"""The one fitting routine behind every trained estimator.

Neural MI bounds, variational upper bounds (CLUB, L1Out, DoE) and the mixture density all
train through :func:`fit`: a held-out split, mini-batches of a fixed size, Adam, early
stopping on the (smoothed) held-out score with the best state restored, divergence
detection, a seed, an optional rich progress bar. A method supplies an :class:`Objective`
(a module plus ``loss`` and ``score``); it never owns a loop.

Example:
    >>> import torch
    >>> class Mean(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.mu = torch.nn.Parameter(torch.zeros(1))
    ...     def loss(self, x):
    ...         return ((x - self.mu) ** 2).mean()
    ...     def score(self, x):
    ...         return -float(((x - self.mu) ** 2).mean())
    >>> data = torch.full((200, 1), 3.0)
    >>> m = Mean()
    >>> r = fit(m, (data[:150],), (data[150:],), FitConfig(lr=0.1, max_epochs=100, batch_size=50))
    >>> round(float(m.mu.detach()), 2)
    3.0
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from infomm.interface import InputError

C = TypeVar("C")


class Objective(Protocol):
    """What :func:`fit` trains: a module with a loss to minimise and a score to maximise.

    ``loss(*batch) -> Tensor``: scalar training loss of one mini-batch (minimised).
    ``score(*data) -> float``: held-out quality of one batch (maximised; e.g. an MI value,
    or minus a cross-entropy).
    """

    @property
    def loss(self) -> Callable[..., Tensor]: ...

    @property
    def score(self) -> Callable[..., float]: ...

    def parameters(self) -> Iterator[nn.Parameter]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...


@dataclass
class FitConfig:
    """Hyper-parameters of the fitting routine, shared by every trained estimator.

    Attributes:
        batch_size: mini-batch size (also the batch of held-out read-outs).
        max_epochs: upper limit on passes over the training split.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        heldout_fraction: share of samples kept out of training for early stopping and read-out.
        patience: epochs without improvement of the smoothed held-out score before stopping.
        smoothing: weight of the newest held-out score in its moving average (1 = none).
        min_delta: smallest rise of the smoothed held-out score that counts as an improvement.
        max_seconds: wall-clock limit per fit (``None``: no limit).
        seed: seeds the split, the initialisation and the batch order.
        threads: torch intra-op threads during the fit (``None``: leave as is). Small
            networks run fastest on one thread.
        progress: show a rich progress bar.
        device: torch device.
    """

    batch_size: int = 256
    max_epochs: int = 100
    lr: float = 2e-3
    weight_decay: float = 0.0
    heldout_fraction: float = 0.3
    patience: int = 10
    smoothing: float = 0.5
    min_delta: float = 1e-4
    max_seconds: float | None = None
    seed: int = 0
    threads: int | None = 1
    progress: bool = False
    device: str = "cpu"

    def validate(self) -> None:
        if not (0.0 < self.heldout_fraction < 1.0):
            raise InputError(f"heldout_fraction={self.heldout_fraction} must be in (0, 1), e.g. 0.3.")
        for name in ("batch_size", "max_epochs", "patience"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InputError(f"{name}={v!r} must be a positive integer.")
        if not (self.lr > 0):
            raise InputError(f"lr={self.lr!r} must be > 0.")
        if not (0.0 < self.smoothing <= 1.0):
            raise InputError(f"smoothing={self.smoothing} must be in (0, 1].")
        try:
            dev = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise InputError(f"device={self.device!r} is not a torch device; use 'cpu' or 'cuda'.") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device={self.device!r} but this torch has no CUDA device; use device='cpu'.")


@dataclass
class FitResult:
    """What a fit did: best epoch, scores, history, whether it diverged, seconds."""

    best_epoch: int
    epochs_run: int
    train_score: float
    heldout_score: float
    diverged: bool
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


_TYPE_NAMES = {"int": int, "float": float, "bool": bool, "str": str}


def _coerce(value: Any, annotation: Any, name: str) -> Any:
    """Check ``value`` against a dataclass field annotation such as ``"int"`` or ``"float | None"``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [t.strip() for t in text.split("|")]
    if value is None:
        if "None" in parts:
            return None
        raise InputError(f"{name}=None is not allowed; pass a value of type {text}.")
    wanted = [_TYPE_NAMES[t] for t in parts if t in _TYPE_NAMES]
    if not wanted:
        return value  # a nested config or another type: checked where it is used
    if bool in wanted and isinstance(value, bool):
        return value
    if int in wanted and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if float in wanted and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    if str in wanted and isinstance(value, str):
        return value
    raise InputError(f"{name}={value!r} has the wrong type; pass a value of type {text}.")


def with_options(config: C, options: dict[str, Any], what: str, nested: tuple[str, ...] = ("fit",)) -> C:
    """A copy of the config dataclass ``config`` with fields set by name, types checked.

    A name may be a field of ``config`` or of one of its ``nested`` config fields (``fit``,
    ``critic_config`` ...), so one flat ``**options`` reaches every setting: the pattern that
    keeps every estimator's constructor short. Unknown names and wrong types raise
    :class:`InputError` naming the option and the fix.

    Example:
        >>> with_options(FitConfig(), {"lr": 1, "patience": 3}, "a fit", nested=()).lr
        1.0
    """
    subs = {name: copy.copy(getattr(config, name)) for name in nested}
    cfg = dataclasses.replace(config, **subs)  # type: ignore[type-var]
    own = {f.name: f.type for f in dataclasses.fields(cfg)}  # type: ignore[arg-type]
    inner = {name: {f.name: f.type for f in dataclasses.fields(sub)} for name, sub in subs.items()}
    for key, value in options.items():
        if key in own and key not in subs:
            setattr(cfg, key, _coerce(value, own[key], key))
            continue
        home = next((name for name, fields in inner.items() if key in fields), None)
        if home is None:
            known = sorted((set(own) - set(subs)).union(*inner.values()))
            raise InputError(f"unknown option {key!r} for {what}; known options: {', '.join(known)}")
        # a private copy (made above), so setting a field of a frozen config is safe
        object.__setattr__(getattr(cfg, home), key, _coerce(value, inner[home][key], key))
    return cfg


def standardize_on(a: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-score the columns of ``a`` with means and deviations of the rows ``idx`` (the training
    split); returns ``(z, log_sd)``, ``log_sd`` being the log-Jacobian per column."""
    mu, sd = a[idx].mean(axis=0), a[idx].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (a - mu) / sd, np.log(sd)


def split_indices(
    n: int, heldout_fraction: float, seed: int, min_side: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(n)`` into (train, held-out) index arrays."""
    n_held = int(round(n * heldout_fraction))
    if n_held < min_side or n - n_held < min_side:
        raise InputError(
            f"{n} samples are too few to keep {heldout_fraction:.0%} held out with at least {min_side} on each "
            "side; pass more samples or change heldout_fraction."
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_held:]), np.sort(perm[:n_held])


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count."""
    if threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def batched_score(objective: Objective, data: tuple[Tensor, ...], batch_size: int) -> float:
    """Mean of ``objective.score`` over consecutive full batches of ``data`` (last partial batch
    kept only when it is the only one)."""
    n = data[0].shape[0]
    bs = min(batch_size, n)
    scores, weights = [], []
    for start in range(0, n - bs + 1, bs):
        scores.append(objective.score(*(d[start : start + bs] for d in data)))
        weights.append(bs)
    return float(np.average(scores, weights=weights))


def fit(
    objective: Objective,
    train: tuple[Tensor, ...],
    heldout: tuple[Tensor, ...],
    config: FitConfig,
    *,
    description: str = "fitting",
) -> FitResult:
    """Train ``objective`` on ``train`` with early stopping on ``heldout``; restore the best state.

    Args:
        objective: module with ``loss(*batch)`` (minimised) and ``score(*data)`` (maximised).
        train: tensors with the same first dimension (e.g. ``(x, y)``).
        heldout: held-out tensors of the same structure.
        config: :class:`FitConfig`.
        description: label of the progress bar.

    Returns:
        :class:`FitResult`. A non-finite loss stops training, restores the best state and
        sets ``diverged``.
    """
    config.validate()
    n = train[0].shape[0]
    bs = min(config.batch_size, n)
    gen = torch.Generator().manual_seed(config.seed)
    params = [p for p in objective.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    eval_train = tuple(t[: min(n, max(heldout[0].shape[0], bs))] for t in train)
    best_state = copy.deepcopy(objective.state_dict())
    best_smooth, best_epoch, smooth = -math.inf, 0, None
    history: list[dict[str, float]] = []
    diverged, since_best, epoch = False, 0, 0
    start = time.perf_counter()
    with torch_threads(config.threads), _progress(config.progress, description, config.max_epochs) as advance:
        for epoch in range(1, config.max_epochs + 1):
            objective.train(True)
            perm = torch.randperm(n, generator=gen)
            losses = []
            for b in range(0, n - bs + 1, bs):
                idx = perm[b : b + bs]
                loss = objective.loss(*(t[idx] for t in train))
                if not torch.isfinite(loss):
                    diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            objective.train(False)
            with torch.no_grad():
                held = batched_score(objective, heldout, bs)
            if diverged or not math.isfinite(held):
                diverged = True
                break
            smooth = held if smooth is None else config.smoothing * held + (1 - config.smoothing) * smooth
            history.append(
                {"epoch": float(epoch), "loss": float(np.mean(losses)), "heldout": held, "smoothed": smooth}
            )
            if smooth > best_smooth:
                if smooth <= best_smooth + config.min_delta:
                    since_best += 1
                else:
                    since_best = 0
                best_smooth, best_epoch = smooth, epoch
                best_state = copy.deepcopy(objective.state_dict())
            else:
                since_best += 1
            advance(epoch, held)
            if since_best >= config.patience:
                break
            if config.max_seconds is not None and time.perf_counter() - start > config.max_seconds:
                break
    objective.load_state_dict(best_state)
    objective.train(False)
    with torch.no_grad():
        held = batched_score(objective, heldout, bs)
        tr = batched_score(objective, eval_train, bs)
    return FitResult(
        best_epoch=best_epoch,
        epochs_run=epoch,
        train_score=tr,
        heldout_score=held,
        diverged=diverged,
        seconds=time.perf_counter() - start,
        history=history,
    )


@contextlib.contextmanager
def _progress(show: bool, description: str, total: int) -> Iterator[Any]:
    if not show:
        yield lambda epoch, value: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("held-out {task.fields[value]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, value="-")

        def advance(epoch: int, value: float) -> None:
            bar.update(task, completed=epoch, value=f"{value:.4f}")

        yield advance
