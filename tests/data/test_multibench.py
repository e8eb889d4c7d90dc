"""MultiBench affect pickles: a small file with the structure of mosi_raw.pkl, written here.

Layout (MultiBench ``datasets/affect/get_data.py``): {split: {"vision", "audio", "text": (n, T, d),
"labels": (n, 1, 1), "id": (n, ...)}}, front zero-padding, audio -inf values. The audio carries
the sign of the score (its mean over the real time steps is +-1); vision and text are noise.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from infomm.data.multibench import load_multibench, sentiment_classes
from infomm.interface import InputError

T = 8
SIZES = {"train": 120, "valid": 30, "test": 60}


def _split(n: int, rng: np.random.Generator, n_empty: int = 0) -> dict:
    scores = np.round(rng.uniform(-3, 3, size=n) * 3) / 3  # MOSI-like: averaged ratings
    scores[:6] = [0.0, 0.0, -3.4, 2.5, -0.5, 1.0]
    lengths = rng.integers(2, T + 1, size=n)
    pad = (np.arange(T)[None, :] < (T - lengths)[:, None])[:, :, None]  # zeros at the front
    text = np.where(pad, 0.0, rng.normal(size=(n, T, 5)))
    audio = np.where(pad, 0.0, np.sign(scores)[:, None, None] + 0.6 * rng.normal(size=(n, T, 4)))
    vision = np.where(pad, 0.0, rng.normal(size=(n, T, 3)))
    text[n - n_empty :] = 0.0  # samples without words: MultiBench drops them
    return {
        "vision": vision,
        "audio": audio,
        "text": text,
        "labels": scores.reshape(n, 1, 1),
        "id": np.array([[f"vid{i}", f"{i % 4}"] for i in range(n)]),
    }


@pytest.fixture
def data() -> dict:
    rng = np.random.default_rng(0)
    d = {name: _split(n, rng, n_empty=2 if name == "train" else 0) for name, n in SIZES.items()}
    d["train"]["audio"][10, -1, 0] = -np.inf  # as in MOSI's COVAREP audio
    d["train"]["audio"][11, -2:, 1] = -np.inf
    d["train"]["vision"][12, -1, :] = np.nan
    return d


@pytest.fixture
def path(data: dict, tmp_path: Path) -> Path:
    p = tmp_path / "mosi_like.pkl"
    p.write_bytes(pickle.dumps(data))
    return p


def test_splits_ids_and_empty_text_dropped(path: Path):
    for split, n in SIZES.items():
        ds = load_multibench(path, split=split)
        dropped = 2 if split == "train" else 0
        assert len(ds) == n - dropped and ds.meta["dropped_empty_text"] == dropped
        assert set(ds.row_meta["split"]) == {split}
        assert ds.modality_names == ["vision", "audio", "text"]
        assert ds.modalities["audio"].shape == (n - dropped, 4)
    every = load_multibench(path, split="all")
    assert len(every) == sum(SIZES.values()) - 2
    assert every.row_meta["split"].tolist() == ["train"] * 118 + ["valid"] * 30 + ["test"] * 60
    assert every.row_meta["id"][:2].tolist() == ["vid0_0", "vid1_1"]
    kept = load_multibench(path, drop_empty_text=False)
    assert len(kept) == 120 and kept.meta["dropped_empty_text"] == 0


def test_binary_rule_counts_zero_as_negative_and_nonzero_drops_it(path: Path, data: dict):
    scores = data["train"]["labels"].reshape(-1)[:118]
    ds = load_multibench(path, task="binary")
    assert np.array_equal(ds.row_meta["score"], scores)
    assert np.array_equal(ds.labels, (scores > 0).astype(int))
    assert ds.labels[:2].tolist() == [0, 0]  # the two zero scores: negative, as MultiBench's get_class
    nz = load_multibench(path, task="binary-nonzero")
    assert len(nz) == int((scores != 0).sum()) and nz.meta["dropped_zero_score"] == int((scores == 0).sum())
    assert (nz.row_meta["score"] != 0).all() and np.array_equal(nz.labels, nz.row_meta["score"] > 0)
    seven = load_multibench(path, task="7class")
    assert seven.labels[:6].tolist() == [
        3,
        3,
        0,
        5,
        3,
        4,
    ]  # 0, 0, -3.4 -> -3, 2.5 -> 2 (half to even), -0.5 -> -0, 1
    assert seven.meta["classes"] == ["-3", "-2", "-1", "0", "1", "2", "3"]


def test_sentiment_classes_matches_the_reference_rules():
    s = np.random.default_rng(1).uniform(-3.5, 3.5, 500)
    s[:50] = 0.0
    binary, keep, _ = sentiment_classes(s, "binary")
    assert keep.all() and np.array_equal(binary, [1 if v > 0 else 0 for v in s])
    nz, keep, _ = sentiment_classes(s, "binary-nonzero")
    assert np.array_equal(keep, s != 0) and np.array_equal(nz, s[s != 0] > 0)
    seven, _, _ = sentiment_classes(s, "7class")
    assert np.array_equal(seven - 3, np.round(np.clip(s, -3.0, 3.0)))  # MulT's Acc-7 classes
    with pytest.raises(InputError, match=r"row_meta\['score'\]"):
        sentiment_classes(s, "regression")


def test_nonfinite_values_become_zero_and_are_counted(path: Path, data: dict):
    ds = load_multibench(path, pooling="none")
    assert ds.meta["nonfinite_replaced"] == {"vision": 3, "audio": 3, "text": 0}
    a, v = ds.modalities["audio"], ds.modalities["vision"]
    assert a[10, -1, 0] == 0.0 and (a[11, -2:, 1] == 0.0).all() and (v[12, -1] == 0.0).all()
    assert np.array_equal(a[20], data["train"]["audio"][20].astype(np.float32))  # the rest untouched
    assert ds.modalities["text"].shape == (118, T, 5)


def test_mean_pooling_skips_the_front_padding(path: Path, data: dict):
    ds = load_multibench(path, modalities=("audio",))
    raw = data["train"]["audio"]
    for i in (0, 5, 33):
        start = int(np.argmax(np.any(data["train"]["text"][i] != 0, axis=1)))
        assert start == T - int((np.abs(data["train"]["text"][i]).sum(axis=1) > 0).sum())
        assert np.allclose(ds.modalities["audio"][i], raw[i, start:].mean(axis=0), atol=1e-6)
    # padded zeros would pull the mean toward 0; the pooled first feature is +-1 on average
    signs = np.sign(ds.row_meta["score"])
    assert abs(float(np.mean(ds.modalities["audio"][signs != 0, 0] * signs[signs != 0])) - 1.0) < 0.15


def test_the_informative_modality_predicts_the_label(path: Path):
    train = load_multibench(path, split="train", task="binary-nonzero")
    test = load_multibench(path, split="test", task="binary-nonzero")
    acc = {}
    for m in ("audio", "vision", "text"):
        clf = LogisticRegression(max_iter=1000).fit(train.flat(m), train.labels)
        acc[m] = clf.score(test.flat(m), test.labels)
    assert acc["audio"] >= 0.95
    assert acc["vision"] < 0.75 and acc["text"] < 0.75


def test_accepts_a_loaded_dict_and_python2_strings(data: dict, path: Path, tmp_path: Path):
    a = load_multibench(data, split="valid")
    b = load_multibench(path, split="valid")
    assert np.array_equal(a.modalities["text"], b.modalities["text"]) and a.meta["source"] == "<dict>"
    # {"train": "\xe9"} as Python 2 writes it (SHORT_BINSTRING): ASCII decoding fails, latin1 works
    py2 = tmp_path / "py2.pkl"
    py2.write_bytes(b"\x80\x02}q\x00U\x05trainq\x01U\x01\xe9q\x02s.")
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(py2.read_bytes())
    with pytest.raises(InputError, match="split 'train' holds a str"):  # read, then found not to be arrays
        load_multibench(py2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "dev"}, "split='dev' is not known"),
        ({"modalities": ("audio", "video")}, r"split 'train' has no \['video'\]"),
        ({"modalities": ()}, "modalities=()"),
        ({"task": "regression"}, "task='regression'.*row_meta"),
        ({"task": "3class"}, "task='3class' is not known"),
        ({"pooling": "max"}, "pooling='max'"),
    ],
)
def test_bad_arguments(path: Path, kwargs: dict, match: str):
    with pytest.raises(InputError, match=match):
        load_multibench(path, **kwargs)


def test_bad_files(tmp_path: Path, data: dict):
    with pytest.raises(InputError, match="is not a file"):
        load_multibench(tmp_path / "mosi_raw.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(InputError, match="not a readable pickle"):
        load_multibench(tmp_path / "junk.pkl")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(InputError, match="holds a list"):
        load_multibench(tmp_path / "list.pkl")
    with pytest.raises(InputError, match=r"no split \['valid', 'test'\].*pass split="):
        load_multibench({"train": data["train"]}, split="all")
    bad = dict(data["train"], audio=data["train"]["audio"][:-1])
    with pytest.raises(InputError, match=r"'audio' has shape \(119, 8, 4\).*n = 120"):
        load_multibench({"train": bad})
    nan_label = dict(data["train"], labels=np.full((120, 1, 1), np.nan))
    with pytest.raises(InputError, match="labels hold NaN"):
        load_multibench({"train": nan_label})
    zeros = dict(data["train"], labels=np.zeros((120, 1, 1)))
    with pytest.raises(InputError, match="no sample is left"):
        load_multibench({"train": zeros}, task="binary-nonzero")
