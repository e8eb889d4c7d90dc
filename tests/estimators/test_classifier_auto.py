"""The classifier (Barber-Agakov) bound for labels, and the `auto` method's choices."""

import math

import numpy as np
import pytest

from infomm.estimators import estimate_mi
from infomm.estimators.auto import AutoMI
from infomm.estimators.classifier import ClassifierMI
from infomm.interface import InputError


def test_classifier_bound_on_gaussian_classes_matches_numerical_truth():
    # two equiprobable classes, x | y ~ N(+-mu, 1): I = H(Y) - E[H(Y|x)] by quadrature
    mu = 1.0
    grid = np.linspace(-10, 10, 20001)
    p0 = np.exp(-0.5 * (grid + mu) ** 2) / math.sqrt(2 * math.pi)
    p1 = np.exp(-0.5 * (grid - mu) ** 2) / math.sqrt(2 * math.pi)
    px = 0.5 * (p0 + p1)
    post = p1 / (p0 + p1)
    h_cond = -(post * np.log(post + 1e-300) + (1 - post) * np.log(1 - post + 1e-300))
    truth = math.log(2) - float(np.sum(px * h_cond) * (grid[1] - grid[0]))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 6000)
    x = (2 * y - 1)[:, None] * mu + rng.normal(size=(6000, 1))
    est = ClassifierMI().estimate(x, y)
    assert abs(est.value - truth) < 0.02, (est.value, truth)
    assert est.value <= est.details["H(Y)"] + 1e-9
    assert est.spread is not None and est.spread.kind == "folds"


def test_classifier_independent_labels_near_zero():
    rng = np.random.default_rng(1)
    est = ClassifierMI().estimate(rng.normal(size=(2000, 3)), rng.integers(0, 4, 2000))
    assert abs(est.value) < 0.02


def test_classifier_rejects_bad_labels():
    x = np.random.default_rng(0).normal(size=(100, 2))
    with pytest.raises(InputError, match="non-integer"):
        ClassifierMI().estimate(x, x[:, :1])
    with pytest.raises(InputError, match="only one class"):
        ClassifierMI().estimate(x, np.zeros(100))
    with pytest.raises(InputError, match="one column"):
        ClassifierMI().estimate(x, np.zeros((100, 2)))


@pytest.mark.parametrize(
    "n, dx, dy, expected",
    [
        (5000, 1, 1, "ksg"),
        (5000, 2, 3, "ksg"),
        (5000, 3, 3, "smile"),
        (200, 10, 10, "cca"),
        (5000, 5, 5, "smile"),
    ],
)
def test_auto_choice(n, dx, dy, expected):
    assert AutoMI().choose(n, dx, dy)[0] == expected


def test_auto_is_invariant_to_monotone_maps():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 1))
    y = 0.75 * x + math.sqrt(1 - 0.75**2) * rng.normal(size=(3000, 1))
    a = estimate_mi(x, y, "auto").value
    b = estimate_mi(np.exp(x), y**3, "auto").value
    assert a == pytest.approx(b, abs=1e-9)  # ranks are all it sees
    assert abs(a - 0.4133) < 0.03
