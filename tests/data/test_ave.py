"""AVE / VGGSound-AVEL feature loader: small files in the real layouts, written here, with known content.

AVE (``YapengTian/AVE-ECCV18``, ``dataloader.py``): ``audio_feature.h5`` (N, 10, 128),
``visual_feature.h5`` (N, 10, 7, 7, 512), ``labels.h5`` (N, 10, 29), each under the dataset key
``avadataset``, and ``{split}_order.h5`` under ``order``. VGGSound-AVEL as CMG reads it
(``haihuangcode/CMG``, ``code/src/dataset/VGGSOUND_dataset.py``): a csv (video_id, category,
split), a category list, and one zip holding one pickle per clip in audio/zip, video/zip, label/zip.
Every value of the fixture is known, so the tests compare exact numbers, not only shapes.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from infomm.data import AVEFiles, VGGSoundAVELFiles, load_ave_features
from infomm.interface import InputError

N, T, K = 12, 10, 29  # clips, seconds, 28 classes + background
CLASSES = np.array([0, 5, 27, 3, 3, 11, 0, 19, 8, 5, 22, 14])  # event class of each clip
WINDOWS = [
    (0, 10),
    (2, 6),
    (5, 10),
    (0, 3),
    (4, 5),
    (1, 9),
    (3, 8),
    (0, 10),
    (6, 10),
    (2, 4),
    (0, 7),
    (8, 10),
]
ORDERS = {"train": [3, 0, 7, 1, 5, 2, 6, 4], "val": [9, 8], "test": [11, 10]}


def _labels(classes=CLASSES, windows=WINDOWS) -> np.ndarray:
    lab = np.zeros((len(classes), T, K))
    lab[:, :, K - 1] = 1.0
    for i, (c, (a, b)) in enumerate(zip(classes, windows, strict=True)):
        lab[i, a:b] = np.eye(K)[c]
    return lab


def _step_truth() -> np.ndarray:
    steps = np.full((N, T), -1)
    for i, (c, (a, b)) in enumerate(zip(CLASSES, WINDOWS, strict=True)):
        steps[i, a:b] = c
    return steps


def _write(path: Path, data: np.ndarray, key: str = "avadataset") -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset(key, data=data)


@pytest.fixture
def raw() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "audio": rng.normal(size=(N, T, 128)).astype(np.float32),
        "visual": rng.gamma(1.0, size=(N, T, 7, 7, 512)).astype(np.float32),  # post-ReLU pool5: >= 0
        "labels": _labels(),
    }


@pytest.fixture
def ave(raw: dict[str, np.ndarray], tmp_path: Path) -> Path:
    root = tmp_path / "ave"
    root.mkdir()
    _write(root / "audio_feature.h5", raw["audio"])
    _write(root / "visual_feature.h5", raw["visual"])
    _write(root / "labels.h5", raw["labels"])
    for split, order in ORDERS.items():
        _write(root / f"{split}_order.h5", np.array(order), key="order")
    return root


def test_splits_follow_the_order_files(ave: Path, raw: dict):
    for split, order in ORDERS.items():
        ds = load_ave_features(ave, split)
        assert ds.name == "ave" and len(ds) == len(order) and ds.steps == T
        assert ds.row_meta["index"].tolist() == order and set(ds.row_meta["split"]) == {split}
        assert ds.modalities["audio"].dtype == np.float32
        assert np.array_equal(ds.modalities["audio"], raw["audio"][order])  # exact round trip
    every = load_ave_features(ave, "all")
    assert every.row_meta["index"].tolist() == list(range(N))
    tags = {i: s for s, order in ORDERS.items() for i in order}
    assert every.row_meta["split"].tolist() == [tags[i] for i in range(N)]
    assert every.meta["n_classes"] == 28 and every.meta["classes"] is None
    assert set(every.meta["sources"]) == {
        "audio",
        "visual",
        "labels",
        "train_order",
        "val_order",
        "test_order",
    }


def test_pooled_visual_is_the_grid_mean_and_unpooled_is_the_flat_grid(ave: Path, raw: dict):
    order = ORDERS["train"]
    pooled = load_ave_features(ave, "train").modalities["visual"]
    expected = raw["visual"][order].astype(np.float64).mean(axis=(2, 3))
    assert pooled.shape == (8, T, 512) and np.allclose(pooled, expected, rtol=1e-6, atol=0)
    assert np.array_equal(
        pooled[2, 4], raw["visual"][7, 4].astype(np.float64).mean(axis=(0, 1)).astype(np.float32)
    )
    flat = load_ave_features(ave, "train", pool_visual=False).modalities["visual"]
    assert flat.shape == (8, T, 7 * 7 * 512)
    assert np.array_equal(flat, raw["visual"][order].reshape(8, T, -1))
    assert flat[0, 1, (2 * 7 + 3) * 512 + 100] == raw["visual"][3, 1, 2, 3, 100]  # (h, w, c) order


def test_step_and_clip_labels(ave: Path):
    every = load_ave_features(ave, "all")
    assert np.array_equal(every.labels, CLASSES)
    assert np.array_equal(every.step_labels, _step_truth())
    assert every.step_labels[4].tolist() == [-1, -1, -1, -1, 3, -1, -1, -1, -1, -1]
    test = load_ave_features(ave, "test")
    assert test.labels.tolist() == [14, 22] and test.step_labels[0].tolist() == [-1] * 8 + [14, 14]


def test_the_clip_label_is_the_most_frequent_event_class(tmp_path: Path, raw: dict):
    lab = _labels()
    lab[1, 0:2] = np.eye(K)[9]  # clip 1: two seconds of class 9, four of class 5
    root = tmp_path / "mixed"
    root.mkdir()
    for name, arr in (("audio_feature", raw["audio"]), ("visual_feature", raw["visual"]), ("labels", lab)):
        _write(root / f"{name}.h5", arr)
    ds = load_ave_features(root, "all")
    assert ds.labels[1] == 5 and ds.step_labels[1].tolist() == [9, 9, 5, 5, 5, 5, -1, -1, -1, -1]


def test_prepooled_vectors_chunked_reads_and_repeated_indices(ave: Path, raw: dict):
    _write(ave / "visual_feature_vec.h5", raw["visual"].mean(axis=(2, 3)))
    vec = load_ave_features(ave, "train", files=AVEFiles(visual="visual_feature_vec.h5"))
    assert np.array_equal(vec.modalities["visual"], raw["visual"].mean(axis=(2, 3))[ORDERS["train"]])
    assert vec.meta["visual_grid"] is None
    small = load_ave_features(ave, "train", files=AVEFiles(chunk=3))  # three reads of scattered rows
    full = load_ave_features(ave, "train")
    assert all(np.array_equal(small.modalities[m], full.modalities[m]) for m in ("audio", "visual"))
    _write(ave / "train_order.h5", np.array([[4], [4], [1]]), key="order")  # (n, 1) and a repeat
    rep = load_ave_features(ave, "train")
    assert rep.row_meta["index"].tolist() == [4, 4, 1]
    assert np.array_equal(rep.modalities["audio"], raw["audio"][[4, 4, 1]])


def test_annotations_name_clips_and_classes(ave: Path):
    names = [f"class {c}" for c in range(28)]
    rows = [
        f"{names[c]}&vid{i:02d}&good&{a}&{b}"
        for i, (c, (a, b)) in enumerate(zip(CLASSES, WINDOWS, strict=True))
    ]
    (ave / "Annotations.txt").write_text(
        "Category&VideoID&Quality&StartTime&EndTime\n" + "\n".join(rows) + "\n"
    )
    ds = load_ave_features(ave, "val")
    assert ds.row_meta["clip"].tolist() == ["vid09", "vid08"]
    assert ds.row_meta["category"].tolist() == ["class 5", "class 8"]
    assert ds.meta["classes"] is None  # 12 clips do not cover the 28 classes: no names guessed
    ds = load_ave_features(ave, "val", classes=names)
    assert ds.meta["classes"][5] == "class 5"
    (ave / "Annotations.txt").write_text("\n".join(rows[:5]))
    with pytest.raises(InputError, match=r"5 rows .* 12 clips; pass files=AVEFiles\(annotations=None\)"):
        load_ave_features(ave, "val")
    assert len(load_ave_features(ave, "val", files=AVEFiles(annotations=None))) == 2


def test_class_names_from_annotations_when_every_class_is_seen(tmp_path: Path):
    root = tmp_path / "full"
    root.mkdir()
    classes = np.array([0, 1, 2, 0, 2, 1])
    _write(root / "audio_feature.h5", np.zeros((6, T, 128)))
    _write(root / "visual_feature.h5", np.zeros((6, T, 512)))
    _write(root / "labels.h5", _labels(classes, [(0, 10)] * 6)[:, :, [0, 1, 2, K - 1]])  # 3 classes + bg
    names = ["Church bell", "Bark", "Flute"]
    (root / "Annotations.txt").write_text(
        "\n".join(f"{names[c]}&v{i}&good&0&10" for i, c in enumerate(classes))
    )
    ds = load_ave_features(root, "all")
    assert (
        ds.meta["classes"] == names and ds.meta["n_classes"] == 3 and ds.labels.tolist() == classes.tolist()
    )


# ---------------------------------------------------------------- errors of the HDF5 layout


def test_missing_root_files_and_keys(ave: Path, tmp_path: Path):
    with pytest.raises(InputError, match="is not a folder"):
        load_ave_features(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"neither layout: AVE needs audio_feature.h5.*VGGSound-AVEL needs"):
        load_ave_features(tmp_path)
    (ave / "labels.h5").unlink()
    (ave / "val_order.h5").unlink()
    with pytest.raises(
        InputError, match=r"lacks labels.h5, val_order.h5; the AVE HDF5 layout needs audio_feature"
    ):
        load_ave_features(ave, "val", files=AVEFiles())
    _write(ave / "labels.h5", _labels(), key="data")
    with pytest.raises(InputError, match=r"labels.h5 has no dataset 'avadataset'; it holds \['data'\]"):
        load_ave_features(ave, "train")
    (ave / "labels.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="labels.h5 is not a readable HDF5 file"):
        load_ave_features(ave, "train")
    with pytest.raises(InputError, match="split='valid' is not known"):
        load_ave_features(ave, "valid")  # type: ignore[arg-type]


def test_mismatched_clip_counts(ave: Path, raw: dict):
    _write(ave / "visual_feature.h5", raw["visual"][:11])
    with pytest.raises(
        InputError, match=r"disagree on the clip count: audio_feature.h5 12, visual_feature.h5 11"
    ):
        load_ave_features(ave)


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        (
            "audio_feature.h5",
            (N, T, 64),
            r"audio_feature.h5 has shape \(12, 10, 64\); expected \(N, 10, 128\)",
        ),
        ("audio_feature.h5", (N, 9, 128), r"audio_feature.h5 has shape \(12, 9, 128\)"),
        (
            "visual_feature.h5",
            (N, T, 7, 7, 256),
            r"visual_feature.h5 has shape \(12, 10, 7, 7, 256\); expected",
        ),
        ("visual_feature.h5", (N, T, 512, 7, 7), r"expected \(12, 10, 7, 7, 512\) .* or \(12, 10, 512\)"),
        ("labels.h5", (N, T), r"labels.h5 has shape \(12, 10\); expected \(N, 10, n_classes \+ 1\)"),
        ("labels.h5", (N, 8, K), r"labels.h5 has shape \(12, 8, 29\)"),
    ],
)
def test_wrong_shapes_name_the_file_and_both_shapes(ave: Path, name: str, shape: tuple, message: str):
    _write(ave / name, np.ones(shape, dtype=np.float32))
    with pytest.raises(InputError, match=message):
        load_ave_features(ave)


@pytest.mark.parametrize("name", ["audio_feature.h5", "visual_feature.h5", "labels.h5"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_values_are_refused(ave: Path, raw: dict, name: str, bad: float):
    key = {"audio_feature.h5": "audio", "visual_feature.h5": "visual", "labels.h5": "labels"}[name]
    arr = raw[key].copy()
    arr[7, 3].flat[0] = bad
    _write(ave / name, arr)
    with pytest.raises(InputError, match=rf"{name} has NaN or inf values \(clip 7 first\)"):
        load_ave_features(ave, "train")


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ([3, 12], r"train_order.h5 points to clip 12, outside the 12 clips of audio_feature.h5 \(0..11\)"),
        ([-1, 2], r"points to clip -1"),
        ([0.5, 2.0], r"non-integer indices"),
        ([], r"an order file lists clip indices"),
    ],
)
def test_bad_order_files(ave: Path, order: list, message: str):
    _write(ave / "train_order.h5", np.array(order, dtype=float if order else np.int64), key="order")
    with pytest.raises(InputError, match=message):
        load_ave_features(ave, "train")
    _write(ave / "train_order.h5", np.array([0, 1]), key="idx")
    with pytest.raises(InputError, match=r"train_order.h5 has no dataset 'order'.*AVEFiles\(order_key=...\)"):
        load_ave_features(ave, "train")


def test_clips_without_an_event_raise_or_are_dropped(ave: Path):
    lab = _labels()
    lab[[1, 6], :, :] = np.eye(K)[K - 1]  # all background
    _write(ave / "labels.h5", lab)
    with pytest.raises(
        InputError, match=r"2 clips have no event second .* clip \[1, 6\].*drop_no_event=True"
    ):
        load_ave_features(ave, "all")
    ds = load_ave_features(ave, "train", drop_no_event=True)
    assert ds.row_meta["index"].tolist() == [3, 0, 7, 5, 2, 4] and ds.meta["dropped_no_event"] == 2
    assert np.array_equal(ds.labels, CLASSES[[3, 0, 7, 5, 2, 4]])
    lab[:, :, :] = np.eye(K)[K - 1]
    _write(ave / "labels.h5", lab)
    with pytest.raises(InputError, match="no clip with an event is left"):
        load_ave_features(ave, "train", drop_no_event=True)


def test_unlabelled_seconds_and_wrong_class_names(ave: Path):
    with pytest.raises(InputError, match="classes has 3 names but the labels have 28 event classes"):
        load_ave_features(ave, classes=["a", "b", "c"])
    lab = _labels()
    lab[2, 4] = 0.0
    _write(ave / "labels.h5", lab)
    with pytest.raises(InputError, match=r"labels.h5: some seconds have negative or no label \(all zeros\)"):
        load_ave_features(ave)


# ---------------------------------------------------------------- the VGGSound-AVEL zip layout

VGG_CLASSES = ["dog barking", "playing violin", "church bell ringing", "train horning"]
VGG_ROWS = [  # video_id, category, split, audio length, event seconds
    ("000001", "playing violin", "train", 10, (0, 10)),
    ("000002", "dog barking", "train", 8, (2, 5)),  # short audio: padded with its last row
    ("000003", "train horning", "val", 12, (4, 10)),  # long audio: cut to 10 rows
    ("000004", "church bell ringing", "test", 10, (0, 1)),
    ("000005", "dog barking", "train", 10, (7, 9)),
    ("000006", "playing violin", "test", 10, (3, 8)),
]


def _zip(path: Path, obj: np.ndarray, member: str = "feature.pkl") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, pickle.dumps(obj))


@pytest.fixture
def vgg(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "vggsound40k"
    rng = np.random.default_rng(1)
    feats: dict = {"audio": {}, "video": {}, "avc": {}}
    for vid, _, _, length, (a, b) in VGG_ROWS:
        feats["audio"][vid] = rng.normal(size=(length, 128))  # float64, as CMG's pickles
        feats["video"][vid] = rng.gamma(1.0, size=(T, 7, 7, 512)).astype(np.float32)
        avc = np.zeros((1, T))
        avc[0, a:b] = 1
        feats["avc"][vid] = avc
        _zip(root / "audio" / "zip" / f"{vid}.zip", feats["audio"][vid])
        _zip(root / "video" / "zip" / f"{vid}.zip", feats["video"][vid])
        _zip(root / "label" / "zip" / f"{vid}.zip", avc)
    lines = ["video_id,category,split"] + [f"{v},{c},{s}" for v, c, s, _, _ in VGG_ROWS]
    (root / "vggsound-avel40k.csv").write_text("\n".join(lines) + "\n")
    (root / "VggsoundAVEL40kCategories.txt").write_text("\n".join(VGG_CLASSES) + "\n")
    return root, feats


def test_vggsound_avel_zips_round_trip(vgg: tuple[Path, dict]):
    root, feats = vgg
    ds = load_ave_features(root, "train")  # the layout is found from the csv
    assert ds.name == "vggsound-avel" and ds.meta["layout"] == "VGGSoundAVELFiles"
    assert ds.row_meta["clip"].tolist() == ["000001", "000002", "000005"]
    assert ds.row_meta["index"].tolist() == [0, 1, 4] and ds.labels.tolist() == [1, 0, 0]
    assert ds.meta["classes"] == VGG_CLASSES and ds.meta["n_classes"] == 4
    assert ds.step_labels[1].tolist() == [-1, -1, 0, 0, 0, -1, -1, -1, -1, -1]
    short = feats["audio"]["000002"]
    assert np.array_equal(ds.modalities["audio"][1, :8], short.astype(np.float32))
    assert np.array_equal(ds.modalities["audio"][1, 8:], np.repeat(short[-1:], 2, 0).astype(np.float32))
    v = feats["video"]["000005"].astype(np.float64).mean(axis=(1, 2)).astype(np.float32)
    assert np.array_equal(ds.modalities["visual"][2], v)
    val = load_ave_features(root, "val", pool_visual=False)
    assert np.array_equal(val.modalities["audio"][0], feats["audio"]["000003"][:10].astype(np.float32))
    assert np.array_equal(val.modalities["visual"][0], feats["video"]["000003"].reshape(T, -1))
    every = load_ave_features(root, "all")
    assert every.meta["audio_padded"] == 1 and every.meta["audio_cropped"] == 1
    assert every.row_meta["split"].tolist() == [r[2] for r in VGG_ROWS]
    assert every.labels.tolist() == [VGG_CLASSES.index(r[1]) for r in VGG_ROWS]


def test_vggsound_avel_numeric_ids_written_without_zeros(vgg: tuple[Path, dict]):
    root, _ = vgg
    for folder in ("audio", "video", "label"):
        (root / folder / "zip" / "000004.zip").rename(root / folder / "zip" / "4.zip")
    assert load_ave_features(root, "test").row_meta["clip"].tolist() == ["000004", "000006"]


def test_vggsound_avel_errors(vgg: tuple[Path, dict], tmp_path: Path):
    root, feats = vgg
    files = VGGSoundAVELFiles(meta="vggsound-avel40k.csv", categories="VggsoundAVEL40kCategories.txt")
    with pytest.raises(InputError, match=r"meta='other.csv' is not a file"):
        load_ave_features(root, files=VGGSoundAVELFiles(meta="other.csv"))
    (root / "vggsound-avel100k.csv").write_text("video_id,category,split\n")
    with pytest.raises(InputError, match=r"has 2 files vggsound-avel\*.csv .*VGGSoundAVELFiles\(meta=...\)"):
        load_ave_features(root, files=VGGSoundAVELFiles())
    with pytest.raises(
        InputError, match=r"lacks feature/audio; the VGGSound-AVEL zip layout needs feature/audio"
    ):
        load_ave_features(root, files=VGGSoundAVELFiles(meta="vggsound-avel40k.csv", audio="feature/audio"))
    (root / "audio" / "zip" / "000005.zip").unlink()
    with pytest.raises(InputError, match=r"audio/zip/000005.zip is missing"):
        load_ave_features(root, "train", files=files)
    _zip(root / "audio" / "zip" / "000005.zip", feats["audio"]["000005"][:, :64])
    with pytest.raises(InputError, match=r"audio/zip/000005.zip holds shape \(10, 64\); expected \(T, 128\)"):
        load_ave_features(root, "train", files=files)
    bad = feats["audio"]["000005"].copy()
    bad[3, 3] = np.nan
    _zip(root / "audio" / "zip" / "000005.zip", bad)
    with pytest.raises(InputError, match=r"audio/zip/000005.zip has NaN or inf"):
        load_ave_features(root, "train", files=files)
    _zip(root / "audio" / "zip" / "000005.zip", feats["audio"]["000005"], member="notes.txt")
    with pytest.raises(InputError, match=r"000005.zip holds 0 .pkl files; expected one"):
        load_ave_features(root, "train", files=files)
    _zip(root / "video" / "zip" / "000001.zip", feats["video"]["000001"][:9])
    with pytest.raises(
        InputError, match=r"video/zip/000001.zip has shape \(9, 7, 7, 512\); expected \(10, 7, 7"
    ):
        load_ave_features(root, "train", files=files)
    _zip(root / "label" / "zip" / "000003.zip", np.full(T, 0.5))
    with pytest.raises(
        InputError, match=r"label/zip/000003.zip holds 10 values \[0.5\]; expected 10 event flags"
    ):
        load_ave_features(root, "val", files=files)
    _zip(root / "label" / "zip" / "000006.zip", np.zeros(T))
    with pytest.raises(InputError, match=r"1 clips have no event second .* clip \[5\]"):
        load_ave_features(root, "test", files=files)
    assert load_ave_features(root, "test", files=files, drop_no_event=True).row_meta["clip"].tolist() == [
        "000004"
    ]
    (root / "VggsoundAVEL40kCategories.txt").write_text("\n".join(VGG_CLASSES[:3]))
    with pytest.raises(
        InputError, match=r"row 4: category 'train horning' is not in VggsoundAVEL40kCategories"
    ):
        load_ave_features(root, "val", files=files)
    (root / "vggsound-avel40k.csv").write_text("video_id,category,split\n000001,playing violin,train\n")
    with pytest.raises(
        InputError, match=r"split='test': vggsound-avel40k.csv has no such rows; its splits are"
    ):
        load_ave_features(root, "test", files=files)
    (root / "vggsound-avel40k.csv").write_text("id,category\n1,dog barking\n")
    with pytest.raises(InputError, match=r"vggsound-avel40k.csv has no column \['split', 'video_id'\]"):
        load_ave_features(root, files=files)
    with pytest.raises(InputError, match=r"is not an AVEFiles or VGGSoundAVELFiles"):
        load_ave_features(root, files="ave")  # type: ignore[arg-type]
