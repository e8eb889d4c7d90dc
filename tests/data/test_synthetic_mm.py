"""The synthetic Gaussian multimodal task: seeded, class-balanced, informativeness orders separability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from infomm.data.synthetic_mm import gaussian_multimodal
from infomm.interface import InputError


def test_seeded():
    a, b, c = (
        gaussian_multimodal(300, seed=3),
        gaussian_multimodal(300, seed=3),
        gaussian_multimodal(300, seed=4),
    )
    for m in ("m1", "m2"):
        np.testing.assert_array_equal(a.modalities[m], b.modalities[m])
        assert not np.array_equal(a.modalities[m], c.modalities[m])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.meta == b.meta
    same = gaussian_multimodal(300, seed=3, bayes_samples=0)  # the Monte Carlo has its own stream
    np.testing.assert_array_equal(same.modalities["m1"], a.modalities["m1"])


@pytest.mark.parametrize("n, c", [(400, 4), (401, 4), (90, 3)])
def test_class_balanced(n, c):
    counts = np.bincount(gaussian_multimodal(n, n_classes=c, seed=0, bayes_samples=0).labels, minlength=c)
    assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_structure_means_and_noise():
    """Class means have norm = informativeness; within-class residuals are N(0, noise^2 I)."""
    ds = gaussian_multimodal(8000, dims=(3, 5), informativeness=(2.0, 0.5), noise=0.7, seed=1)
    for m, s, d in (("m1", 2.0, 3), ("m2", 0.5, 5)):
        means = np.asarray(ds.meta["means"][m])
        assert means.shape == (4, d)
        np.testing.assert_allclose(np.linalg.norm(means, axis=1), s, rtol=1e-12)
        resid = ds.flat(m) - means[ds.labels]
        assert resid.mean() == pytest.approx(0.0, abs=0.02) and resid.std() == pytest.approx(0.7, rel=0.02)
        assert stats.kstest(resid[:, 0] / 0.7, "norm").pvalue > 1e-3


def test_more_informative_modality_is_more_linearly_separable():
    ds = gaussian_multimodal(2000, informativeness=(2.0, 0.5), seed=0)
    acc = {}
    for m in ("m1", "m2"):
        xtr, xte, ytr, yte = train_test_split(ds.flat(m), ds.labels, test_size=0.5, random_state=0)
        acc[m] = LogisticRegression(max_iter=1000).fit(xtr, ytr).score(xte, yte)
    assert acc["m1"] > acc["m2"] + 0.2
    # a linear classifier is Bayes-optimal here (shared isotropic covariance): it reaches the MC value
    for m in ("m1", "m2"):
        assert acc[m] == pytest.approx(ds.meta[f"bayes_accuracy/{m}"], abs=0.05)
    assert ds.meta["bayes_accuracy/joint"] >= ds.meta["bayes_accuracy/m1"]
    flipped = gaussian_multimodal(600, informativeness=(0.0, 3.0), seed=0)
    assert flipped.meta["bayes_accuracy/m1"] == pytest.approx(0.25, abs=0.02)  # no information: chance


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 3}, "n="),
        ({"n_classes": 1}, "n_classes"),
        ({"dims": (4,), "informativeness": (1.0, 1.0)}, "dims"),
        ({"informativeness": (-1.0, 1.0)}, "informativeness"),
        ({"noise": 0.0}, "noise"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        gaussian_multimodal(**{"n": 100, **kwargs})
