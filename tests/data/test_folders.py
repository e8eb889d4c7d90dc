"""Clip-folder loader: tiny CREMA-D / Kinetics-Sounds style folders written here, with known content.

Each class has a tone (audio) and a bright band (frames) of its own, so the features must carry
the class: the loudest mel band sits on the tone's frequency, the brightest image rows on the
band, and a linear classifier separates the classes from either modality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from infomm.data import LogMelConfig
from infomm.data.folders import CREMAD_CLASSES, LabelFile, load_clip_folder
from infomm.data.speech import mel_filterbank
from infomm.interface import InputError

SR = 8000
TONES = {"low": 500.0, "mid": 1200.0, "high": 2500.0}  # class -> tone frequency (Hz)
BAND = {"low": 0, "mid": 1, "high": 2}  # class -> which third of the image is bright
FEATS = LogMelConfig(n_mels=24, n_frames=40)


def _tone(freq: float, seconds: float, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = rng.uniform(0.3, 0.8) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    return (x + 0.05 * rng.normal(size=t.size)).astype(np.float32)  # about 20 dB SNR


def _frame(band: int, rng: np.random.Generator, size: int = 24) -> np.ndarray:
    img = rng.uniform(0, 60, size=(size, size))
    img[band * size // 3 : (band + 1) * size // 3] += 150
    return img.clip(0, 255).astype(np.uint8)


def _write_clip(root: Path, clip: str, cls: str, rng, audio: bool = True, frames: int = 4) -> None:
    if audio:
        sf.write(root / "audio" / f"{clip}.wav", _tone(TONES[cls], rng.uniform(0.3, 0.7), rng), SR)
    if frames:
        (root / "frames" / clip).mkdir(parents=True)
        for j in range(frames):
            Image.fromarray(_frame(BAND[cls], rng)).save(root / "frames" / clip / f"frame_{j + 1:05d}.png")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """12 complete clips (4 per class), one without audio, two without frames."""
    rng = np.random.default_rng(0)
    (tmp_path / "audio").mkdir()
    (tmp_path / "frames").mkdir()
    rows = []
    for i in range(12):
        cls = list(TONES)[i % 3]
        _write_clip(tmp_path, f"clip{i:02d}", cls, rng)
        rows.append(f"clip{i:02d},{cls}")
    _write_clip(tmp_path, "mute", "low", rng, audio=False)
    _write_clip(tmp_path, "blind1", "mid", rng, frames=0)
    _write_clip(tmp_path, "blind2", "high", rng, frames=0)
    (tmp_path / "labels.csv").write_text(
        "\n".join(rows[:5] + ["mute,low", "blind1,mid"] + rows[5:]) + "\nblind2,high\n"
    )
    return tmp_path


def _cv_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(cross_val_score(clf, x, y, cv=StratifiedKFold(4, shuffle=True, random_state=0)).mean())


def test_shapes_codes_class_names_and_skipped_counts(folder: Path):
    ds = load_clip_folder(
        folder, classes=("low", "mid", "high"), n_frames=2, frame_size=(12, 12), features=FEATS
    )
    assert len(ds) == 12 and ds.name == "clip-folder"
    assert ds.modalities["audio"].shape == (12, 24, 40)
    assert ds.modalities["visual"].shape == (12, 2, 12, 12)
    assert ds.row_meta["clip"].tolist() == [f"clip{i:02d}" for i in range(12)]  # label-file order
    assert ds.labels.tolist() == [i % 3 for i in range(12)]
    assert ds.meta["classes"] == ["low", "mid", "high"] and ds.meta["class_counts"] == [4, 4, 4]
    assert ds.meta["skipped"] == {"no_audio": 1, "no_frames": 2}
    assert ds.meta["sample_rate"] == SR
    v = ds.modalities["visual"]
    assert 0.0 <= v.min() and v.max() <= 1.0
    # default class order: sorted names
    auto = load_clip_folder(folder, features=FEATS)
    assert auto.meta["classes"] == ["high", "low", "mid"]
    assert [auto.meta["classes"][c] for c in auto.labels] == [list(TONES)[i % 3] for i in range(12)]


def test_each_modality_carries_the_class(folder: Path):
    ds = load_clip_folder(folder, classes=list(TONES), frame_size=(12, 12), features=FEATS)
    fb = mel_filterbank(SR, 256, FEATS.n_mels, FEATS.fmin)  # 25 ms at 8 kHz: 200 samples, FFT 256
    for code, (cls, freq) in enumerate(TONES.items()):
        rows = ds.labels == code
        expected_band = int(np.argmax(fb[:, int(round(freq * 256 / SR))]))
        assert int(np.argmax(ds.modalities["audio"][rows].mean(axis=(0, 2)))) == expected_band, cls
        brightest = int(np.argmax(ds.modalities["visual"][rows].mean(axis=(0, 1, 3))))
        assert brightest // 4 == BAND[cls], cls  # 12 rows: each band is 4 rows
    assert _cv_accuracy(ds.flat("audio"), ds.labels) == 1.0
    assert _cv_accuracy(ds.flat("visual"), ds.labels) == 1.0
    # control: the same classifier on labels unrelated to the files is far from perfect
    shuffled = np.random.default_rng(1).permutation(ds.labels)
    assert _cv_accuracy(ds.flat("audio"), shuffled) < 0.75


def test_ogm_ge_cremad_layout_with_jpeg_rgb_and_bom(tmp_path: Path):
    """AudioWAV/<clip>.wav, Image-01-FPS/<clip>/frame_00001.jpg, a headerless csv with a BOM."""
    rng = np.random.default_rng(2)
    (tmp_path / "AudioWAV").mkdir()
    colours = {"NEU": (200, 30, 30), "HAP": (30, 200, 30), "SAD": (30, 30, 200)}
    rows = []
    for i, cls in enumerate(["SAD", "NEU", "HAP"] * 2):
        clip = f"10{i:02d}_DFA_{cls}_XX"
        stereo = np.stack([_tone(440.0, 0.5, rng, 16000)] * 2, axis=1)
        sf.write(tmp_path / "AudioWAV" / f"{clip}.wav", stereo, 16000, subtype="PCM_16")
        (tmp_path / "Image-01-FPS" / clip).mkdir(parents=True)
        Image.new("RGB", (40, 30), colours[cls]).save(tmp_path / "Image-01-FPS" / clip / "frame_00001.jpg")
        rows.append(f"{clip},{cls}")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    ds = load_clip_folder(
        tmp_path,
        audio_dir="AudioWAV",
        frames_dir="Image-01-FPS",
        labels="train.csv",
        classes=CREMAD_CLASSES,
        frame_size=(8, 10),
        rgb=True,
        features=FEATS,
    )
    assert ds.labels.tolist() == [2, 0, 1, 2, 0, 1]  # OGM-GE codes: NEU 0, HAP 1, SAD 2
    assert ds.modalities["visual"].shape == (6, 1, 8, 10, 3)
    dominant = ds.modalities["visual"].mean(axis=(1, 2, 3)).argmax(axis=1)
    assert dominant.tolist() == [2, 0, 1, 2, 0, 1]  # SAD blue, NEU red, HAP green
    assert ds.meta["sample_rate"] == 16000 and ds.meta["class_counts"] == [2, 2, 2, 0, 0, 0]


def test_kinetics_sounds_list_with_integer_classes(tmp_path: Path):
    """OGM-GE's my_train.txt rows are clip,n_frames,class_id; ids sort numerically."""
    rng = np.random.default_rng(3)
    (tmp_path / "audio").mkdir()
    rows = []
    for i, (cls, name) in enumerate([("low", "10"), ("mid", "2"), ("high", "0"), ("low", "10")]):
        _write_clip(tmp_path, f"-yt{i}_7", cls, rng, frames=3)
        rows.append(f"-yt{i}_7,3,{name}")
    (tmp_path / "my_train.txt").write_text("\n".join(rows) + "\n")
    ds = load_clip_folder(tmp_path, labels=LabelFile("my_train.txt", label_column=2), features=FEATS)
    assert ds.meta["classes"] == ["0", "2", "10"]
    assert ds.labels.tolist() == [2, 1, 0, 2]


def test_frames_are_evenly_spaced_in_natural_order(tmp_path: Path):
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "c.wav", _tone(700.0, 0.2, np.random.default_rng(4)), SR)
    (tmp_path / "frames" / "c").mkdir(parents=True)
    for j in range(10):  # frame_1 ... frame_10: lexical order would put frame_10 second
        Image.new("L", (6, 6), 20 * j).save(tmp_path / "frames" / "c" / f"frame_{j + 1}.png")
    (tmp_path / "labels.csv").write_text("c,x\n")
    ds = load_clip_folder(tmp_path, n_frames=3, frame_size=(6, 6), features=FEATS)
    got = ds.modalities["visual"][0].mean(axis=(1, 2)) * 255
    assert np.allclose(got, [20, 100, 160], atol=1e-3)  # frames 1, 5, 8 of 0..9 (segment centres)


def test_sample_rates_must_agree_unless_resampled(folder: Path):
    sf.write(folder / "audio" / "clip03.wav", _tone(500.0, 0.4, np.random.default_rng(5), 16000), 16000)
    with pytest.raises(InputError, match=r"clip03\.wav.*16000 Hz.*pass sr=8000"):
        load_clip_folder(folder, features=FEATS)
    ds = load_clip_folder(folder, features=FEATS, sr=16000, classes=list(TONES))
    assert ds.meta["sample_rate"] == 16000
    # every clip, resampled from 8 kHz or not, peaks in the mel band of its tone at 16 kHz
    fb = mel_filterbank(16000, 512, FEATS.n_mels, FEATS.fmin)  # 25 ms at 16 kHz: 400 samples, FFT 512
    band = {code: int(np.argmax(fb[:, int(round(f * 512 / 16000))])) for code, f in enumerate(TONES.values())}
    peaks = ds.modalities["audio"].mean(axis=2).argmax(axis=1)
    assert peaks.tolist() == [band[int(c)] for c in ds.labels]
    assert len(set(band.values())) == 3


def test_missing_folders_and_files_name_the_path_and_fix(folder: Path, tmp_path: Path):
    with pytest.raises(InputError, match="root=.*not a folder"):
        load_clip_folder(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"audio_dir='AudioWAV'.*AudioWAV.*not a folder; pass the folder of"):
        load_clip_folder(folder, audio_dir="AudioWAV")
    with pytest.raises(InputError, match=r"frames_dir='Image-01-FPS'"):
        load_clip_folder(folder, frames_dir="Image-01-FPS")
    with pytest.raises(InputError, match=r"labels='test.csv'.*not a file"):
        load_clip_folder(folder, labels="test.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("clip,label\nclip00,low\n", r"clip 'clip'.*row 1.*header=True"),
        ("clip00,low\nghost,mid\n", r"clip 'ghost' \(row 2 of labels.csv\) has no audio file"),
        ("clip00,low\nclip01,mid\nclip00,low\n", r"'clip00' is listed twice.*rows 1 and 3"),
        ("clip00,low\nclip01\n", r"row 2 of labels.csv has 1 field"),
        ("\n\n", r"no \(clip, class\) rows"),
        ("clip00,low\nclip01,loud\n", r"lacks \['loud'\]"),
        ("mute,low\nblind1,mid\n", r"none of the 2 listed clips.*'no_audio': 1, 'no_frames': 1"),
    ],
)
def test_bad_label_files(folder: Path, text: str, match: str):
    (folder / "labels.csv").write_text(text)
    with pytest.raises(InputError, match=match):
        load_clip_folder(folder, classes=list(TONES), features=FEATS)


def test_unreadable_files_are_named(folder: Path):
    (folder / "audio" / "clip04.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(InputError, match=r"cannot read WAV file .*clip04\.wav"):
        load_clip_folder(folder, features=FEATS)
    sf.write(folder / "audio" / "clip04.wav", _tone(500.0, 0.3, np.random.default_rng(6)), SR)
    (folder / "frames" / "clip07" / "frame_00002.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(InputError, match=r"cannot read image .*clip07/frame_00002\.png"):
        load_clip_folder(folder, n_frames=4, features=FEATS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_frames": 0}, "n_frames=0"),
        ({"frame_size": (32,)}, "frame_size"),
        ({"audio_fit": "stretch"}, "audio_fit='stretch'"),
        ({"sr": -1}, "sr=-1"),
        ({"classes": ["low", "low", "mid", "high"]}, "duplicates"),
    ],
)
def test_bad_settings(folder: Path, kwargs: dict, match: str):
    with pytest.raises(InputError, match=match):
        load_clip_folder(folder, **kwargs)
