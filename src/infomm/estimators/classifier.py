"""I(X;Y) for a discrete Y (labels) by the Barber-Agakov bound with a cross-fitted classifier.

    I(X;Y) = H(Y) - H(Y|X) >= H(Y) + E[log q(y|x)]

for any classifier q (Barber & Agakov 2003, "The IM Algorithm: A Variational Approach to
Information Maximization", NeurIPS, Eq. 2-3). H(Y) is the plug-in entropy of the empirical
class prior; E[log q(y|x)] is averaged over **out-of-fold** predictions (K-fold cross-fitting),
so no sample is scored by a model that saw it and the bound is honest. q is scikit-learn's
multinomial logistic regression on standardised features, its regularisation chosen by inner
cross-validation (``LogisticRegressionCV``), so the predicted probabilities are calibrated
enough for a log-loss read-out.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=2000)
    >>> x = (2 * y - 1)[:, None] * 3.0 + rng.normal(size=(2000, 1))  # nearly separable
    >>> est = ClassifierMI().estimate(x, y)
    >>> bool(0.6 < est.value <= np.log(2) + 1e-9)
    True
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from infomm.estimators.base import MI_ESTIMATORS, MIEstimatorBase, Spread
from infomm.interface import Estimate, InputError


def as_labels(y: np.ndarray) -> np.ndarray:
    """Validate ``y`` as one column of integer class labels; return them as int64 codes."""
    if y.ndim == 2 and y.shape[1] != 1:
        raise InputError(f"y has shape {y.shape}; the classifier method needs one column of class labels.")
    flat = y.reshape(-1)
    if not np.allclose(flat, np.round(flat)):
        raise InputError(
            "y holds non-integer values; the classifier method needs discrete class labels "
            "(use another method for continuous Y)."
        )
    _, codes = np.unique(np.round(flat).astype(np.int64), return_inverse=True)
    return codes


class ClassifierMI(MIEstimatorBase):
    """Cross-fitted Barber-Agakov lower bound on I(X;Y) for discrete labels ``y``.

    Args:
        folds: number of cross-fitting folds (each sample is scored out of fold).
        seed: seeds the fold split.
    """

    name = "classifier"
    min_samples = 10
    tail_sensitive = False
    # resampled duplicates would sit on both sides of a cross-fitting split
    spread_kinds = ("folds", "seeds")

    def __init__(self, folds: int = 5, seed: int = 0) -> None:
        if folds < 2:
            raise InputError(f"folds={folds} must be >= 2.")
        self.folds = folds
        self.seed = seed

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate:
        codes = as_labels(y)
        counts = np.bincount(codes)
        if counts.size < 2:
            raise InputError(
                "y has only one class; I(X;Y) is 0 by definition; pass labels with >= 2 classes."
            )
        if counts.min() < self.folds:
            raise InputError(
                f"the rarest class has {counts.min()} samples, fewer than folds={self.folds}; "
                "use fewer folds or more samples."
            )
        prior = counts / counts.sum()
        h_y = float(-(prior * np.log(prior)).sum())
        logq = np.empty(len(codes))
        fold_values = []
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        for tr, te in splitter.split(x, codes):
            model = make_pipeline(
                StandardScaler(), LogisticRegressionCV(Cs=8, cv=3, max_iter=500, scoring="neg_log_loss")
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.9 parameter transitions
                model.fit(x[tr], codes[tr])
            proba = np.full((len(te), counts.size), 1e-12)
            proba[:, model.classes_] = model.predict_proba(x[te])
            logq[te] = np.log(np.clip(proba[np.arange(len(te)), codes[te]], 1e-12, 1.0))
            fold_values.append(h_y + float(logq[te].mean()))
        value = h_y + float(logq.mean())
        return Estimate(
            value=value,
            method=self.name,
            n=len(codes),
            heldout_value=value,
            spread=Spread.from_values("folds", fold_values),
            details={"H(Y)": h_y, "classes": int(counts.size), "folds": self.folds},
        )

    def _negative_tolerance(self, est: Estimate) -> float:
        return 0.02


MI_ESTIMATORS.register(
    "classifier", ClassifierMI, summary="discrete Y: H(Y) + cross-fitted log q(y|x) (Barber-Agakov bound)"
)
