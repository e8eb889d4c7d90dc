"""AV-digits presets A / B / C: seeded, B's image dominates, C's replaced rows carry no label."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from infomm.data.base import PairedDataset
from infomm.data.presets import AVDIGITS_PRESETS, load_preset, replace_with_noise
from infomm.interface import InputError

SMALL = {"n_per_class": 100}  # 1,000 rows: 300 replaced in C, about 150 per modality


def _probe(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1)).fit(x, y)


@pytest.fixture(scope="module")
def a_and_c() -> tuple[PairedDataset, PairedDataset]:
    return load_preset("A", seed=0, **SMALL), load_preset("C", seed=0, **SMALL)


def _same(a: PairedDataset, b: PairedDataset) -> bool:
    return (
        a.modality_names == b.modality_names
        and all(np.array_equal(a.modalities[m], b.modalities[m]) for m in a.modalities)
        and np.array_equal(a.labels, b.labels)
        and a.row_meta.keys() == b.row_meta.keys()
        and all(np.array_equal(a.row_meta[k], b.row_meta[k]) for k in a.row_meta)
        and a.meta == b.meta
    )


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_every_preset_is_seeded_and_identical_across_builds(name):
    kw = {"n_per_class": 8, "pool_size": 4, "cache": False}
    first, again = load_preset(name, seed=3, **kw), load_preset(name.lower(), seed=3, **kw)
    assert _same(first, again)
    assert not np.array_equal(first.modalities["audio"], load_preset(name, seed=4, **kw).modalities["audio"])
    assert first.meta["preset"] == name


def test_registry_lists_the_three_presets_with_summaries():
    assert AVDIGITS_PRESETS.names() == ["a", "b", "c"]
    assert all(AVDIGITS_PRESETS.summary(n) for n in "ABC")
    b = AVDIGITS_PRESETS.get("B")
    assert b.audio_snr_db < AVDIGITS_PRESETS.get("A").audio_snr_db and b.conflict_fraction == 0.0


def test_b_makes_the_image_dominate_and_a_keeps_both_strong():
    def accuracy(ds: PairedDataset, m: str) -> float:
        y = ds.labels
        a, b, c, d = train_test_split(ds.flat(m), y, test_size=0.3, random_state=0, stratify=y)
        return float(_probe(a, c).score(b, d))

    kw = {"n_per_class": 40, "pool_size": 40}
    a, b = load_preset("A", seed=0, **kw), load_preset("B", seed=0, **kw)
    assert accuracy(b, "image") > accuracy(b, "audio") + 0.2
    assert accuracy(a, "audio") > accuracy(b, "audio") + 0.2
    assert np.array_equal(a.modalities["image"], b.modalities["image"])  # B changes only the audio


def test_c_replaces_exactly_the_fraction_one_modality_per_row(a_and_c):
    a, c = a_and_c
    n, codes = len(c), c.row_meta["replaced"]
    assert int((codes > 0).sum()) == round(0.3 * n) and c.meta["conflict_fraction"] == 0.3
    assert c.meta["replaced_codes"] == {"none": 0, "image": 1, "audio": 2}
    assert set(np.unique(codes).tolist()) == {0, 1, 2}
    for k, m in enumerate(c.modality_names, start=1):
        hit = codes == k
        assert np.array_equal(c.modalities[m][~hit], a.modalities[m][~hit])  # everything else is A's
        changed = ~np.isclose(c.flat(m)[hit], a.flat(m)[hit]).all(axis=1)
        assert changed.all()  # and every replaced row really differs from A's
    assert np.array_equal(c.labels, a.labels)
    assert np.array_equal(c.row_meta["audio_clip"], a.row_meta["audio_clip"])
    half = load_preset("C", seed=0, conflict_fraction=0.5, **SMALL)
    assert int((half.row_meta["replaced"] > 0).sum()) == n // 2


def test_c_replaced_rows_are_uninformative(a_and_c):
    _, c = a_and_c
    codes = c.row_meta["replaced"]
    for k, m in enumerate(c.modality_names, start=1):
        x, y, hit = c.flat(m), c.labels, codes == k
        clean = np.nonzero(codes != k)[0]
        fit, held = train_test_split(clean, test_size=0.2, random_state=0, stratify=y[clean])
        clf = _probe(x[fit], y[fit])
        assert clf.score(x[held], y[held]) > 0.85  # the modality itself is informative
        # chance is 0.1; about 150 replaced rows give a standard error of 0.025
        assert clf.score(x[hit], y[hit]) < 0.2, m
        # the noise keeps the modality's per-feature scale
        ratio = x[hit].std(axis=0).mean() / x[~hit].std(axis=0).mean()
        assert 0.8 < ratio < 1.2


def test_zero_fraction_gives_a_and_bad_input_is_refused():
    kw = {"n_per_class": 4, "pool_size": 2, "cache": False}
    a, c0 = load_preset("A", **kw), load_preset("C", conflict_fraction=0.0, **kw)
    assert all(np.array_equal(a.modalities[m], c0.modalities[m]) for m in a.modalities)
    with pytest.raises(InputError, match="unknown AV-digits preset 'D'"):
        load_preset("D")
    with pytest.raises(InputError, match="snr"):
        load_preset("A", snr=3)
    with pytest.raises(InputError, match="fraction=1.5"):
        load_preset("C", conflict_fraction=1.5, **kw)
    one = PairedDataset({"a": np.zeros((4, 2))}, np.arange(4))
    with pytest.raises(InputError, match="at least two"):
        replace_with_noise(one, 0.5)
