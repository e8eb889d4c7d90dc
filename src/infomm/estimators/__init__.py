"""Estimators of mutual information and entropy.

Importing this package fills the registries :data:`MI_ESTIMATORS` and
:data:`ENTROPY_ESTIMATORS`; :func:`estimate_mi` and :func:`estimate_entropy` are the
one-call entry points.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2))
    >>> y = x + rng.normal(size=(2000, 2))  # truth 2 * 0.5 * log(2) = 0.693 nats
    >>> round(estimate_mi(x, y, method="gaussian").value, 2)
    0.69
"""

from __future__ import annotations

import inspect
from typing import Any

from infomm.estimators import auto, classifier, gaussian, knn, mixture, neural, upper  # noqa: F401 (registries)
from infomm.estimators.base import (
    ENTROPY_ESTIMATORS,
    MI_ESTIMATORS,
    EntropyEstimatorBase,
    MIEstimatorBase,
    SpreadKind,
)
from infomm.estimators.losses import CLUBLoss, MILoss
from infomm.estimators.mixture import MixtureConfig, MixtureDensity, MixtureEntropy
from infomm.estimators.neural import BOUNDS, NeuralConfig, NeuralMI
from infomm.estimators.upper import DoEMI, UpperConfig, VariationalUpperMI
from infomm.interface import Estimate, InputError, Unit


def estimate_mi(
    x: Any,
    y: Any,
    method: str = "auto",
    *,
    unit: Unit = "nats",
    spread: SpreadKind | None = None,
    repeats: int = 10,
    **options: Any,
) -> Estimate:
    """Estimate I(X;Y) from paired samples with the method registered as ``method``.

    Args:
        x, y: arrays (n, dx) and (n, dy) (numpy, torch or lists); rows are paired samples.
        method: a name from ``MI_ESTIMATORS.names()``; ``"auto"`` picks one for you.
        unit: ``"nats"`` or ``"bits"``.
        spread: ``None``, ``"bootstrap"``, ``"seeds"`` or ``"folds"``: also measure the spread
            over ``repeats`` repetitions.
        options: keyword arguments of the method (e.g. ``k=5`` for KSG, ``batch_size=512``).
    """
    est = _build(MI_ESTIMATORS.get(method), method, options)
    result = (
        est.estimate(x, y) if spread is None else est.estimate_with_spread(x, y, kind=spread, repeats=repeats)
    )
    return result.to(unit)


def estimate_entropy(
    x: Any,
    method: str = "knn",
    *,
    unit: Unit = "nats",
    spread: SpreadKind | None = None,
    repeats: int = 10,
    **options: Any,
) -> Estimate:
    """Estimate the differential entropy h(X) with the method registered as ``method``."""
    est = _build(ENTROPY_ESTIMATORS.get(method), method, options)
    result = est.estimate(x) if spread is None else est.estimate_with_spread(x, kind=spread, repeats=repeats)
    return result.to(unit)


def _build(factory: Any, method: str, options: dict[str, Any]) -> Any:
    """Call ``factory(**options)``, turning unknown option names into a clear :class:`InputError`."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return factory(**options)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        known = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for method {method!r}; "
                f"known options: {', '.join(known) or '(none)'}"
            )
    return factory(**options)


__all__ = [
    "BOUNDS",
    "CLUBLoss",
    "DoEMI",
    "MixtureConfig",
    "MixtureDensity",
    "MixtureEntropy",
    "UpperConfig",
    "VariationalUpperMI",
    "ENTROPY_ESTIMATORS",
    "MI_ESTIMATORS",
    "EntropyEstimatorBase",
    "Estimate",
    "MIEstimatorBase",
    "MILoss",
    "NeuralConfig",
    "NeuralMI",
    "estimate_entropy",
    "estimate_mi",
]
