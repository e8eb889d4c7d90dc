"""A seeded synthetic multimodal classification task: Gaussian classes, one informativeness per modality.

For each modality ``m`` (dimension ``d_m``) and class ``c`` a unit direction ``u_{m,c}`` is drawn at
random; a sample of class ``y`` is

    x_m = informativeness_m * u_{m,y} + noise * N(0, I_{d_m})

independently across modalities given ``y`` (so the modalities share only the label). Classes are
balanced (counts differ by at most one) and shuffled. A larger informativeness separates the
class means more, so that modality carries more task information.

The Bayes-optimal classifier with equal priors and the same isotropic covariance in every class
is the nearest class mean (jointly: the smallest summed squared distance over modalities);
``meta`` records its accuracy per modality and jointly, estimated by Monte Carlo on
``bayes_samples`` fresh draws with the true means (standard error ``sqrt(a (1 - a) / n)``).

Example:
    >>> ds = gaussian_multimodal(400, seed=1)
    >>> ds.modality_names, ds.flat("m1").shape, sorted(set(ds.labels.tolist()))
    (['m1', 'm2'], (400, 8), [0, 1, 2, 3])
    >>> bool(ds.meta["bayes_accuracy/m1"] > ds.meta["bayes_accuracy/m2"] > 0.25)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from infomm.data.base import PairedDataset
from infomm.interface import InputError


def _nearest_mean_accuracy(xs: Sequence[np.ndarray], means: Sequence[np.ndarray], y: np.ndarray) -> float:
    """Accuracy of argmin_c sum_m ||x_m - mean_{m,c}||^2 (the Bayes rule of this task)."""
    d2 = sum(((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1) for x, mu in zip(xs, means, strict=True))
    return float((np.argmin(d2, axis=1) == y).mean())


def gaussian_multimodal(
    n: int,
    n_classes: int = 4,
    dims: Sequence[int] = (8, 8),
    informativeness: Sequence[float] = (2.0, 0.5),
    noise: float = 1.0,
    seed: int = 0,
    bayes_samples: int = 20_000,
) -> PairedDataset:
    """Draw the task (modalities ``"m1"``, ``"m2"``, ...; one per entry of ``dims``).

    Args:
        n: samples (>= n_classes). n_classes: C >= 2. dims: dimension of each modality.
        informativeness: norm of the class means in each modality (>= 0; same length as ``dims``).
        noise: standard deviation of the isotropic noise (> 0). seed: seeds means, labels and noise.
        bayes_samples: Monte Carlo draws for the Bayes accuracies in ``meta`` (0: skip).

    Returns:
        A :class:`PairedDataset` named ``"gaussian-mm"``; ``meta`` holds the arguments, the class
        means (lists) and ``bayes_accuracy/<m>`` and ``bayes_accuracy/joint``.
    """
    dims, info = [int(d) for d in dims], [float(s) for s in informativeness]
    if not (isinstance(n_classes, int) and n_classes >= 2 and isinstance(n, int) and n >= n_classes):
        raise InputError(
            f"n={n!r}, n_classes={n_classes!r}: need integers with n_classes >= 2 and n >= n_classes."
        )
    if len(dims) < 1 or len(dims) != len(info) or min(dims) < 1:
        raise InputError(
            f"dims={dims} and informativeness={info} must be non-empty, of equal length, with dims >= 1."
        )
    if min(info) < 0 or not np.isfinite(info).all() or not (noise > 0 and np.isfinite(noise)):
        raise InputError(f"informativeness={info} must be >= 0 and noise={noise!r} finite and > 0.")
    if not (isinstance(bayes_samples, int) and bayes_samples >= 0):
        raise InputError(f"bayes_samples={bayes_samples!r} must be an integer >= 0.")
    rng = np.random.default_rng(seed)
    names = [f"m{i + 1}" for i in range(len(dims))]
    means = []
    for d, s in zip(dims, info, strict=True):
        u = rng.standard_normal((n_classes, d))
        means.append(s * u / np.linalg.norm(u, axis=1, keepdims=True))
    y = rng.permutation(np.arange(n) % n_classes)
    mods = {
        m: mu[y] + noise * rng.standard_normal((n, mu.shape[1])) for m, mu in zip(names, means, strict=True)
    }
    meta: dict[str, object] = {
        "n_classes": n_classes,
        "dims": dims,
        "informativeness": info,
        "noise": float(noise),
        "seed": seed,
        "means": {m: mu.tolist() for m, mu in zip(names, means, strict=True)},
    }
    if bayes_samples:
        mc = np.random.default_rng([seed, 1])  # its own stream: the data do not depend on bayes_samples
        yy = mc.integers(0, n_classes, bayes_samples)
        xs = [mu[yy] + noise * mc.standard_normal((bayes_samples, mu.shape[1])) for mu in means]
        for m, x, mu in zip(names, xs, means, strict=True):
            meta[f"bayes_accuracy/{m}"] = _nearest_mean_accuracy([x], [mu], yy)
        meta["bayes_accuracy/joint"] = _nearest_mean_accuracy(xs, means, yy)
    return PairedDataset(mods, y.astype(np.int64), "gaussian-mm", meta)
