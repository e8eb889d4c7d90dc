"""``auto``: pick a sensible MI estimator from the dimension and the sample count.

The rule follows the evidence of the "Beyond Normal" benchmark (Czyz et al. 2023,
NeurIPS, Sec. 5) and our own ``benchmarks/estimators.py``:

* every column is first mapped to normal scores by its ranks (a copula transform: MI is
  invariant under monotone per-column maps, and ranks remove heavy tails and odd marginals);
* few dimensions (dim_x + dim_y <= ``knn_max_dim``): KSG, which is nearly unbiased there
  and needs no training;
* many dimensions and few samples (n < ``neural_min_n``): the Gaussian-copula (CCA)
  estimate, the only one with usable variance there;
* otherwise: a neural bound (SMILE, a held-out read-out), which scales with dimension.

The chosen method and the reason are recorded in ``details``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(3000, 1))
    >>> y = np.exp(0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(3000, 1)))  # truth 0.4133
    >>> est = AutoMI().estimate(x, y)
    >>> est.details["chosen"], abs(est.value - 0.4133) < 0.03
    ('ksg', True)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from infomm.estimators.base import MI_ESTIMATORS, MIEstimatorBase, apply_transform
from infomm.interface import Estimate


class AutoMI(MIEstimatorBase):
    """Choose KSG, Gaussian-copula CCA or a neural bound by dimension and sample count.

    Args:
        knn_max_dim: largest dim_x + dim_y for KSG.
        neural_min_n: fewest samples for a neural estimate in higher dimension.
        seed: seed passed to the chosen method.
        progress: progress bar for neural fits.
        options: passed to the neural estimator (e.g. ``max_epochs``).
    """

    name = "auto"
    min_samples = 10
    spread_kinds = ("seeds", "folds")
    tail_sensitive = False  # the rank transform removes heavy tails before any method sees them

    def __init__(
        self,
        knn_max_dim: int = 5,
        neural_min_n: int = 500,
        seed: int = 0,
        progress: bool = False,
        **options: Any,
    ) -> None:
        self.knn_max_dim = knn_max_dim
        self.neural_min_n = neural_min_n
        self.seed = seed
        self.progress = progress
        self.options = options

    def choose(self, n: int, dim_x: int, dim_y: int) -> tuple[str, str]:
        """The method name and the reason, for ``n`` samples of sizes ``dim_x`` and ``dim_y``."""
        d = dim_x + dim_y
        if d <= self.knn_max_dim:
            return "ksg", f"dim_x + dim_y = {d} <= {self.knn_max_dim}: kNN (KSG) is accurate in low dimension"
        if n < self.neural_min_n:
            return (
                "cca",
                f"{d} dimensions but only {n} < {self.neural_min_n} samples: Gaussian-copula estimate",
            )
        return "smile", f"{d} dimensions and {n} samples: neural SMILE bound, read out on held-out data"

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        method, reason = self.choose(x.shape[0], x.shape[1], y.shape[1])
        xr, yr = apply_transform(x, "rank"), apply_transform(y, "rank")
        if method == "smile":
            est = MI_ESTIMATORS.get(method)(seed=self.seed, progress=self.progress, **self.options).estimate(
                xr, yr
            )
        elif method == "ksg":
            est = MI_ESTIMATORS.get(method)(k=5, seed=self.seed).estimate(xr, yr)
        else:
            est = MI_ESTIMATORS.get(method)().estimate(xr, yr)
        details = {"chosen": method, "reason": reason, "transform": "rank", **dict(est.details)}
        # keep the chosen method's warnings (over-fitting, few samples, ...); the rank transform
        # has already removed heavy tails, and the base class adds its own checks
        return dataclasses.replace(est, method="auto", details=details)


MI_ESTIMATORS.register(
    "auto", AutoMI, summary="picks KSG, Gaussian-copula CCA or neural SMILE by dimension and n"
)
